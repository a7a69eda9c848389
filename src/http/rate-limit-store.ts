import { MemoryStore, type ClientRateLimitInfo, type Options, type Store } from 'express-rate-limit';
import { Redis } from 'ioredis';
import { RedisStore } from 'rate-limit-redis';
import type { Logger } from 'pino';
import type { Db } from '../db/database';
import { decrementCounter, deleteCounter, deleteStaleCounters, findCounter, incrementCounter } from './rate-limit.repository';

/** Makes the store of one budget; every budget needs its own (express-rate-limit refuses to share one). */
export type RateLimitStoreFactory = (budget: string) => Store;

/** How long a counter outlives its window before cleanup deletes it. */
const CLEANUP_GRACE_MS = 60_000;
/** How often one store deletes stale counters, at most. */
const CLEANUP_EVERY_MS = 5 * 60_000;

/**
 * Fixed-window counters in the `rate_limits` table, shared by every API process on the database
 * (see `incrementCounter` for why no hit is lost).
 */
export class PostgresStore implements Store {
  /** Counters are shared with other processes, not kept in this one. */
  readonly localKeys = false;
  readonly prefix: string;
  private windowMs = 60_000;
  private lastCleanup = Date.now();

  constructor(
    private readonly db: Db,
    budget: string,
    private readonly onCleanupError: (error: unknown) => void = () => {},
  ) {
    this.prefix = `${budget}:`;
  }

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const counter = await incrementCounter(this.db, this.prefix + key, this.windowMs);
    this.cleanUpNowAndThen();
    return { totalHits: counter.hits, resetTime: counter.resetAt };
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const counter = await findCounter(this.db, this.prefix + key);
    return counter && { totalHits: counter.hits, resetTime: counter.resetAt };
  }

  decrement(key: string): Promise<void> {
    return decrementCounter(this.db, this.prefix + key);
  }

  resetKey(key: string): Promise<void> {
    return deleteCounter(this.db, this.prefix + key);
  }

  /** Deletes the counters of every budget whose window ended more than a minute ago. */
  deleteStale(): Promise<number> {
    return deleteStaleCounters(this.db, CLEANUP_GRACE_MS);
  }

  /**
   * Expired rows are harmless (the next increment resets them) but callers that never return
   * would leave them forever. Runs in the background so no request waits for it.
   */
  private cleanUpNowAndThen(): void {
    if (Date.now() - this.lastCleanup < CLEANUP_EVERY_MS) return;
    this.lastCleanup = Date.now();
    this.deleteStale().catch(this.onCleanupError);
  }
}

/** How often, at most, one store reports that the shared store is failing. */
const REPORT_FAILURE_EVERY_MS = 10_000;

/**
 * The shared store, or, for as long as it fails, a count in this process's memory: an outage of
 * Redis or of the database must neither fail requests that do not need it (the liveness probe)
 * nor lift every limit. Meanwhile each process enforces the budget on its own.
 */
export class FallbackStore implements Store {
  readonly localKeys = false;
  readonly prefix: string | undefined;
  private readonly local = new MemoryStore();
  private lastReport = 0;

  constructor(
    private readonly shared: Store,
    private readonly onFailure: (error: unknown) => void,
  ) {
    this.prefix = shared.prefix;
  }

  init(options: Options): void | Promise<void> {
    this.local.init(options);
    return this.shared.init?.(options);
  }

  increment(key: string): Promise<ClientRateLimitInfo> {
    return this.either(async (store) => store.increment(key));
  }

  get(key: string): Promise<ClientRateLimitInfo | undefined> {
    return this.either(async (store) => store.get?.(key));
  }

  decrement(key: string): Promise<void> {
    return this.either(async (store) => store.decrement(key));
  }

  resetKey(key: string): Promise<void> {
    return this.either(async (store) => store.resetKey(key));
  }

  shutdown(): void {
    void this.local.shutdown();
  }

  private async either<T>(work: (store: Store) => Promise<T>): Promise<T> {
    try {
      return await work(this.shared);
    } catch (error) {
      if (Date.now() - this.lastReport >= REPORT_FAILURE_EVERY_MS) {
        this.lastReport = Date.now();
        this.onFailure(error);
      }
      return work(this.local);
    }
  }
}

/** Counters in the PostgreSQL (or PGlite) database. */
export function postgresStores(db: Db, logger: Logger): RateLimitStoreFactory {
  const onCleanupError = (error: unknown) => logger.warn({ err: error }, 'could not delete stale rate-limit counters');
  return (budget) => new FallbackStore(new PostgresStore(db, budget, onCleanupError), reportFailure(logger));
}

/**
 * rate-limit-redis loads its Lua scripts once, at start, and keeps a failed load for good: a
 * process started while Redis was down would never count there. This one loads them again
 * after a failure, so the process joins the shared count once Redis answers.
 */
export class RecoveringRedisStore extends RedisStore {
  override async increment(key: string): Promise<ClientRateLimitInfo> {
    try {
      return await super.increment(key);
    } catch (error) {
      const loaded = await this.incrementScriptSha.then(
        () => true,
        () => false,
      );
      if (!loaded) {
        this.incrementScriptSha = this.loadIncrementScript();
        this.incrementScriptSha.catch(() => {});
      }
      throw error;
    }
  }
}

/** Counters in Redis, under `<keyPrefix>rl:<budget>:`. */
export function redisStores(client: Redis, keyPrefix: string, logger: Logger, commandTimeoutMs = 1000): RateLimitStoreFactory {
  let connectedOnce = client.status === 'ready';
  client.once('ready', () => {
    connectedOnce = true;
  });
  // Once connected, a lost connection fails commands at once, and one that gets no answer within
  // `commandTimeoutMs` fails then, so requests fall back to the in-process count without
  // waiting for reconnection attempts or a Redis that hangs; before that, commands wait for the
  // first connection (the client fails them if that attempt fails).
  const sendCommand = (command: string, ...args: string[]) => {
    if (!connectedOnce) return client.call(command, args) as Promise<never>;
    if (client.status !== 'ready') return Promise.reject(new Error(`Redis is not connected (${client.status})`));
    return withTimeout(client.call(command, args) as Promise<never>, commandTimeoutMs);
  };
  return (budget) =>
    new FallbackStore(new RecoveringRedisStore({ prefix: `${keyPrefix}rl:${budget}:`, sendCommand }), reportFailure(logger));
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function reportFailure(logger: Logger): (error: unknown) => void {
  return (error) => logger.error({ err: error }, 'rate-limit store failed; counting in this process until it answers again');
}

/** A client for `REDIS_URL`; it connects in the background and reconnects by itself. */
export function openRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 0, connectTimeout: 2000 });
}
