import type { Insertable } from 'kysely';
import type { Db, Trx } from '../db/database';
import type { ScanCountsData, ScanFailureData, ScanRow, ScansTable, ScanStatus, ScanUnitData } from '../db/schema';

export function insertScan(db: Db, row: Insertable<ScansTable>): Promise<ScanRow> {
  return db.insertInto('scans').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findScan(db: Db, organizationId: string, id: string) {
  return db.selectFrom('scans').selectAll().where('organization_id', '=', organizationId).where('id', '=', id).executeTakeFirst();
}

export function findScanById(db: Db, id: string) {
  return db.selectFrom('scans').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The account's queued or running scan, if any. */
export function findActiveScan(db: Db, accountId: string) {
  return db.selectFrom('scans').selectAll().where('account_id', '=', accountId).where('status', 'in', ['queued', 'running']).executeTakeFirst();
}

export interface ScanFilter {
  accountId?: string;
  status?: ScanStatus;
}

/** Newest first, before the keyset position `beforeId`. */
export function listScans(db: Db, organizationId: string, filter: ScanFilter, limit: number, beforeId?: string) {
  let query = db.selectFrom('scans').selectAll().where('organization_id', '=', organizationId);
  if (filter.accountId) query = query.where('account_id', '=', filter.accountId);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  return query.orderBy('id', 'desc').limit(limit).execute();
}

/** Marks a queued scan (or one whose earlier attempt's worker stopped) running; undefined when it was canceled or has ended. */
export function startScanRow(db: Db, id: string) {
  return db
    .updateTable('scans')
    .set({ status: 'running', started_at: new Date(), units: '[]', failures: '[]', requests: 0 })
    .where('id', '=', id)
    .where('status', 'in', ['queued', 'running'])
    .returningAll()
    .executeTakeFirst();
}

/** Saves a running scan's progress; answers false when it is no longer running (canceled). */
export async function saveScanProgress(db: Db, id: string, units: ScanUnitData[], requests: number): Promise<boolean> {
  const row = await db
    .updateTable('scans')
    .set({ units: JSON.stringify(units), requests })
    .where('id', '=', id)
    .where('status', '=', 'running')
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Locks a running scan for the rest of the transaction; undefined when it is not running. */
export function lockRunningScan(trx: Trx, id: string) {
  return trx.selectFrom('scans').selectAll().where('id', '=', id).where('status', '=', 'running').forUpdate().executeTakeFirst();
}

export async function finishScanRow(
  db: Db,
  id: string,
  end: {
    status: ScanStatus;
    units?: ScanUnitData[];
    failures?: ScanFailureData[];
    counts?: ScanCountsData | null;
    requests?: number;
    error_code?: string | null;
    error_message?: string | null;
    audit_id?: string | null;
  },
): Promise<ScanRow | undefined> {
  return db
    .updateTable('scans')
    .set({
      status: end.status,
      finished_at: new Date(),
      ...(end.units ? { units: JSON.stringify(end.units) } : {}),
      ...(end.failures ? { failures: JSON.stringify(end.failures) } : {}),
      ...(end.counts !== undefined ? { counts: end.counts === null ? null : JSON.stringify(end.counts) } : {}),
      ...(end.requests !== undefined ? { requests: end.requests } : {}),
      ...(end.error_code !== undefined ? { error_code: end.error_code, error_message: end.error_message ?? null } : {}),
      ...(end.audit_id !== undefined ? { audit_id: end.audit_id } : {}),
    })
    .where('id', '=', id)
    .where('status', 'in', ['queued', 'running'])
    .returningAll()
    .executeTakeFirst();
}

/** When the account's last succeeded (or partially succeeded) scan started: incremental scans read what changed since. */
export async function lastSuccessfulScanStart(db: Db, accountId: string): Promise<Date | null> {
  const row = await db
    .selectFrom('scans')
    .select('started_at')
    .where('account_id', '=', accountId)
    .where('status', 'in', ['succeeded', 'partially_succeeded'])
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.started_at ?? null;
}

/** The account a scan reads, whatever its organization (the scan's job names it). */
export function findAccountById(db: Db, id: string) {
  return db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
}
