import type { Express } from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { as } from './app';

/** Polls `probe` until it answers something other than undefined; answers that. */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the organization of `token` has no pending delivery. */
export async function deliveriesSettled(app: Express, token: string): Promise<void> {
  await until('deliveries to end', async () => ((await request(app).get('/v1/deliveries?status=pending').set(as(token)).expect(200)).body.data.length === 0 ? true : undefined));
}

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** A local HTTP receiver of webhooks: records each request and answers the queued status codes in turn (`fallback` once they run out). */
export async function startReceiver(fallback = 200) {
  const received: Received[] = [];
  const answers: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(answers.shift() ?? fallback).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    received,
    answers,
    /** `127.0.0.1:<port>`, for `WEBHOOK_ALLOWED_HOSTS`. */
    host: `127.0.0.1:${port}`,
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
