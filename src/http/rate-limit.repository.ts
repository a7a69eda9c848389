import { sql } from 'kysely';
import type { Db } from '../db/database';

/** A counter's hits in its current window, and when that window ends. */
export interface RateLimitCounter {
  hits: number;
  resetAt: Date;
}

const toCounter = (row: { hits: number; reset_at: Date | string }): RateLimitCounter => ({ hits: row.hits, resetAt: new Date(row.reset_at) });

/**
 * Counts one hit (or `hits`) on `key`, starting a new window of `windowMs` when the last one has ended. One
 * statement, so concurrent hits from any number of processes cannot be lost, and the window's
 * boundaries come from the database's clock, not each process's.
 */
export async function incrementCounter(db: Db, key: string, windowMs: number, hits = 1): Promise<RateLimitCounter> {
  const resetAt = sql<Date>`now() + ${windowMs}::integer * interval '1 millisecond'`;
  const expired = sql<boolean>`rate_limits.reset_at <= now()`;
  const row = await db
    .insertInto('rate_limits')
    .values({ key, hits, reset_at: resetAt })
    .onConflict((conflict) =>
      // Every expression on the right reads the row as it was before this update.
      conflict.column('key').doUpdateSet({
        hits: sql<number>`case when ${expired} then ${hits}::integer else rate_limits.hits + ${hits}::integer end`,
        reset_at: sql<Date>`case when ${expired} then ${resetAt} else rate_limits.reset_at end`,
      }),
    )
    .returning(['hits', 'reset_at'])
    .executeTakeFirstOrThrow();
  return toCounter(row);
}

/**
 * Counts `hits` hits on each key at once (see `incrementCounter`), in one statement: the batched
 * flush of the hits a process counted in memory. Answers each key's counter after the statement.
 */
export async function incrementCounters(db: Db, hits: Map<string, number>, windowMs: number): Promise<Map<string, RateLimitCounter>> {
  // Sorted, so that concurrent flushes from several processes lock the rows in one order.
  const keys = [...hits.keys()].sort();
  const { rows } = await sql<{ key: string; hits: number; reset_at: Date | string }>`
    insert into rate_limits (key, hits, reset_at)
    select key, hits, now() + ${windowMs}::integer * interval '1 millisecond'
    from unnest(${keys}::text[], ${keys.map((key) => hits.get(key)!)}::integer[]) as batch(key, hits)
    order by key
    on conflict (key) do update set
      hits = case when rate_limits.reset_at <= now() then excluded.hits else rate_limits.hits + excluded.hits end,
      reset_at = case when rate_limits.reset_at <= now() then excluded.reset_at else rate_limits.reset_at end
    returning key, hits, reset_at`.execute(db);
  return new Map(rows.map((row) => [row.key, toCounter(row)]));
}

/** The counter of `key` in its current window; undefined when it has none. */
export async function findCounter(db: Db, key: string): Promise<RateLimitCounter | undefined> {
  const row = await db
    .selectFrom('rate_limits')
    .select(['hits', 'reset_at'])
    .where('key', '=', key)
    .where('reset_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  return row && toCounter(row);
}

/** Takes one hit back from `key`'s current window. */
export async function decrementCounter(db: Db, key: string): Promise<void> {
  await db
    .updateTable('rate_limits')
    .set({ hits: sql<number>`greatest(hits - 1, 0)` })
    .where('key', '=', key)
    .where('reset_at', '>', sql<Date>`now()`)
    .execute();
}

export async function deleteCounter(db: Db, key: string): Promise<void> {
  await db.deleteFrom('rate_limits').where('key', '=', key).execute();
}

/** Deletes the counters whose window ended more than `graceMs` ago; answers how many. */
export async function deleteStaleCounters(db: Db, graceMs: number): Promise<number> {
  const result = await db
    .deleteFrom('rate_limits')
    .where('reset_at', '<', sql<Date>`now() - ${graceMs}::integer * interval '1 millisecond'`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
