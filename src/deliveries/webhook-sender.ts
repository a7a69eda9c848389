import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { WebhookTarget } from '../webhooks/url-guard';
import type { AttemptOutcome } from './attempt-outcome';

const TIMEOUT_MS = 10_000;
/** The most of a receiver's answer that is read. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * POSTs `body` to the checked target, connecting to the address it was checked at (so DNS cannot
 * change it in between), following no redirect, within 10 s, reading at most 64 KiB of the answer.
 */
export function postWebhook(target: WebhookTarget, headers: Record<string, string>, body: string): Promise<AttemptOutcome> {
  const pinned = target.address;
  const lookup: LookupFunction | undefined = pinned
    ? (_hostname, options, callback) =>
        (options as { all?: boolean }).all
          ? (callback as (error: null, addresses: { address: string; family: number }[]) => void)(null, [pinned])
          : callback(null, pinned.address, pinned.family)
    : undefined;
  const client = target.url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: AttemptOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const request = client.request(
      target.url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'fourfold-webhooks/1', ...headers }, lookup, agent: false },
      (response) => {
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_BODY_BYTES) response.destroy();
        });
        const done = () => finish(outcomeOf(response.statusCode ?? 0, response.headers['retry-after']));
        response.on('end', done);
        response.on('close', done);
        response.on('error', done);
      },
    );
    const timer = setTimeout(() => {
      request.destroy();
      finish({ ok: false, statusCode: null, error: `No answer within ${TIMEOUT_MS / 1000} s.`, retryable: true });
    }, TIMEOUT_MS);
    request.on('error', (error) => finish({ ok: false, statusCode: null, error: `Network error: ${error.message}`.slice(0, 500), retryable: true }));
    request.end(body);
  });
}

function outcomeOf(status: number, retryAfter: string | undefined): AttemptOutcome {
  if (status >= 200 && status < 300) return { ok: true, statusCode: status };
  if (status >= 300 && status < 400) return { ok: false, statusCode: status, error: `HTTP ${status}: redirects are not followed.`, retryable: false };
  const retryable = status === 408 || status === 429 || status >= 500;
  return { ok: false, statusCode: status, error: `HTTP ${status}`, retryable, retryAfterSeconds: retryable ? retryAfterSeconds(retryAfter) : undefined };
}

function retryAfterSeconds(header: string | undefined): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - Date.now()) / 1000);
}
