import { sql, type Insertable } from 'kysely';
import type { Db, Trx } from '../db/database';
import type { ImportRow, ImportsTable } from '../db/schema';
import type { Schemas } from '../http/contract';
import { CONTENT_COLUMNS, contentRowJson, jsonRowsParam, type ResourceContentRow } from '../resources/resources.repository';
import type { CanonicalResource, ImportProblem } from './import-parsers';

const PENDING = ['queued', 'running'] as const;

export function insertImport(db: Db, row: Insertable<ImportsTable>) {
  return db.insertInto('imports').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function insertImportPayload(db: Db, importId: string, resources: CanonicalResource[]): Promise<void> {
  await db.insertInto('import_payloads').values({ import_id: importId, resources: JSON.stringify(resources) }).execute();
}

/** Removes and answers a queued import's resources (undefined once an attempt has written them). */
export async function takeImportPayload(db: Db, importId: string): Promise<CanonicalResource[] | undefined> {
  const row = await db.deleteFrom('import_payloads').where('import_id', '=', importId).returning('resources').executeTakeFirst();
  return row ? (JSON.parse(row.resources) as CanonicalResource[]) : undefined;
}

/** Marks a queued (or retried) import `running`; undefined if it is finished or gone. */
export function startQueuedImport(db: Db, importId: string): Promise<ImportRow | undefined> {
  return db
    .updateTable('imports')
    .set({ status: 'running' })
    .where('id', '=', importId)
    .where('status', 'in', PENDING)
    .returningAll()
    .executeTakeFirst();
}


export function findPendingImport(db: Db, importId: string): Promise<ImportRow | undefined> {
  return db.selectFrom('imports').selectAll().where('id', '=', importId).where('status', 'in', PENDING).executeTakeFirst();
}

/** Locks a queued or running import for the rest of the transaction; undefined once it has ended. */
export function lockPendingImport(trx: Trx, importId: string): Promise<ImportRow | undefined> {
  return trx.selectFrom('imports').selectAll().where('id', '=', importId).where('status', 'in', PENDING).forUpdate().executeTakeFirst();
}

/** The account's first import still waiting to be written (ids sort in the order imports were made). */
export function oldestPendingImport(db: Db, accountId: string): Promise<ImportRow | undefined> {
  return db.selectFrom('imports').selectAll().where('account_id', '=', accountId).where('status', 'in', PENDING).orderBy('id').limit(1).executeTakeFirst();
}

export async function hasPendingImport(db: Db, accountId: string): Promise<boolean> {
  return (await oldestPendingImport(db, accountId)) !== undefined;
}

/** Ends a queued or running import; `counts` null keeps the counts it has. */
export async function finishImport(
  db: Db,
  importId: string,
  status: 'succeeded' | 'failed',
  counts: Schemas['Import']['counts'] | null,
  problems: ImportProblem[],
): Promise<void> {
  await db
    .updateTable('imports')
    .set({ status, problems: JSON.stringify(problems), finished_at: new Date(), ...(counts ? { counts: JSON.stringify(counts) } : {}) })
    .where('id', '=', importId)
    .where('status', 'in', PENDING)
    .execute();
}

export async function deleteImportPayload(db: Db, importId: string): Promise<void> {
  await db.deleteFrom('import_payloads').where('import_id', '=', importId).execute();
}

export function findImport(db: Db, organizationId: string, id: string) {
  return db.selectFrom('imports').selectAll().where('organization_id', '=', organizationId).where('id', '=', id).executeTakeFirst();
}

/** An account's imports, newest first, below the keyset position `beforeId`. */
export function listImports(db: Db, organizationId: string, accountId: string, limit: number, beforeId?: string) {
  let query = db.selectFrom('imports').selectAll().where('organization_id', '=', organizationId).where('account_id', '=', accountId);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  return query.orderBy('id', 'desc').limit(limit).execute();
}

export function findAccountResourceStates(db: Db, accountId: string) {
  return db.selectFrom('resources').select(['id', 'native_id', 'content_hash', 'version', 'status']).where('account_id', '=', accountId).execute();
}

/**
 * Gives resources new content and version, seen and recorded at `seenAt` (and active, in case
 * they had gone); the content they had moves to `resource_versions`. One statement: its parts
 * share one snapshot, so the archived rows are the ones before the update.
 */
export async function updateResourcesContent(db: Db, rows: ResourceContentRow[], seenAt: Date): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    with r as materialized (
      select r.* from ${jsonRowsParam(rows.map(contentRowJson))}, jsonb_to_record(s.row::jsonb) as r(${CONTENT_COLUMNS})
    ), archived as (
      insert into resource_versions (resource_id, version, content_hash, name, region, tags, attributes, relationships, recorded_at)
      select resources.id, resources.version, resources.content_hash, resources.name, resources.region, resources.tags,
             resources.attributes, resources.relationships, resources.version_recorded_at
      from resources join r on resources.id = r.id
    )
    update resources set type = r.type, name = r.name, region = r.region, tags = r.tags, attributes = r.attributes,
      relationships = r.relationships, content_hash = r.content_hash, version = r.version, last_seen_at = ${seenAt},
      version_recorded_at = ${seenAt}, status = 'active'
    from r where resources.id = r.id`.execute(db);
}

/** Marks resources seen again, unchanged (and active, in case they had gone). */
export async function markResourcesSeen(db: Db, ids: string[], seenAt: Date): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('resources').set({ last_seen_at: seenAt, status: 'active' }).where('id', '=', sql<string>`any(${ids}::text[])`).execute();
}

/** Marks the account's active resources not seen since `seenAt` as gone; answers how many. */
export async function markUnseenResourcesGone(db: Db, accountId: string, seenAt: Date): Promise<number> {
  const rows = await db
    .updateTable('resources')
    .set({ status: 'gone' })
    .where('account_id', '=', accountId)
    .where('status', '=', 'active')
    .where('last_seen_at', '<', seenAt)
    .returning('id')
    .execute();
  return rows.length;
}

export async function recordAccountImport(db: Db, accountId: string, at: Date): Promise<void> {
  await db.updateTable('accounts').set({ last_import_at: at }).where('id', '=', accountId).execute();
}
