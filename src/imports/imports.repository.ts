import type { Insertable } from 'kysely';
import type { Db, Trx } from '../db/database';
import type { ImportRow, ImportsTable } from '../db/schema';
import type { Schemas } from '../http/contract';
import type { CanonicalResource, ImportProblem } from './canonical-resource';

const PENDING = ['queued', 'running'] as const;

export function insertImport(db: Db, row: Insertable<ImportsTable>) {
  return db.insertInto('imports').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function insertImportPayload(db: Db, importId: string, resources: CanonicalResource[]): Promise<void> {
  await db.insertInto('import_payloads').values({ import_id: importId, resources: JSON.stringify(resources), document: null }).execute();
}

/** Stores a queued import's file as it was sent (UTF-8 JSON bytes), for a worker to parse again. */
export async function insertImportDocument(db: Db, importId: string, document: Buffer): Promise<void> {
  await db.insertInto('import_payloads').values({ import_id: importId, resources: null, document }).execute();
}

/** A queued import's payload: its canonical resources, or the file it was sent as. */
export type ImportPayload = { resources: CanonicalResource[] } | { document: Buffer };

/** Removes and answers a queued import's payload (undefined once an attempt has written it). */
export async function takeImportPayload(db: Db, importId: string): Promise<ImportPayload | undefined> {
  const row = await db.deleteFrom('import_payloads').where('import_id', '=', importId).returning(['resources', 'document']).executeTakeFirst();
  if (!row) return undefined;
  return row.document ? { document: Buffer.from(row.document) } : { resources: JSON.parse(row.resources ?? '[]') as CanonicalResource[] };
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

/** Removes a queued import's resources; answers whether they were there. */
export async function deleteImportPayload(db: Db, importId: string): Promise<boolean> {
  const result = await db.deleteFrom('import_payloads').where('import_id', '=', importId).executeTakeFirst();
  return result.numDeletedRows > 0n;
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
