import net from 'node:net';
import pino from 'pino';
import request from 'supertest';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { openDatabase, type Db } from '../src/db/database';
import { isDatabaseUnavailable } from '../src/db/unavailable';
import { JobQueue } from '../src/jobs/job-queue';
import { generateSecret } from '../src/secrets';
import { PAT_PREFIX } from '../src/tokens/tokens.service';
import { TEST_SECRET } from './support/app';
import { expectError } from './support/expectations';

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a statement cancelled by statement_timeout', { code: '57014' }],
    ['a server shutting down', { code: '57P01' }],
    ['a server starting up', { code: '57P03' }],
    ['a connection failure', { code: '08006' }],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })],
    ['refused connections to each address', new AggregateError([Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })])],
    ['no pool connection in time', new Error('timeout exceeded when trying to connect')],
    ['a connection that ended', new Error('Connection terminated unexpectedly')],
    ['a wrapped cause', new Error('outer', { cause: { code: '57P01' } })],
  ])('is true for %s', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation', { code: '23505' }],
    ['invalid text', { code: '22P02' }],
    ['a bug', new TypeError('x is undefined')],
    ['nothing', undefined],
  ])('is false for %s', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});

/** The app on a PostgreSQL that cannot be reached at `url`, as an API process whose database went away. */
function appOn(url: string, env: Record<string, string> = {}): { app: ReturnType<typeof createApp>; db: Db } {
  const config = loadConfig({ VALIDATE_RESPONSES: 'true', JWT_SECRET: TEST_SECRET, DATABASE_URL: url, ...env });
  const db = openDatabase({ databaseUrl: url, dataDir: null, connectTimeoutMs: config.timeouts.dbConnectMs });
  const logger = pino({ level: 'silent' });
  return { app: createApp({ config, db, logger, signingSecret: TEST_SECRET, jobs: new JobQueue(db, config, logger) }), db };
}

function expectUnavailable(response: request.Response): void {
  expectError(response, 503, 'service_unavailable');
  expect(response.headers['retry-after']).toBe('5');
}

it('answers 503 with Retry-After, not 500, when the database refuses connections', async () => {
  // Nothing listens on port 1, so every connection attempt is refused at once.
  const { app, db } = appOn('postgres://postgres@127.0.0.1:1/none');
  try {
    const pat = generateSecret(PAT_PREFIX);
    expectUnavailable(await request(app).get('/v1/me').set('Authorization', `Bearer ${pat}`));
    expectUnavailable(await request(app).post('/auth/login').send({ username: 'someone', password: 'a password of some length' }));
    expectUnavailable(await request(app).get('/ready'));
  } finally {
    await db.destroy();
  }
});

it('answers 503 once the connect timeout passes when the database accepts connections but never answers', async () => {
  const sockets: net.Socket[] = [];
  const blackHole = net.createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
  const { port } = blackHole.address() as net.AddressInfo;
  const { app, db } = appOn(`postgres://postgres@127.0.0.1:${port}/none`, { DB_CONNECT_TIMEOUT_MS: '300' });
  try {
    const started = Date.now();
    expectUnavailable(await request(app).get('/v1/me').set('Authorization', `Bearer ${generateSecret(PAT_PREFIX)}`));
    // Without a connect timeout it would wait for as long as the server stays silent (the
    // credential check, then the rate limiter, each wait once; a busy machine adds seconds).
    expect(Date.now() - started).toBeLessThan(20_000);
  } finally {
    await db.destroy();
    for (const socket of sockets) socket.destroy();
    blackHole.close();
  }
});
