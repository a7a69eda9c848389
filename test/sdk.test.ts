import { execFile, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type * as Sdk from '../sdk/src/index';
import { OWNER, useTestApp, type TestApp } from './support/app';
import { REQUEST_ID } from './support/expectations';
import { consent, pkce, registerClient, tokenRequest } from './support/oauth';

const SDK_DIR = path.resolve(__dirname, '../sdk');
const ALL_SCOPES = ['findings', 'resources', 'audits', 'policies', 'reports', 'alerts'].flatMap((s) => [`${s}:read`, `${s}:write`]);
const UNKNOWN_ACCOUNT = 'acc_01JD8X3N5W6Q2R4T7Y9ZABCDEF';

/** The SDK as its users get it: built by its own `npm run build` (CommonJS here; the tutorial runs the ESM build). */
let sdk: typeof Sdk;
beforeAll(() => {
  // Built afresh unless a build newer than every source is there already (.ci/run builds it just before).
  if (!builtAfterSources()) execFileSync('npm', ['run', '--silent', 'build'], { cwd: SDK_DIR, stdio: 'pipe' });
  // The built file, which exists only from here on: a static import could not name it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  sdk = require(path.join(SDK_DIR, 'dist/cjs/index.js')) as typeof Sdk;
}, 180_000);

function builtAfterSources(): boolean {
  const builds = ['dist/cjs/index.js', 'dist/cjs/package.json', 'dist/esm/index.js'].map((file) => path.join(SDK_DIR, file));
  if (!builds.every((file) => existsSync(file))) return false;
  const sources = [
    ...readdirSync(path.join(SDK_DIR, 'src'), { recursive: true, encoding: 'utf8' }).map((file) => path.join('src', file)),
    ...readdirSync(SDK_DIR).filter((file) => file.endsWith('.json')),
  ].map((file) => path.join(SDK_DIR, file));
  const newestSource = Math.max(...sources.map((file) => statSync(file).mtimeMs));
  return Math.min(...builds.map((file) => statSync(file).mtimeMs)) > newestSource;
}

/** The app listening on a port of its own, as a deployed server. */
function listen(t: TestApp) {
  let server: Server | undefined;
  const where = { url: '' };
  beforeAll(async () => {
    server = t.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    where.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });
  return where;
}

/** A fetch that records what it sent and what came back. */
function recordingFetch() {
  const sent: { method: string; path: string; idempotencyKey: string | null; status: number }[] = [];
  const fetchImpl = async (req: Request) => {
    const response = await fetch(req);
    const url = new URL(req.url);
    sent.push({ method: req.method, path: url.pathname + url.search, idempotencyKey: req.headers.get('Idempotency-Key'), status: response.status });
    return response;
  };
  return { sent, fetch: fetchImpl };
}

async function caught(promise: Promise<unknown>): Promise<Sdk.FourfoldError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof sdk.FourfoldError) return error;
    throw error;
  }
  throw new Error('expected a FourfoldError');
}

