import { randomUUID } from 'node:crypto';
import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import pino from 'pino';
import { FallbackStore, FLUSH_EVERY_MS, PostgresStore, RecoveringRedisStore, redisStores } from '../src/http/rate-limit-store';
import { openRedis } from '../src/http/redis-client';
import { createTestDatabase, type TestDatabase } from './support/database';
import { requireRedis, TEST_REDIS_URL } from './support/system-tools';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

const options = { windowMs: 60_000 } as Options;

function postgresStore(budget: string): PostgresStore {
  const store = new PostgresStore(database.db, budget);
  store.init(options);
  return store;
}

/** Moves the window of `key` into the past, as if its minute were over. */
async function endWindow(key: string, agoMs: number): Promise<void> {
  await sql`update rate_limits set reset_at = now() - ${agoMs}::integer * interval '1 millisecond' where key = ${key}`.execute(
    database.db,
  );
}

describe('PostgresStore', () => {
  it('counts hits in a fixed window that ends windowMs after the first hit', async () => {
    const store = postgresStore('counting');
    const before = Date.now();
    const first = await store.increment('caller');
    const second = await store.increment('caller');
    expect([first.totalHits, second.totalHits]).toEqual([1, 2]);
    expect(second.resetTime).toEqual(first.resetTime);
    expect(first.resetTime!.getTime()).toBeGreaterThan(before + 59_000);
    expect(first.resetTime!.getTime()).toBeLessThan(Date.now() + 61_000);
  });

  it('loses no hit when many arrive at once', async () => {
    const store = postgresStore('concurrent');
    const results = await Promise.all(Array.from({ length: 25 }, () => store.increment('caller')));
    expect(results.map((r) => r.totalHits).sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  it('starts a new window, from one hit, when the last one has ended', async () => {
    const store = postgresStore('expiry');
    await store.increment('caller');
    await store.increment('caller');
    await endWindow('expiry:caller', 1);
    expect(await store.get('caller')).toBeUndefined();
    const fresh = await store.increment('caller');
    expect(fresh.totalHits).toBe(1);
    expect(fresh.resetTime!.getTime()).toBeGreaterThan(Date.now() + 59_000);
  });

  it('keeps budgets apart by prefix, and decrements and resets one key', async () => {
    const a = postgresStore('budget-a');
    const b = postgresStore('budget-b');
    await a.increment('caller');
    await a.increment('caller');
    expect((await b.increment('caller')).totalHits).toBe(1);
    await a.decrement('caller');
    expect((await a.get('caller'))?.totalHits).toBe(1);
    await a.resetKey('caller');
    expect(await a.get('caller')).toBeUndefined();
    expect((await b.get('caller'))?.totalHits).toBe(1);
  });

  it('deletes counters whose window ended over a minute ago, and no others', async () => {
    const store = postgresStore('cleanup');
    for (const key of ['stale', 'recent', 'live']) await store.increment(key);
    await endWindow('cleanup:stale', 61_000);
    await endWindow('cleanup:recent', 1_000);
    expect(await store.deleteStale()).toBeGreaterThanOrEqual(1);
    const keys = await database.db.selectFrom('rate_limits').select('key').where('key', 'like', 'cleanup:%').orderBy('key').execute();
    expect(keys.map((k) => k.key)).toEqual(['cleanup:live', 'cleanup:recent']);
  });
});

describe('PostgresStore with a budget of 100 or more', () => {
  function batchingStore(budget: string, limit: number): PostgresStore {
    const store = new PostgresStore(database.db, budget);
    store.init({ windowMs: 60_000, limit } as Options);
    return store;
  }

  async function storedHits(key: string): Promise<number | undefined> {
    const row = await database.db.selectFrom('rate_limits').select('hits').where('key', '=', key).executeTakeFirst();
    return row?.hits;
  }

  it('counts hits under half the budget in memory after the first, and writes them together', async () => {
    const store = batchingStore('batched', 1000);
    const counted: number[] = [];
    for (let i = 0; i < 10; i++) counted.push((await store.increment('caller')).totalHits);
    expect(counted).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await storedHits('batched:caller')).toBe(1);
    expect((await store.get('caller'))?.totalHits).toBe(10);
    await store.flush();
    expect(await storedHits('batched:caller')).toBe(10);
    expect((await store.increment('caller')).totalHits).toBe(11);
    await store.decrement('caller');
    await store.flush();
    expect(await storedHits('batched:caller')).toBe(10);
  });

  it('writes the pending hits of every caller within the flush interval, with no call to flush', async () => {
    const store = batchingStore('interval', 1000);
    for (const key of ['a', 'b', 'b']) await store.increment(key);
    for (const key of ['a', 'b', 'b']) await store.increment(key);
    const deadline = Date.now() + 10_000;
    while ((await storedHits('interval:b')) !== 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, FLUSH_EVERY_MS));
    expect([await storedHits('interval:a'), await storedHits('interval:b')]).toEqual([2, 4]);
  });

  it('counts each hit in the database from half the budget on, so that processes agree near the limit', async () => {
    const first = batchingStore('shared', 100);
    const second = batchingStore('shared', 100);
    for (let i = 0; i < 60; i++) await first.increment('caller');
    await first.flush();
    expect(await storedHits('shared:caller')).toBe(60);
    expect((await second.increment('caller')).totalHits).toBe(61);
    expect((await first.increment('caller')).totalHits).toBe(62);
    expect((await second.increment('caller')).totalHits).toBe(63);
    expect(await storedHits('shared:caller')).toBe(63);
  });

  it('counts every hit in the database for budgets under 100', async () => {
    const store = batchingStore('small', 99);
    for (let i = 0; i < 5; i++) await store.increment('caller');
    expect(await storedHits('small:caller')).toBe(5);
  });
});

describe('FallbackStore', () => {
  it('counts in this process while the shared store fails, and reports the failure', async () => {
    const failures: unknown[] = [];
    const broken: Store = {
      prefix: 'broken:',
      localKeys: false,
      increment: (): Promise<ClientRateLimitInfo> => Promise.reject(new Error('connection refused')),
      decrement: () => Promise.reject(new Error('connection refused')),
      resetKey: () => Promise.reject(new Error('connection refused')),
    };
    const store = new FallbackStore(broken, (error) => failures.push(error));
    await store.init(options);
    try {
      expect((await store.increment('caller')).totalHits).toBe(1);
      expect((await store.increment('caller')).totalHits).toBe(2);
      expect(failures).toEqual([new Error('connection refused')]);
    } finally {
      store.shutdown();
    }
  });
});

describe('Redis stores', () => {
  const redisUrl = TEST_REDIS_URL;
  const prefix = `fourfold-test:${randomUUID()}:`;
  let client: Redis;
  // With no Redis there, every test here fails saying how to get one (and no client keeps
  // reconnecting after the file).
  beforeAll(async () => {
    await requireRedis(redisUrl);
    client = openRedis(redisUrl);
  });
  afterAll(async () => {
    if (!client) return;
    try {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length > 0) await client.del(...keys);
    } finally {
      client.disconnect();
    }
  });

  it('loads its scripts again when Redis did not answer at start', async () => {
    let refuse = true;
    const store = new RecoveringRedisStore({
      prefix: `${prefix}recovering:`,
      sendCommand: (command: string, ...args: string[]) =>
        refuse ? Promise.reject(new Error('connection refused')) : (client.call(command, args) as Promise<never>),
    });
    await expect(store.init(options)).rejects.toThrow('connection refused');
    await expect(store.increment('caller')).rejects.toThrow('connection refused');
    refuse = false;
    await expect(store.increment('caller')).rejects.toThrow('connection refused');
    expect((await store.increment('caller')).totalHits).toBe(1);
    expect((await store.increment('caller')).totalHits).toBe(2);
  });

  it('counts in the process, without waiting, once the connection to Redis is lost', async () => {
    const own = openRedis(redisUrl);
    const failures: unknown[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => failures.push(JSON.parse(line)) });
    const store = redisStores(own, prefix, logger)('lost');
    await store.init?.(options);
    try {
      expect((await store.increment('caller')).totalHits).toBe(1);
      expect((await store.increment('caller')).totalHits).toBe(2);
      own.disconnect();
      expect((await store.increment('caller')).totalHits).toBe(1);
      expect(failures).toEqual([expect.objectContaining({ msg: expect.stringContaining('rate-limit store failed') })]);
      expect(await client.get(`${prefix}rl:lost:caller`)).toBe('2');
    } finally {
      await store.shutdown?.();
      own.disconnect();
    }
  });
});
