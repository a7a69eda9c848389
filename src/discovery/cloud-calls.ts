/** Call helpers the Azure and GCP collectors share: the clouds' throttling guidance and bounded concurrency. */

export interface RetryableError {
  status: number | null;
  /** Seconds from the Retry-After header, when the cloud sent one. */
  retryAfterSeconds: number | null;
}

const MAX_ATTEMPTS = 5;
/** A Retry-After longer than this is not waited for: the unit fails as throttled instead of stalling the scan. */
const MAX_WAIT_SECONDS = 60;

/**
 * Runs `call` and retries it on 429 and 503 as the cloud asks: after Retry-After when present,
 * else with exponential backoff. `onAttempt` counts every request made, retries included.
 */
export async function withCloudRetry<T>(
  call: () => Promise<T>,
  classify: (error: unknown) => RetryableError,
  signal: AbortSignal,
  onAttempt: () => void,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    signal.throwIfAborted();
    onAttempt();
    try {
      return await call();
    } catch (error) {
      const { status, retryAfterSeconds } = classify(error);
      if ((status !== 429 && status !== 503) || attempt >= MAX_ATTEMPTS) throw error;
      const waitSeconds = retryAfterSeconds ?? Math.min(2 ** (attempt - 1), 16);
      if (waitSeconds > MAX_WAIT_SECONDS) throw error;
      await sleep(waitSeconds * 1000, signal);
    }
  }
}

/** Retry-After is seconds or an HTTP date. */
export function parseRetryAfter(value: string | null | undefined): number | null {
  if (value === null || value === undefined || value.trim() === '') return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, (at - Date.now()) / 1000);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Maps `items` through `work` with at most `limit` in flight, keeping the order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index] as T);
    }
  });
  await Promise.all(runners);
  return results;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
