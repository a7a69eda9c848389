import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import request from 'supertest';
import { JobQueue } from '../src/jobs/job-queue';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import type { Database } from '../src/db/schema';
import { useTestApp, TEST_SECRET } from './support/app';
import { expectError, expectStandardHeaders } from './support/expectations';

const t = useTestApp();

describe('probes', () => {
  it('GET /health answers 200 without credentials', async () => {
    const response = await request(t.app).get('/health');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expectStandardHeaders(response);
    expect(response.body).toEqual({ status: 'ok' });
  });

  it('GET /ready answers 200 when the database answers', async () => {
    const response = await request(t.app).get('/ready');
    expect(response.status).toBe(200);
    expectStandardHeaders(response);
    expect(response.body).toEqual({ status: 'ready', checks: { database: 'ok' } });
  });

  it('GET /ready answers 503 service_unavailable when the database does not', async () => {
    // Nothing listens on port 1, so every connection attempt is refused.
    const pool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 500 });
    const deadDb = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const config = loadConfig({ VALIDATE_RESPONSES: 'true', JWT_SECRET: TEST_SECRET, DATABASE_URL: 'postgres://127.0.0.1:1/none' });
    const logger = pino({ level: 'silent' });
    const jobs = new JobQueue(deadDb, config, logger);
    const app = createApp({ config, db: deadDb, logger, signingSecret: TEST_SECRET, jobs });
    try {
      const response = await request(app).get('/ready');
      expectError(response, 503, 'service_unavailable');
      // Liveness does not depend on the database.
      await request(app).get('/health').expect(200);
    } finally {
      await deadDb.destroy();
    }
  });

  it('gives every response its own request id, also in its log line', async () => {
    const first = await request(t.app).get('/health');
    const second = await request(t.app).get('/nope');
    expect(first.headers['x-request-id']).not.toBe(second.headers['x-request-id']);
    for (const response of [first, second]) {
      const line = t.logs.find((l) => l.request_id === response.headers['x-request-id']);
      expect(line).toMatchObject({ req: { method: 'GET' }, res: { status: response.status } });
    }
  });

  it('logs no credentials', async () => {
    const token = await t.ownerToken();
    await request(t.app).get('/v1/me').set('Authorization', `Bearer ${token}`).set('Cookie', `fourfold_session=${token}`).expect(200);
    expect(JSON.stringify(t.logs)).not.toContain(token);
  });
});

describe('HEAD', () => {
  it('answers HEAD like GET, without a body, on public and authenticated operations', async () => {
    const health = await request(t.app).head('/health');
    expect(health.status).toBe(200);
    expect(health.text).toBeUndefined();
    expectStandardHeaders(health);
    const me = await request(t.app).head('/v1/me').set('Authorization', `Bearer ${await t.ownerToken()}`);
    expect(me.status).toBe(200);
    expectError(await request(t.app).get('/v1/me'), 401, 'unauthenticated');
  });
});