describe('the SDK against a running server', () => {
  const t = useTestApp({}, { workers: true });
  const server = listen(t);
  let pat: string;
  beforeAll(async () => {
    pat = (await t.createPat(await t.ownerToken(), ALL_SCOPES)).secret;
  });

  it('iterates a list over all its pages, passing each next_cursor', async () => {
    const { sent, fetch } = recordingFetch();
    const client = sdk.createClient({ baseUrl: server.url, auth: { token: pat }, fetch });
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      const account = await client.accounts.create({ provider: 'gcp', external_id: `sdk-pages-${i}`, name: `pages ${i}` });
      created.push(account.id);
    }
    const listed: string[] = [];
    for await (const account of client.list('/v1/accounts', { query: { provider: 'gcp', limit: 2 } })) listed.push(account.id);

    expect(listed.sort()).toEqual(created.sort());
    const pages = sent.filter((s) => s.method === 'GET' && s.path.startsWith('/v1/accounts?'));
    expect(pages).toHaveLength(3);
    expect(pages[0]!.path).not.toContain('cursor=');
    expect(pages[1]!.path).toContain('cursor=');
    expect(pages[2]!.path).toContain('cursor=');
  });

  it('throws one error class carrying the status, the code of the spec and the request id', async () => {
    const client = sdk.createClient({ baseUrl: server.url, auth: { token: pat } });

    const missing = await caught(client.accounts.get(UNKNOWN_ACCOUNT));
    expect(missing).toBeInstanceOf(Error);
    expect(missing).toMatchObject({ name: 'FourfoldError', status: 404, code: 'not_found' });
    expect(missing.request_id).toMatch(REQUEST_ID);

    const filter = await caught(client.findings.list({ severity: ['urgent'] }).next());
    expect(filter).toMatchObject({ status: 422, code: 'invalid_severity_filter' });

    const anonymous = await caught(sdk.createClient({ baseUrl: server.url }).audits.get('aud_01JD8X3N5W6Q2R4T7Y9ZABCDEF'));
    expect(anonymous).toMatchObject({ status: 401, code: 'unauthenticated' });
  });

  it('sets an Idempotency-Key on creates, a new one per create, and keeps the caller’s own', async () => {
    const { sent, fetch } = recordingFetch();
    const client = sdk.createClient({ baseUrl: server.url, auth: { token: pat }, fetch });
    const first = await client.accounts.create({ provider: 'aws', external_id: '210987654321', name: 'keyed one' });
    await client.accounts.create({ provider: 'aws', external_id: '210987654322', name: 'keyed two' });
    await client.raw.PATCH('/v1/accounts/{id}', { params: { path: { id: first.id } }, body: { name: 'renamed' } });
    const own = await client.raw.POST('/v1/accounts', {
      params: { header: { 'Idempotency-Key': 'my-own-key-0001' } },
      body: { provider: 'aws', external_id: '210987654323', name: 'keyed three' },
    });
    expect(own.response.status).toBe(201);

    const creates = sent.filter((s) => s.method === 'POST');
    expect(creates.map((s) => s.idempotencyKey)).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/), expect.stringMatching(/^[0-9a-f-]{36}$/), 'my-own-key-0001']);
    expect(creates[0]!.idempotencyKey).not.toBe(creates[1]!.idempotencyKey);
    expect(sent.find((s) => s.method === 'PATCH')!.idempotencyKey).toBeNull();
  });

  it('logs in with a username and password, and again when the token is refused', async () => {
    const { sent, fetch } = recordingFetch();
    const client = sdk.createClient({ baseUrl: server.url, auth: OWNER, fetch });
    const me = await client.raw.GET('/v1/me');
    expect(me.data?.user.username).toBe(OWNER.username);

    // Signing out everywhere ends the session the client holds: its next request is refused once, then it logs in again.
    expect((await client.raw.POST('/auth/logout-all', { body: {} })).response.status).toBe(200);
    const again = await client.raw.GET('/v1/me');
    expect(again.response.status).toBe(200);
    expect(sent.map((s) => `${s.method} ${s.path} ${s.status}`)).toEqual([
      'POST /auth/login 200',
      'GET /v1/me 200',
      'POST /auth/logout-all 200',
      'GET /v1/me 401',
      'POST /auth/login 200',
      'GET /v1/me 200',
    ]);

    const wrong = await caught(sdk.createClient({ baseUrl: server.url, auth: { username: OWNER.username, password: 'not-the-password' } }).audits.get('aud_01JD8X3N5W6Q2R4T7Y9ZABCDEF'));
    expect(wrong).toMatchObject({ status: 401, code: 'invalid_credentials' });
  });

  it('as an OAuth client, refreshes the access token with the refresh token, keeping each rotated one', async () => {
    const owner = await t.ownerToken();
    const app = await registerClient(t.app, owner);
    const { verifier, challenge } = pkce();
    const redirect = await consent(t.app, owner, {
      response_type: 'code',
      client_id: app.id,
      redirect_uri: app.redirect_uris[0],
      scope: 'findings:read audits:read',
      state: 'sdk',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const granted = await tokenRequest(t.app, {
      grant_type: 'authorization_code',
      code: redirect.searchParams.get('code') ?? undefined,
      redirect_uri: app.redirect_uris[0],
      client_id: app.id,
      client_secret: app.client_secret ?? undefined,
      code_verifier: verifier,
    }).expect(200);

    const kept: Sdk.OAuthTokens[] = [];
    const client = sdk.createClient({
      baseUrl: server.url,
      // An access token that has expired: the client refreshes before its first request.
      auth: { oauth: { clientId: app.id, clientSecret: app.client_secret ?? undefined, refreshToken: granted.body.refresh_token, accessToken: granted.body.access_token, expiresAt: Date.now() - 1000, onTokens: (tokens) => void kept.push(tokens) } },
    });
    expect((await client.raw.GET('/v1/audits')).response.status).toBe(200);
    expect(kept).toHaveLength(1);
    expect(kept[0]!.refreshToken).toMatch(/^ffr_/);
    expect(kept[0]!.refreshToken).not.toBe(granted.body.refresh_token);

    // An access token the server refuses (401) is refreshed too, once, and the request sent again.
    const { sent, fetch } = recordingFetch();
    const later = sdk.createClient({
      baseUrl: server.url,
      fetch,
      auth: { oauth: { clientId: app.id, clientSecret: app.client_secret ?? undefined, refreshToken: kept[0]!.refreshToken, accessToken: `ffo_${'x'.repeat(49)}`, onTokens: (tokens) => void kept.push(tokens) } },
    });
    expect((await later.raw.GET('/v1/audits')).response.status).toBe(200);
    expect(sent.map((s) => `${s.method} ${s.path} ${s.status}`)).toEqual(['GET /v1/audits 401', 'POST /oauth/token 200', 'GET /v1/audits 200']);
    expect(kept).toHaveLength(2);
    expect(kept[1]!.refreshToken).not.toBe(kept[0]!.refreshToken);

    // Each refresh token was spent by its refresh: the first one is refused now.
    await tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: granted.body.refresh_token, client_id: app.id, client_secret: app.client_secret ?? undefined }).expect(400);
  });

  it('runs the tutorial of its README as written: import, audit, wait, critical findings, a PDF', async () => {
    const readme = readFileSync(path.join(SDK_DIR, 'README.md'), 'utf8');
    expect(readme.trimEnd().split('\n').length).toBeLessThan(30);
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toContain("from '@fourfold/client'");

    const dir = mkdtempSync(path.join(os.tmpdir(), 'fourfold-sdk-tutorial-'));
    try {
      mkdirSync(path.join(dir, 'node_modules/@fourfold'), { recursive: true });
      symlinkSync(SDK_DIR, path.join(dir, 'node_modules/@fourfold/client'));
      writeFileSync(path.join(dir, 'tutorial.mjs'), code!);
      copyFileSync(path.join(__dirname, 'fixtures/inventory/native.json'), path.join(dir, 'inventory.json'));
      // Run asynchronously: the server answering the tutorial lives in this process.
      const { stdout } = await promisify(execFile)(process.execPath, ['tutorial.mjs'], {
        cwd: dir,
        env: { ...process.env, FOURFOLD_URL: server.url, FOURFOLD_TOKEN: pat },
      });
      const lines = stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^audit aud_[0-9A-Z]{26} succeeded$/);
      const findings = lines.slice(1);
      expect(findings.length).toBeGreaterThan(0);
      for (const line of findings) expect(line).toMatch(/^critical \S+ \S+$/);

      const pdf = readFileSync(path.join(dir, 'summary.pdf'));
      expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');

      // The same report as a stream: the same bytes.
      const client = sdk.createClient({ baseUrl: server.url, auth: { token: pat } });
      const [report] = await arrayOf(client.reports.list({ status: 'ready' }));
      const chunks: Uint8Array[] = [];
      for await (const chunk of (await client.reports.downloadStream(report!.id)) as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
      expect(Buffer.concat(chunks).equals(pdf)).toBe(true);
      expect(Buffer.from(await client.reports.download(report!.id)).equals(pdf)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('waits until a timeout or an abort, with their reasons', async () => {
    const client = sdk.createClient({ baseUrl: server.url, auth: { token: pat } });
    const account = await client.accounts.create({ provider: 'azure', external_id: '00000000-0000-4000-8000-00000000abcd', name: 'waiting' });
    const audit = await client.audits.create({ account_ids: [account.id] });
    const finished = await client.waitFor('audit', audit, { intervalMs: 100 });
    expect(['succeeded', 'failed', 'canceled']).toContain(finished.status);

    const report = await client.reports.create({ type: 'executive_summary', format: 'json', audit_id: finished.id });
    const aborted = new AbortController();
    aborted.abort(new Error('stopped by the caller'));
    await expect(client.waitFor('report', report, { signal: aborted.signal })).rejects.toThrow('stopped by the caller');
  });
});

describe('the SDK when the server limits its rate', () => {
  // A 10-second window: the retry below waits out its rest rather than a real minute's.
  const t = useTestApp({ RATE_LIMIT_PER_MINUTE: '3', RATE_LIMIT_WINDOW_SECONDS: '10' });
  const server = listen(t);

  it('retries a 429 after its Retry-After', async () => {
    const pat = (await t.createPat(await t.ownerToken(), ['audits:read'])).secret;
    const { sent, fetch } = recordingFetch();
    const client = sdk.createClient({ baseUrl: server.url, auth: { token: pat }, fetch, retry: { maxDelayMs: 15_000 } });
    for (let i = 0; i < 4; i++) {
      const { response } = await client.raw.GET('/v1/audits');
      expect(response.status).toBe(200);
    }
    expect(sent.map((s) => s.status)).toEqual([200, 200, 200, 429, 200]);
  }, 120_000);

  it('throws at once a 429 it may not retry: a POST without an Idempotency-Key, or a wait above maxDelayMs', async () => {
    const pat = (await t.createPat(await t.ownerToken(), ['findings:read', 'findings:write'])).secret;
    const { sent, fetch } = recordingFetch();
    const client = sdk.createClient({ baseUrl: server.url, auth: { token: pat }, fetch, retry: { maxDelayMs: 1000 } });
    for (let i = 0; i < 3; i++) await client.raw.GET('/v1/findings');

    const post = await client.raw.POST('/v1/findings/batch-update', { body: { ids: ['fnd_01JD8X3N5W6Q2R4T7Y9ZABCDEF'], status: 'suppressed', status_reason: 'sdk' } as never });
    expect(post.response.status).toBe(429);
    const get = await caught(client.findings.get('fnd_01JD8X3N5W6Q2R4T7Y9ZABCDEF'));
    expect(get).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(sent.map((s) => s.status)).toEqual([200, 200, 200, 429, 429]);
  });

  it('gives up waiting after its timeout, even while waiting out a 429', async () => {
    // This app works no queue: the audit stays queued.
    const pat = (await t.createPat(await t.ownerToken(), ['resources:write', 'audits:read', 'audits:write'])).secret;
    const client = sdk.createClient({ baseUrl: server.url, auth: { token: pat }, retry: { maxDelayMs: 65_000 } });
    const account = await client.accounts.create({ provider: 'aws', external_id: '123123123123', name: 'never audited' });
    const audit = await client.audits.create({ account_ids: [account.id] });
    expect(audit.status).toBe('queued');
    await expect(client.waitFor('audit', audit, { timeoutMs: 1500, intervalMs: 100 })).rejects.toMatchObject({ name: 'TimeoutError' });
  });
});

async function arrayOf<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}
