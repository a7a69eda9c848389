import type { Express } from 'express';
import type { OpenAPIV3_1 } from 'openapi-types';
import pino, { type Logger } from 'pino';
import request from 'supertest';
import { createApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { openDatabase, type Db } from '../../src/db/database';
import { openRedis } from '../../src/http/redis-client';
import type { AuditRunSettings } from '../../src/audits/audit-runner';
import type { ScanRunSettings } from '../../src/discovery/scan-runner';
import { JobQueue } from '../../src/jobs/job-queue';
import { alertSettings, rotationSettings, scanSettings, startWorkers } from '../../src/workers';
import type { AlertRunSettings } from '../../src/alerts/alert-runner';
import type { DeliverySettings } from '../../src/deliveries/deliveries.service';
import { bootstrapFirstOwner } from '../../src/organizations/organizations.service';
import { createTestDatabase, type TestDatabase } from './database';

export const OWNER = { username: 'owner@example.com', password: 'correct-horse-battery-staple' };
export const TEST_SECRET = 'test-signing-secret-that-is-long-enough-0123456789';

export interface TestApp {
  app: Express;
  db: Db;
  config: Readonly<Config>;
  logger: Logger;
  /** Every line the app logged, parsed. */
  logs: Record<string, unknown>[];
  jobs: JobQueue;
  /** Logs in as the bootstrap owner and answers the bearer token. */
  ownerToken(): Promise<string>;
  /** Adds a member with this role (as the owner) and answers their id and a login token. */
  addMember(role: 'owner' | 'admin' | 'member' | 'viewer'): Promise<{ userId: string; username: string; token: string }>;
  /** Creates a personal access token with these scopes for the holder of `token`; answers the secret and id. */
  createPat(token: string, scopes: string[], extra?: object): Promise<{ id: string; secret: string }>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Another test app whose database this one shares (as two API processes would); it owns the database. */
  sharing?: TestApp;
  /** The spec to route by instead of the bundled one. */
  document?: OpenAPIV3_1.Document;
  /** Work the job queues in this process, as the API does by default. */
  workers?: boolean;
  /** A database to use instead of a fresh one (migrated already); closing the app drops it as `drop` says. */
  database?: TestDatabase;
  /** The catalogue and clock audits run with (default: the built-in catalogue, the real clock). */
  auditSettings?: Partial<AuditRunSettings>;
  /** The clock alerts are raised by and the delays between delivery attempts (default: the real clock, the real delays). */
  alertSettings?: Partial<AlertRunSettings & DeliverySettings>;
  /** How scans run, and the clock their schedules fall due by (default: the configuration's, the real clock). */
  scanSettings?: Partial<ScanRunSettings>;
}

/** Settings of the app, or a function answering them when it starts (after the stand-ins whose addresses they name have started in `beforeAll`). */
export type TestEnv = Record<string, string> | (() => Record<string, string>);

/**
 * The application on a fresh database holding one organization and its owner (`OWNER`), with
 * response validation on: a handler answering outside the spec fails its test with a 500.
 * With `REDIS_URL` in `env` its rate-limit counters live in that Redis.
 */
export async function startTestApp(env: TestEnv = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const settings = typeof env === 'function' ? env() : env;
  const database: TestDatabase = options.sharing ? sharedDatabase(options.sharing) : (options.database ?? (await createTestDatabase()));
  const config = loadConfig({
    VALIDATE_RESPONSES: 'true',
    JWT_SECRET: TEST_SECRET,
    ADMIN_USERNAME: OWNER.username,
    ADMIN_PASSWORD: OWNER.password,
    DATA_DIR: '/nonexistent/test-data-dir-is-not-used',
    // Test files log in as the owner far more often than the login budget allows a person;
    // the rate-limit tests set the budgets they exercise.
    RATE_LIMIT_LOGIN_PER_USERNAME: '10000',
    RATE_LIMIT_LOGIN_PER_IP: '10000',
    JOB_POLLING_SECONDS: '1',
    ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
    ...settings,
  });
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) });
  await bootstrapFirstOwner(database.db, config.admin, logger);
  const redis = config.redisUrl ? openRedis(config.redisUrl) : undefined;
  const jobs = new JobQueue(database.db, config, logger);
  if (options.workers) {
    await startWorkers({
      jobs,
      db: database.db,
      logger,
      audits: options.auditSettings,
      reportsDir: config.reportsDir,
      limits: config.organizationLimits,
      alerts: { ...alertSettings(config, TEST_SECRET), ...options.alertSettings },
      scans: { ...scanSettings(config, TEST_SECRET), progressEveryMs: 200, ...options.scanSettings },
      rotations: rotationSettings(config, TEST_SECRET),
    });
  }
  const app = createApp({ config, db: database.db, logger, signingSecret: TEST_SECRET, redis, jobs, document: options.document });
  let memberCount = 0;
  return {
    app,
    db: database.db,
    config,
    logger,
    logs,
    jobs,
    ownerToken: () => logInAs(app, OWNER.username, OWNER.password),
    addMember: async (role) => {
      const username = `${role}-${++memberCount}@example.com`;
      const password = 'member-password-0123456789';
      const response = await request(app)
        .post('/v1/members')
        .set('Authorization', `Bearer ${await logInAs(app, OWNER.username, OWNER.password)}`)
        .send({ username, role, password })
        .expect(201);
      return { userId: response.body.user_id as string, username, token: await logInAs(app, username, password) };
    },
    createPat: async (token, scopes, extra = {}) => {
      const response = await request(app)
        .post('/v1/tokens')
        .set('Authorization', `Bearer ${token}`)
        .send({ name: 'test token', scopes, ...extra })
        .expect(201);
      return { id: response.body.id as string, secret: response.body.token as string };
    },
    close: async () => {
      await jobs.stop();
      await redis?.quit();
      await database.drop();
    },
  };
}

