// Scale-out, proven (issue 20): two API processes (RUN_WORKERS=false) and a separate worker
// process on one PostgreSQL database and one Redis. A client's rate limit is shared by both API
// processes, an Idempotency-Key replayed on the other process returns the first answer, and every
// queued audit and report runs exactly once. It runs on the PostgreSQL server of DATABASE_URL, or
// the local one (127.0.0.1:5432) in the PGlite run, in a database of its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import readline from 'node:readline';
import { sql } from 'kysely';
import pg from 'pg';
import { migrateToLatest, openDatabase, type Db } from '../src/db/database';
import { newId } from '../src/ids';
import { seedResources } from './support/inventory';
import { requireRedis, TEST_REDIS_URL } from './support/system-tools';

const ROOT = path.join(__dirname, '..');
const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const OWNER = { username: 'scale', password: 'scale-password-0123' };
const HEAVY_PER_MINUTE = 6;

interface Proc {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
}

const name = `fourfold_scale_${randomBytes(6).toString('hex')}`;
const databaseUrl = (() => {
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
})();
let db: Db;
const processes: Proc[] = [];

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Starts `script` (src/main.ts or src/worker.ts) and waits for its log line `ready`. */
async function startProcess(script: string, env: Record<string, string>, ready: RegExp): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: databaseUrl,
      JWT_SECRET: 'scale-out-signing-secret-0123456789-abcdef',
      ADMIN_USERNAME: OWNER.username,
      ADMIN_PASSWORD: OWNER.password,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `${name}:`,
      RATE_LIMIT_HEAVY_PER_MINUTE: String(HEAVY_PER_MINUTE),
      JOB_POLLING_SECONDS: '1',
      LOG_LEVEL: 'info',
      PORT: '0',
      HOST: '127.0.0.1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      if (typeof entry.msg === 'string' && ready.test(entry.msg)) resolve(entry.port ?? 0);
    });
    void exited.then((code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
  const started = { child, port, exited };
  processes.push(started);
  return started;
}

async function call(api: Proc, method: string, url: string, init: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const response = await fetch(`http://127.0.0.1:${api.port}${url}`, {
    method,
    headers: {
      ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
      ...(init.body ? { 'Content-Type': 'application/json' } : {}),
      ...init.headers,
    },
    body: init.body ? JSON.stringify(init.body) : undefined,
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

async function waitUntil(api: Proc, token: string, url: string, done: (body: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 150_000;
  for (;;) {
    const { body } = await call(api, 'GET', url, { token });
    if (done(body) || Date.now() > deadline) return body;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

// Three processes start (tsx compiles each) and two audits and two reports run: slow on a shared CI machine.
const TEST_TIMEOUT_MS = 300_000;

beforeAll(async () => {
  await requireRedis(TEST_REDIS_URL);
  await admin((client) => client.query(`create database ${name}`));
  db = openDatabase({ databaseUrl, dataDir: null });
  // Migrated once, before the processes start, so that none of them waits on another's migration.
  await migrateToLatest(db);
}, TEST_TIMEOUT_MS);

afterAll(async () => {
  for (const { child, exited } of processes) {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
  await db?.destroy();
  await admin((client) => client.query(`drop database if exists ${name} with (force)`));
}, TEST_TIMEOUT_MS);

it('shares rate limits and idempotent replays between two API processes, and runs every queued audit and report once in a separate worker', async () => {
  const first = await startProcess('src/main.ts', { RUN_WORKERS: 'false' }, /^fourfold listening/);
  const second = await startProcess('src/main.ts', { RUN_WORKERS: 'false' }, /^fourfold listening/);
  await startProcess('src/worker.ts', {}, /^fourfold worker started/);

  const login = await call(first, 'POST', '/auth/login', { body: OWNER });
  expect(login.status).toBe(200);
  const token = login.body.access_token as string;
  const organizationId = (await db.selectFrom('organizations').select('id').executeTakeFirstOrThrow()).id;
  const accountId = newId('acc');
  await db.insertInto('accounts').values({ id: accountId, organization_id: organizationId, provider: 'aws', external_id: '123456789012', name: 'scale' }).execute();
  await seedResources(db, organizationId, accountId, [{ type: 'aws_s3_bucket' }, { type: 'aws_instance' }, { type: 'aws_security_group' }]);

  const audit = await call(first, 'POST', '/v1/audits', { token, body: {}, headers: { 'Idempotency-Key': 'scale-audit-1' } });
  expect(audit.status).toBe(202);
  const replay = await call(second, 'POST', '/v1/audits', { token, body: {}, headers: { 'Idempotency-Key': 'scale-audit-1' } });
  expect(replay.status).toBe(202);
  expect(replay.body).toEqual(audit.body);
  const other = await call(second, 'POST', '/v1/audits', { token, body: {} });
  expect(other.status).toBe(202);
  expect(other.body.id).not.toBe(audit.body.id);

  const auditIds = [audit.body.id as string, other.body.id as string];
  for (const [index, id] of auditIds.entries()) {
    const done = await waitUntil(index === 0 ? second : first, token, `/v1/audits/${id}`, (body) => body.status !== 'queued' && body.status !== 'running');
    expect(done.status).toBe('succeeded');
  }

  const reports = [
    await call(first, 'POST', '/v1/reports', { token, body: { type: 'executive_summary', format: 'json', audit_id: auditIds[1] } }),
    await call(second, 'POST', '/v1/reports', { token, body: { type: 'remediation_plan', format: 'json', audit_id: auditIds[1] } }),
  ];
  for (const report of reports) expect(report.status).toBe(202);

  // One shared heavy budget, with a credential of its own so that its window starts now: requests
  // the validator refuses (422) still spend it, and change nothing. Two processes with a budget
  // each would allow 12; together they allow 6.
  const pat = await call(first, 'POST', '/v1/tokens', { token, body: { name: 'scale-out', scopes: ['audits:write'] } });
  expect(pat.status).toBe(201);
  const remaining: number[] = [];
  for (const api of [first, second, first, second, first, second]) {
    const refused = await call(api, 'POST', '/v1/audits', { token: pat.body.token as string, body: { mode: 'sideways' } });
    expect(refused.status).toBe(422);
    remaining.push(Number(refused.headers.get('x-ratelimit-remaining')));
  }
  expect(remaining).toEqual([5, 4, 3, 2, 1, 0]);
  for (const api of [first, second]) {
    const spent = await call(api, 'POST', '/v1/audits', { token: pat.body.token as string, body: {} });
    expect(spent.status).toBe(429);
    expect((spent.body.error as { code: string }).code).toBe('rate_limited');
  }

  for (const report of reports) {
    const done = await waitUntil(first, token, `/v1/reports/${report.body.id as string}`, (body) => body.status !== 'queued' && body.status !== 'generating' && body.status !== 'running');
    expect(done.status).toBe('ready');
  }

  // Exactly once: one job for each audit and report (none for the replay, nor for the refused
  // requests), each completed on its first attempt.
  const jobs = await sql<{ name: string; subject: string; state: string; retry_count: number }>`
    select name, coalesce(data ->> 'audit_id', data ->> 'report_id') as subject, state::text as state, retry_count
    from pgboss.job where name in ('audits', 'reports') order by name, subject`.execute(db);
  const reportIds = reports.map((report) => report.body.id as string);
  expect(jobs.rows).toEqual(
    [...auditIds.map((subject) => ({ name: 'audits', subject })), ...reportIds.map((subject) => ({ name: 'reports', subject }))]
      .sort((a, b) => a.name.localeCompare(b.name) || a.subject.localeCompare(b.subject))
      .map((job) => ({ ...job, state: 'completed', retry_count: 0 })),
  );
  const audits = await db.selectFrom('audits').select('id').execute();
  expect(audits.map((row) => row.id).sort()).toEqual([...auditIds].sort());
}, TEST_TIMEOUT_MS);
