import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { OpenAPIV3_1 } from 'openapi-types';
import request from 'supertest';
import { loadOpenApiDocument } from '../src/http/openapi-document';
import { OWNER, startTestApp, type TestApp } from './support/app';
import { expectError, expectStandardHeaders } from './support/expectations';
import { requireRedis, TEST_REDIS_URL } from './support/system-tools';

const REDIS_URL = TEST_REDIS_URL;

/** Every app a test starts, closed after it: the first of two sharing a database drops it, so last. */
let started: TestApp[] = [];
afterEach(async () => {
  for (const t of started.reverse()) await t.close();
  started = [];
});

async function start(...args: Parameters<typeof startTestApp>): Promise<TestApp> {
  const t = await startTestApp(...args);
  started.push(t);
  return t;
}

function rateLimitHeaders(response: request.Response) {
  return {
    limit: Number(response.headers['x-ratelimit-limit']),
    remaining: Number(response.headers['x-ratelimit-remaining']),
    reset: Number(response.headers['x-ratelimit-reset']),
  };
}

/** Answers 429 `rate_limited` with `Retry-After` no later than the window's end, and the spent budget's headers. */
function expectRateLimited(response: request.Response, limit: number, windowSeconds: number): void {
  expectError(response, 429, 'rate_limited');
  expect(rateLimitHeaders(response)).toMatchObject({ limit, remaining: 0 });
  const retryAfter = Number(response.headers['retry-after']);
  expect(response.headers['retry-after']).toMatch(/^\d+$/);
  expect(retryAfter).toBeGreaterThanOrEqual(0);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
  expect(response.body.error.message).toContain(`${retryAfter} seconds`);
}

describe('rate limits per credential', () => {
  it('sends X-RateLimit-Limit, -Remaining and -Reset (epoch seconds) of the credential budget on authenticated responses', async () => {
    const t = await start();
    const token = await t.ownerToken();
    const first = await request(t.app).get('/v1/me').set('Authorization', `Bearer ${token}`);
    const second = await request(t.app).get('/v1/me').set('Authorization', `Bearer ${token}`);
    for (const response of [first, second]) {
      expect(response.status).toBe(200);
      expectStandardHeaders(response);
    }
    expect(rateLimitHeaders(first)).toMatchObject({ limit: 1000, remaining: 999 });
    expect(rateLimitHeaders(second)).toMatchObject({ limit: 1000, remaining: 998 });
    const now = Date.now() / 1000;
    expect(rateLimitHeaders(first).reset).toBeGreaterThan(now);
    expect(rateLimitHeaders(first).reset).toBeLessThanOrEqual(Math.ceil(now) + 60);
  });

  it('answers 429 rate_limited with Retry-After once the budget is spent, and counts each credential apart', async () => {
    const t = await start({ RATE_LIMIT_PER_MINUTE: '3' });
    const token = await t.ownerToken();
    for (let i = 0; i < 3; i++) {
      await request(t.app).get('/v1/me').set('Authorization', `Bearer ${token}`).expect(200);
    }
    const limited = await request(t.app).get('/v1/me').set('Authorization', `Bearer ${token}`);
    expectRateLimited(limited, 3, 60);

    const otherSession = await t.ownerToken();
    const other = await request(t.app).get('/v1/me').set('Authorization', `Bearer ${otherSession}`);
    expect(other.status).toBe(200);
    expect(rateLimitHeaders(other)).toMatchObject({ limit: 3, remaining: 2 });
  });

  it('counts the credential budget in a window of RATE_LIMIT_WINDOW_SECONDS, and has it whole again once the window ends', async () => {
    const t = await start({ RATE_LIMIT_PER_MINUTE: '2', RATE_LIMIT_WINDOW_SECONDS: '5' });
    const token = await t.ownerToken();
    const first = await request(t.app).get('/v1/me').set('Authorization', `Bearer ${token}`).expect(200);
    const now = Date.now() / 1000;
    expect(rateLimitHeaders(first)).toMatchObject({ limit: 2, remaining: 1 });
    expect(rateLimitHeaders(first).reset).toBeLessThanOrEqual(Math.ceil(now) + 5);
    await request(t.app).get('/v1/me').set('Authorization', `Bearer ${token}`).expect(200);
    const limited = await request(t.app).get('/v1/me').set('Authorization', `Bearer ${token}`);
    expectRateLimited(limited, 2, 5);

    await new Promise((resolve) => setTimeout(resolve, rateLimitHeaders(limited).reset * 1000 - Date.now() + 100));
    const again = await request(t.app).get('/v1/me').set('Authorization', `Bearer ${token}`);
    expect(again.status).toBe(200);
    expect(rateLimitHeaders(again)).toMatchObject({ limit: 2, remaining: 1 });
  });

  it('gives operations marked x-rate-limit-budget: heavy their own, smaller budget', async () => {
    const document = structuredClone(loadOpenApiDocument().document);
    const getMe = document.paths?.['/v1/me']?.get as OpenAPIV3_1.OperationObject & { 'x-rate-limit-budget'?: string };
    getMe['x-rate-limit-budget'] = 'heavy';
    const t = await start({ RATE_LIMIT_PER_MINUTE: '5', RATE_LIMIT_HEAVY_PER_MINUTE: '2' }, { document });
    const token = await t.ownerToken();

    const heavy = [];
    for (let i = 0; i < 3; i++) heavy.push(await request(t.app).get('/v1/me').set('Authorization', `Bearer ${token}`));
    expect(heavy.slice(0, 2).map((r) => [r.status, rateLimitHeaders(r).limit, rateLimitHeaders(r).remaining])).toEqual([
      [200, 2, 1],
      [200, 2, 0],
    ]);
    expectRateLimited(heavy[2] as request.Response, 2, 60);

    // The heavy calls spent nothing of the default budget, which the same credential still has whole.
    const light = await request(t.app).post('/auth/logout').set('Authorization', `Bearer ${token}`);
    expect(light.status).toBe(204);
    expect(rateLimitHeaders(light)).toMatchObject({ limit: 5, remaining: 4 });
  });
});