/**
 * The database of `owner`, for a second instance: on the server through a pool and LISTEN
 * connection of its own, as another process would, so that it hears of the first's writes only
 * by their notices; PGlite lives in this process and is shared as is.
 */
function sharedDatabase(owner: TestApp): TestDatabase {
  const databaseUrl = owner.config.databaseUrl;
  if (!databaseUrl) return { db: owner.db, databaseUrl, drop: async () => {} };
  const db = openDatabase({ databaseUrl, dataDir: null });
  return { db, databaseUrl, drop: () => db.destroy() };
}

/** How long a test app may take to start: a fresh database and its migrations, seconds each on a busy machine. */
const START_TIMEOUT_MS = 120_000;

/**
 * The test app of a file (or of a `describe` block): started before its tests by `startTestApp`
 * (same arguments), closed after them. Use it from the first test or a later `beforeAll` on:
 * `const t = useTestApp(); beforeAll(async () => { owner = await t.ownerToken(); });`.
 *
 * A start that outlives its hook's timeout is still closed once it ends, so that no database,
 * job queue or Redis client it opened keeps the test process alive.
 */
export function useTestApp(...args: Parameters<typeof startTestApp>): TestApp {
  let starting: Promise<TestApp> | undefined;
  let current: TestApp | undefined;
  beforeAll(async () => {
    starting = startTestApp(...args);
    current = await starting;
  }, START_TIMEOUT_MS);
  afterAll(async () => {
    const started = current ?? (await starting?.catch(() => undefined));
    current = undefined;
    await started?.close();
  }, START_TIMEOUT_MS);
  return new Proxy({} as TestApp, {
    get(_, property) {
      if (!current) throw new Error('the test app is not running: its start failed (see the first error) or this runs outside its tests');
      return Reflect.get(current, property);
    },
  });
}

export async function logInAs(app: Express, username: string, password: string): Promise<string> {
  const response = await request(app).post('/auth/login').send({ username, password }).expect(200);
  return (response.body as { access_token: string }).access_token;
}

/** The `Authorization` header of a bearer token: `request(app).get(url).set(as(token))`. */
export function as(token: string): { Authorization: string } {
  return { Authorization: `Bearer ${token}` };
}
