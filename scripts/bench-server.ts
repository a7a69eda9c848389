import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import type { Db } from '../src/db/database';
import { JobQueue } from '../src/jobs/job-queue';
import { startWorkers } from '../src/workers';
import { bootstrapFirstOwner } from '../src/organizations/organizations.service';
import { createTestDatabase } from '../test/support/database';

/**
 * The API on a fresh database of the PostgreSQL server named by DATABASE_URL, listening on a
 * free local port, with a logged-in owner: what each benchmark measures against. It works the
 * job queues too, unless `workers: false` (a benchmark that runs its own worker process).
 */
export async function startBenchServer(env: Record<string, string>, options: { workers?: boolean } = {}): Promise<{ base: string; token: string; db: Db; databaseUrl: string; close(): Promise<void> }> {
  if (!process.env.DATABASE_URL) throw new Error('set DATABASE_URL to the PostgreSQL server (the benchmark creates and drops its own database)');
  const database = await createTestDatabase();
  const secret = 'bench-signing-secret-0123456789-0123456789';
  const owner = { username: 'bench', password: 'bench-password-123' };
  const config = loadConfig({
    DATABASE_URL: database.databaseUrl!,
    JWT_SECRET: secret,
    ADMIN_USERNAME: owner.username,
    ADMIN_PASSWORD: owner.password,
    LOG_LEVEL: 'silent',
    JOB_POLLING_SECONDS: '1',
    ...env,
  });
  const logger = pino({ level: 'silent' });
  await bootstrapFirstOwner(database.db, config.admin, logger);
  const jobs = new JobQueue(database.db, config, logger);
  if (options.workers ?? true) await startWorkers({ jobs, db: database.db, logger });
  const server = createApp({ config, db: database.db, logger, signingSecret: secret, jobs }).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const login = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(owner) });
  const token = ((await login.json()) as { access_token: string }).access_token;
  return {
    base,
    token,
    db: database.db,
    databaseUrl: database.databaseUrl!,
    close: async () => {
      server.close();
      await jobs.stop();
      await database.drop();
    },
  };
}

/** The median time of `samples` requests made one after another, in milliseconds. */
export async function medianMs(request: () => Promise<unknown>, samples: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = process.hrtime.bigint();
    await request();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times.sort((a, b) => a - b)[Math.floor(samples / 2)]!;
}

/** Requests a second with `connections` clients each making `request` back to back for `seconds`. */
export async function requestsPerSecond(request: () => Promise<unknown>, connections: number, seconds: number): Promise<number> {
  let done = 0;
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < until) {
        await request();
        done++;
      }
    }),
  );
  return done / seconds;
}
