import { sql } from 'kysely';
import type { Db } from '../db/database';

/**
 * Queries of pg-boss's own job table (v10: `pgboss.job`, partitioned by queue name) for what
 * pg-boss v10 cannot do itself: a cap on the jobs of one group (organization) running at once.
 * The organization of a job is pg-boss's `singleton_key`, which on a `standard` queue has no
 * other effect.
 */
const JOB_TABLE = sql.raw('pgboss.job');

export interface FetchedJob<Data> {
  id: string;
  data: Data;
  retryCount: number;
  expireInSeconds: number;
  singletonKey: string | null;
}

/** Jobs of `organizationId` in `queue` not finished yet (waiting, retrying or running). */
export async function unfinishedJobCount(db: Db, queue: string, organizationId: string): Promise<number> {
  const { rows } = await sql<{ count: string | number }>`
    select count(*) as count from ${JOB_TABLE}
    where name = ${queue} and singleton_key = ${organizationId} and state < 'completed'
  `.execute(db);
  return Number(rows[0]?.count ?? 0);
}

/**
 * Starts the next job of `queue` in pg-boss's order (priority, then age) whose organization has
 * fewer than `perOrganization` jobs running (0: no cap), as pg-boss's own fetch would (state
 * `active`, a retry counted); undefined when there is none. One fetch of a queue at a time, over
 * every process: two workers counting the same running jobs at once could otherwise both start
 * one and exceed the cap. While another process fetches, answers `busy` at once rather than
 * holding a connection to wait.
 */
export function fetchNextFairJob<Data>(db: Db, queue: string, perOrganization: number): Promise<FetchedJob<Data> | 'busy' | undefined> {
  return db.transaction().execute(async (trx) => {
    const { rows: locked } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(hashtext(${`fourfold-fetch:${queue}`})) as locked`.execute(trx);
    if (!locked[0]?.locked) return 'busy';
    const { rows } = await sql<FetchedJob<Data>>`
      with running as (
        select singleton_key, count(*) as n from ${JOB_TABLE}
        where name = ${queue} and state = 'active' and singleton_key is not null
        group by singleton_key
      ), next as (
        select j.id from ${JOB_TABLE} j
        left join running r on r.singleton_key = j.singleton_key
        where j.name = ${queue} and j.state < 'active' and j.start_after < now()
          and (${perOrganization}::int = 0 or coalesce(r.n, 0) < ${perOrganization}::int)
        order by j.priority desc, j.created_on, j.id
        limit 1
        for update of j skip locked
      )
      update ${JOB_TABLE} j set
        state = 'active',
        started_on = now(),
        retry_count = case when j.started_on is not null then j.retry_count + 1 else j.retry_count end
      from next
      where j.name = ${queue} and j.id = next.id
      returning j.id, j.data, j.retry_count as "retryCount", extract(epoch from j.expire_in) as "expireInSeconds", j.singleton_key as "singletonKey"
    `.execute(trx);
    const job = rows[0];
    return job && { ...job, expireInSeconds: Number(job.expireInSeconds) };
  });
}