describe('rate limits without credentials', () => {
  it('limits requests without credentials per client IP', async () => {
    const t = await start({ RATE_LIMIT_PER_MINUTE: '2', TRUST_PROXY: '1' });
    const from = (ip: string) => request(t.app).get('/ready').set('X-Forwarded-For', ip);
    expect(rateLimitHeaders(await from('203.0.113.5').expect(200))).toMatchObject({ limit: 2, remaining: 1 });
    await from('203.0.113.5').expect(200);
    expectRateLimited(await from('203.0.113.5'), 2, 60);
    expect(rateLimitHeaders(await from('203.0.113.6').expect(200))).toMatchObject({ limit: 2, remaining: 1 });
  });

  it('spends nothing on the liveness probe (x-rate-limit-budget: none): /health is never refused and leaves the budget whole', async () => {
    const t = await start({ RATE_LIMIT_PER_MINUTE: '3', TRUST_PROXY: '1' });
    const probe = () => request(t.app).get('/health').set('X-Forwarded-For', '203.0.113.7');
    const other = () => request(t.app).get('/ready').set('X-Forwarded-For', '203.0.113.7');
    for (let i = 0; i < 10; i++) {
      const response = await probe().expect(200);
      expectStandardHeaders(response);
      expect(rateLimitHeaders(response)).toMatchObject({ limit: 3, remaining: 3 });
    }
    // Other calls from the same address still count, and the probe's headers show what they spent.
    expect(rateLimitHeaders(await other().expect(200))).toMatchObject({ limit: 3, remaining: 2 });
    expect(rateLimitHeaders(await probe().expect(200))).toMatchObject({ limit: 3, remaining: 2 });
    await other().expect(200);
    await other().expect(200);
    expectRateLimited(await other(), 3, 60);
    // Spent, the address still gets its probes answered.
    const spent = await probe().expect(200);
    expect(rateLimitHeaders(spent)).toMatchObject({ limit: 3, remaining: 0 });

    // With credentials, the probe spends nothing of the credential's budget either.
    const token = await t.ownerToken();
    for (let i = 0; i < 5; i++) await request(t.app).get('/health').set('Authorization', `Bearer ${token}`).expect(200);
    expect(rateLimitHeaders(await request(t.app).get('/v1/me').set('Authorization', `Bearer ${token}`).expect(200))).toMatchObject({ limit: 3, remaining: 2 });
  });
});

