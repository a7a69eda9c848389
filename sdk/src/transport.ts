import type { TokenSource } from './auth.js';

export interface RetryOptions {
  /** Retries of one request after a 429 or 503 (default 3; 0 never retries). */
  maxRetries?: number;
  /**
   * The longest the client waits before one retry (default 60,000 ms). A `Retry-After` asking
   * for more is not waited for: the 429 or 503 is thrown at once.
   */
  maxDelayMs?: number;
  /** Without `Retry-After`: the first wait, doubled each retry, with jitter (default 500 ms). */
  baseDelayMs?: number;
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/**
 * The fetch every request goes through: sets the bearer token, replaces it once after a 401
 * when it can be renewed, and retries 429 and 503 as `Retry-After` says, only requests that may
 * be repeated: idempotent methods, and others carrying an `Idempotency-Key`.
 */
export function transport(tokens: TokenSource, retry: RetryOptions, fetchImpl: (request: Request) => Promise<Response>) {
  const maxRetries = retry.maxRetries ?? 3;
  const maxDelayMs = retry.maxDelayMs ?? 60_000;
  const baseDelayMs = retry.baseDelayMs ?? 500;

  return async (original: Request): Promise<Response> => {
    const repeatable = IDEMPOTENT_METHODS.has(original.method) || original.headers.has('Idempotency-Key');
    let renewed = false;
    for (let retries = 0; ; ) {
      const token = await tokens.token();
      const headers = new Headers(original.headers);
      if (token !== undefined && !headers.has('Authorization')) headers.set('Authorization', `Bearer ${token}`);
      const response = await fetchImpl(new Request(original.clone(), { headers }));

      if (response.status === 401 && !renewed && tokens.renewable && token !== undefined) {
        renewed = true;
        await response.body?.cancel();
        await tokens.renew(token);
        continue;
      }
      if ((response.status === 429 || response.status === 503) && repeatable && retries < maxRetries) {
        const delay = retryAfterMs(response.headers.get('Retry-After')) ?? baseDelayMs * 2 ** retries * (0.5 + Math.random() / 2);
        if (delay <= maxDelayMs) {
          retries += 1;
          await response.body?.cancel();
          await sleep(delay, original.signal);
          continue;
        }
      }
      return response;
    }
  };
}

/** `Retry-After` in milliseconds: delta-seconds or an HTTP-date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Waits `ms`, or rejects with the signal's reason once any of `signals` aborts. */
export function sleep(ms: number, ...signals: (AbortSignal | undefined)[]): Promise<void> {
  const live = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  const aborted = live.find((signal) => signal.aborted);
  if (aborted) return Promise.reject(aborted.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (event: Event) => {
      clearTimeout(timer);
      for (const signal of live) signal.removeEventListener('abort', onAbort);
      reject((event.target as AbortSignal).reason);
    };
    const timer = setTimeout(() => {
      for (const signal of live) signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    for (const signal of live) signal.addEventListener('abort', onAbort, { once: true });
  });
}
