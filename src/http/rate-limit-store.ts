import { MemoryStore, type ClientRateLimitInfo, type Options, type Store } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RedisStore } from 'rate-limit-redis';
import type { Logger } from 'pino';
import type { Db } from '../db/database';
import { decrementCounter, deleteCounter, deleteStaleCounters, findCounter, incrementCounter, incrementCounters, type RateLimitCounter } from './rate-limit.repository';

/** Makes the store of one budget; every budget needs its own (express-rate-limit refuses to share one). */
export type RateLimitStoreFactory = (budget: string) => Store;

/** How long a counter outlives its window before cleanup deletes it. */
const CLEANUP_GRACE_MS = 60_000;
/** How often one store deletes stale counters, at most. */
const CLEANUP_EVERY_MS = 5 * 60_000;

/** How often a store writes the hits it counted in memory to the database. */
export const FLUSH_EVERY_MS = 100;
/** The share of its budget a caller may use on hits counted in memory; past it every hit is counted in the database first. */
const BATCHED_SHARE = 0.5;
/** Smaller budgets are counted in the database hit by hit: at their rates batching saves nothing. */
const MIN_BATCHED_LIMIT = 100;

interface LocalCounter {
  /** The hits in the database when it last answered for this key. */
  shared: number;
  /** Hits counted here and not yet written. */
  pending: number;
  resetAt: Date;
}

/**
 * Fixed-window counters in the `rate_limits` table, shared by every API process on the database
 * (see `incrementCounter` for why no hit is lost). Writing one hot row per request costs a
 * statement and a row lock on every request, so while a caller is under half its budget (as this
 * process last learned it from the database) its hits are counted here and written together,
 * every `FLUSH_EVERY_MS`, in one statement for all callers; from half on, and for the first hit
 * of a window, each hit is counted in the database before the request is answered, as before.
 * The limit therefore stays exact unless a caller's hits on the other processes take it from
 * under half to over its whole budget within one flush interval. Budgets under
 * `MIN_BATCHED_LIMIT` hits a window, and stores given no numeric limit in `init`, count every hit
 * in the database.
 */
export class PostgresStore implements Store {
  /** Counters are shared with other processes, not kept in this one. */
  readonly localKeys = false;
  readonly prefix: string;
  private windowMs = 60_000;
  private batchedUpTo = 0;
  private lastCleanup = Date.now();
  private readonly counters = new Map<string, LocalCounter>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    budget: string,
    private readonly onCleanupError: (error: unknown) => void = () => {},
  ) {
    this.prefix = `${budget}:`;
  }

  init(options: Options): void {
    this.windowMs = options.windowMs;
    this.batchedUpTo = typeof options.limit === 'number' && options.limit >= MIN_BATCHED_LIMIT ? Math.floor(options.limit * BATCHED_SHARE) : 0;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const now = Date.now();
    const local = this.counters.get(key);
    if (local && local.resetAt.getTime() > now && local.shared + local.pending < this.batchedUpTo) {
      local.pending++;
      this.scheduleFlush();
      return { totalHits: local.shared + local.pending, resetTime: local.resetAt };
    }
    // Hits still pending from an ended window belong to it, and are dropped with it.
    const carried = local && local.resetAt.getTime() > now ? local.pending : 0;
    if (local) local.pending -= carried;
    const counter = await incrementCounter(this.db, this.prefix + key, this.windowMs, carried + 1);
    this.learn(key, counter);
    this.cleanUpNowAndThen();
    // This hit's own count (others may have learned a higher one meanwhile), plus those not yet written.
    return { totalHits: counter.hits + (this.counters.get(key)?.pending ?? 0), resetTime: counter.resetAt };
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const local = this.batchedUpTo > 0 ? this.counters.get(key) : undefined;
    if (local && local.resetAt.getTime() > Date.now()) return { totalHits: local.shared + local.pending, resetTime: local.resetAt };
    const counter = await findCounter(this.db, this.prefix + key);
    return counter && { totalHits: counter.hits, resetTime: counter.resetAt };
  }

  async decrement(key: string): Promise<void> {
    const local = this.counters.get(key);
    if (local && local.pending > 0) {
      local.pending--;
      return;
    }
    await decrementCounter(this.db, this.prefix + key);
    if (local && local.shared > 0) local.shared--;
  }

  async resetKey(key: string): Promise<void> {
    this.counters.delete(key);
    await deleteCounter(this.db, this.prefix + key);
  }

  /** Writes the hits counted in memory now (also on shutdown); answers once they are written. */
  flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flushing = this.flushing.then(() => this.writePending());
    return this.flushing;
  }

  async shutdown(): Promise<void> {
    await this.flush();
  }

  /** Deletes the counters of every budget whose window ended more than a minute ago. */
  deleteStale(): Promise<number> {
    return deleteStaleCounters(this.db, CLEANUP_GRACE_MS);
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => void this.flush(), FLUSH_EVERY_MS);
    this.flushTimer.unref();
  }

  private async writePending(): Promise<void> {
    const batch = new Map<string, number>();
    const now = Date.now();
    for (const [key, local] of this.counters) {
      if (local.resetAt.getTime() <= now) {
        this.counters.delete(key);
        continue;
      }
      if (local.pending === 0) continue;
      batch.set(this.prefix + key, local.pending);
      local.pending = 0;
    }
    if (batch.size === 0) return;
    try {
      const counters = await incrementCounters(this.db, batch, this.windowMs);
      for (const [prefixed, counter] of counters) this.learn(prefixed.slice(this.prefix.length), counter);
    } catch (error) {
      // Counted again with the next flush; the database may be back by then.
      for (const [prefixed, hits] of batch) {
        const local = this.counters.get(prefixed.slice(this.prefix.length));
        if (local) local.pending += hits;
      }
      this.scheduleFlush();
      this.onCleanupError(error);
    }
  }

  /** Takes the database's answer for `key` as the shared count (the later of two answers wins). */
  private learn(key: string, counter: RateLimitCounter): void {
    const local = this.counters.get(key);
    if (!local || counter.resetAt.getTime() > local.resetAt.getTime()) {
      this.counters.set(key, { shared: counter.hits, pending: local && local.resetAt.getTime() > Date.now() ? local.pending : 0, resetAt: counter.resetAt });
      return;
    }
    if (counter.resetAt.getTime() === local.resetAt.getTime()) local.shared = Math.max(local.shared, counter.hits);
  }

  /**
   * Expired rows are harmless (the next increment resets them) but callers that never return
   * would leave them forever. Runs in the background so no request waits for it.
   */
  private cleanUpNowAndThen(): void {
    if (Date.now() - this.lastCleanup < CLEANUP_EVERY_MS) return;
    this.lastCleanup = Date.now();
    for (const [key, local] of this.counters) if (local.resetAt.getTime() <= this.lastCleanup && local.pending === 0) this.counters.delete(key);
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
  // The local count starts on its first use: MemoryStore's init starts an interval, and a running
  // interval keeps this store, the shared one and its database reachable for as long as the
  // process lives, even after the app is gone (each test file's apps piled up in a test worker).
  private localOptions: Options | undefined;
  private localStarted = false;
  private lastReport = 0;

  constructor(
    private readonly shared: Store,
    private readonly onFailure: (error: unknown) => void,
  ) {
    this.prefix = shared.prefix;
  }

  init(options: Options): void | Promise<void> {
    this.localOptions = options;
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
      return work(this.startedLocal());
    }
  }

  private startedLocal(): MemoryStore {
    if (!this.localStarted && this.localOptions) {
      this.local.init(this.localOptions);
      this.localStarted = true;
    }
    return this.local;
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