describe('login throttling', () => {
  const login = (t: TestApp, ip: string, username: string, password = 'a-wrong-guess') =>
    request(t.app).post('/auth/login').set('X-Forwarded-For', ip).send({ username, password });

  it('throttles guesses at one username from any number of IPs, whatever the case of the username', async () => {
    const t = await start({ TRUST_PROXY: '1', RATE_LIMIT_LOGIN_PER_USERNAME: '3', RATE_LIMIT_LOGIN_WINDOW_SECONDS: '600' });
    const guesses = [
      await login(t, '198.51.100.1', OWNER.username),
      await login(t, '198.51.100.2', OWNER.username.toUpperCase()),
      await login(t, '198.51.100.3', OWNER.username),
    ];
    for (const response of guesses) expectError(response, 401, 'invalid_credentials');
    expect(guesses.map((r) => rateLimitHeaders(r))).toMatchObject([
      { limit: 3, remaining: 2 },
      { limit: 3, remaining: 1 },
      { limit: 3, remaining: 0 },
    ]);

    // Even the right password waits: answering it would confirm a guess.
    const limited = await login(t, '198.51.100.4', OWNER.username, OWNER.password);
    expectRateLimited(limited, 3, 600);
    expect(limited.headers['set-cookie']).toBeUndefined();

    // Other usernames, from the same addresses, are not held up.
    expectError(await login(t, '198.51.100.1', 'someone-else'), 401, 'invalid_credentials');
  });

  it('throttles login attempts from one IP over all usernames', async () => {
    const t = await start({ TRUST_PROXY: '1', RATE_LIMIT_LOGIN_PER_IP: '3', RATE_LIMIT_LOGIN_WINDOW_SECONDS: '600' });
    for (const username of ['ann', 'bob', 'cat']) {
      expectError(await login(t, '192.0.2.7', username), 401, 'invalid_credentials');
    }
    expectRateLimited(await login(t, '192.0.2.7', 'dan'), 3, 600);
    expectError(await login(t, '192.0.2.8', 'dan'), 401, 'invalid_credentials');
  });

  it('counts the OAuth login form against the same login budgets as POST /auth/login', async () => {
    const t = await start({ RATE_LIMIT_LOGIN_PER_USERNAME: '3', RATE_LIMIT_LOGIN_WINDOW_SECONDS: '600' });
    const form = (password: string) =>
      request(t.app).post('/oauth/login').set('Origin', 'http://fourfold.test').set('Host', 'fourfold.test').type('form').send({ username: OWNER.username, password, return_to: '/oauth/authorize?response_type=code' });
    await form('wrong-password-1');
    await form('wrong-password-2');
    expectError(await request(t.app).post('/auth/login').send({ username: OWNER.username, password: 'wrong-password-3' }), 401, 'invalid_credentials');
    expectRateLimited(await form(OWNER.password), 3, 600);
    expectRateLimited(await request(t.app).post('/auth/login').send(OWNER), 3, 600);
  });
});

describe('one limit shared by every API process', () => {
  /** Two apps on one store alternate requests with one credential: together they allow the budget once. */
  async function expectSharedLimit(first: TestApp, second: TestApp): Promise<void> {
    const token = await first.ownerToken();
    const remaining: number[] = [];
    for (const app of [first, second, first, second]) {
      const response = await request(app.app).get('/v1/me').set('Authorization', `Bearer ${token}`).expect(200);
      remaining.push(rateLimitHeaders(response).remaining);
    }
    expect(remaining).toEqual([3, 2, 1, 0]);
    expectRateLimited(await request(second.app).get('/v1/me').set('Authorization', `Bearer ${token}`), 4, 60);
    expectRateLimited(await request(first.app).get('/v1/me').set('Authorization', `Bearer ${token}`), 4, 60);
  }

  it('enforces one limit across two app instances on one database', async () => {
    const env = { RATE_LIMIT_PER_MINUTE: '4' };
    const first = await start(env);
    const second = await start(env, { sharing: first });
    await expectSharedLimit(first, second);
  });

  it('enforces one limit across two app instances on one Redis (REDIS_URL)', async () => {
    await requireRedis(REDIS_URL);
    const prefix = `fourfold-test:${randomUUID()}:`;
    const env = { RATE_LIMIT_PER_MINUTE: '4', REDIS_URL, REDIS_KEY_PREFIX: prefix };
    const first = await start(env);
    const second = await start(env, { sharing: first });
    await expectSharedLimit(first, second);

    // The counters are in Redis, under the prefix, not in the database.
    const redis = new Redis(REDIS_URL);
    try {
      const keys = await redis.keys(`${prefix}*`);
      expect(keys).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^${prefix}rl:default:session:`))]));
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      await redis.quit();
    }
    const rows = await first.db.selectFrom('rate_limits').select('key').execute();
    expect(rows).toEqual([]);
  });
});
