import type { Insertable, Updateable } from 'kysely';
import { sql } from 'kysely';
import type { Db, Trx } from '../db/database';
import type { SyncResultData, SyncRunsTable, SyncRunStatus, SyncsTable, SyncTargetsWrittenTable } from '../db/schema';

export function insertSync(db: Db, row: Insertable<SyncsTable>) {
  return db.insertInto('syncs').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findSync(db: Db, organizationId: string, id: string) {
  return db.selectFrom('syncs').selectAll().where('organization_id', '=', organizationId).where('id', '=', id).executeTakeFirst();
}

export function findSyncById(db: Db, id: string) {
  return db.selectFrom('syncs').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Newest first, before the keyset position `beforeId`. */
export function listSyncs(db: Db, organizationId: string, limit: number, beforeId?: string) {
  let query = db.selectFrom('syncs').selectAll().where('organization_id', '=', organizationId);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  return query.orderBy('id', 'desc').limit(limit).execute();
}

export function updateSyncRow(db: Db, organizationId: string, id: string, change: Updateable<SyncsTable>) {
  return db.updateTable('syncs').set(change).where('organization_id', '=', organizationId).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function deleteSyncRow(db: Db, organizationId: string, id: string): Promise<boolean> {
  const row = await db.deleteFrom('syncs').where('organization_id', '=', organizationId).where('id', '=', id).returning('id').executeTakeFirst();
  return row !== undefined;
}

/** The organization's account, with its provider, or undefined. */
export function findOrganizationAccount(db: Db, organizationId: string, id: string) {
  return db.selectFrom('accounts').selectAll().where('organization_id', '=', organizationId).where('id', '=', id).executeTakeFirst();
}

export function insertSyncRun(db: Db, row: Insertable<SyncRunsTable>) {
  return db.insertInto('sync_runs').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findActiveSyncRun(db: Db, syncId: string) {
  return db.selectFrom('sync_runs').selectAll().where('sync_id', '=', syncId).where('status', 'in', ['queued', 'running']).executeTakeFirst();
}

export function findSyncRun(db: Db, organizationId: string, syncId: string, id: string) {
  return db.selectFrom('sync_runs').selectAll().where('organization_id', '=', organizationId).where('sync_id', '=', syncId).where('id', '=', id).executeTakeFirst();
}

export function findSyncRunById(db: Db, id: string) {
  return db.selectFrom('sync_runs').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listSyncRuns(db: Db, organizationId: string, syncId: string, limit: number, beforeId?: string) {
  let query = db.selectFrom('sync_runs').selectAll().where('organization_id', '=', organizationId).where('sync_id', '=', syncId);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  return query.orderBy('id', 'desc').limit(limit).execute();
}

/** Marks a queued run (or one whose earlier attempt's worker stopped) running; undefined when it has ended. */
export function startSyncRunRow(db: Db, id: string) {
  return db
    .updateTable('sync_runs')
    .set({ status: 'running', started_at: new Date(), results: '[]' })
    .where('id', '=', id)
    .where('status', 'in', ['queued', 'running'])
    .returningAll()
    .executeTakeFirst();
}

export function finishSyncRunRow(db: Db, id: string, end: { status: SyncRunStatus; results?: SyncResultData[]; error_code?: string | null; error_message?: string | null }) {
  return db
    .updateTable('sync_runs')
    .set({
      status: end.status,
      finished_at: new Date(),
      ...(end.results ? { results: JSON.stringify(end.results) } : {}),
      error_code: end.error_code ?? null,
      error_message: end.error_message ?? null,
    })
    .where('id', '=', id)
    .where('status', 'in', ['queued', 'running'])
    .returningAll()
    .executeTakeFirst();
}

export function writtenTargets(db: Db, syncId: string) {
  return db.selectFrom('sync_targets_written').selectAll().where('sync_id', '=', syncId).execute();
}

export async function recordWrittenTarget(db: Db | Trx, row: Insertable<SyncTargetsWrittenTable>): Promise<void> {
  await db
    .insertInto('sync_targets_written')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['sync_id', 'item_kind', 'item_name', 'target_account_id', 'target_service']).doUpdateSet({
        target_name: row.target_name,
        source_version: row.source_version,
        target_version: row.target_version,
        written_at: row.written_at,
      }),
    )
    .execute();
}

/** Syncs whose schedule is due at `now`, oldest due first, with their organization's status. */
export function dueScheduledSyncs(db: Db, now: Date, limit: number) {
  return db
    .selectFrom('syncs')
    .innerJoin('organizations', 'organizations.id', 'syncs.organization_id')
    .select(['syncs.id', 'syncs.organization_id', 'syncs.schedule', 'syncs.next_run_at', 'syncs.schedule_set_by', 'syncs.schedule_paused_reason', 'organizations.status as organization_status'])
    .where('syncs.next_run_at', '<=', now)
    .orderBy('syncs.next_run_at')
    .limit(limit)
    .execute();
}

/**
 * Moves a sync's schedule from `due` to `next` and sets why it waits (null: it runs), only if it
 * is still at `due`: of processes that found the same due schedule, one answers true.
 */
export async function claimScheduledSync(trx: Trx, id: string, due: Date, next: Date | null, pausedReason: string | null): Promise<boolean> {
  const row = await trx
    .updateTable('syncs')
    .set({ next_run_at: next, schedule_paused_reason: pausedReason })
    .where('id', '=', id)
    .where('next_run_at', '=', due)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** The organization's syncs reading Key Vault `vaultName` (stored lowercase). */
export function syncsOfVault(db: Db, organizationId: string, vaultName: string) {
  return db
    .selectFrom('syncs')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where(sql<string>`source->>'vault_name'`, '=', vaultName.toLowerCase())
    .orderBy('id')
    .execute();
}

/** Widens a still-queued restricted run to `names` as well; false when it is no longer queued. */
export async function widenQueuedSyncRun(db: Db, id: string, names: string[]): Promise<boolean> {
  const row = await db
    .updateTable('sync_runs')
    .set({ only_items: sql<string>`(select coalesce(jsonb_agg(distinct n), '[]'::jsonb) from jsonb_array_elements_text(coalesce(only_items, '[]'::jsonb) || ${JSON.stringify(names)}::jsonb) n)` })
    .where('id', '=', id)
    .where('status', '=', 'queued')
    .where('only_items', 'is not', null)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}
