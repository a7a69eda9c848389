import type { Db, Trx } from '../db/database';
import type { AccountConnectionRow, AccountConnectionsTable } from '../db/schema';
import type { Insertable } from 'kysely';

export function findConnection(db: Db, organizationId: string, accountId: string) {
  return db.selectFrom('account_connections').selectAll().where('organization_id', '=', organizationId).where('account_id', '=', accountId).executeTakeFirst();
}

export async function upsertConnection(db: Db, row: Insertable<AccountConnectionsTable>): Promise<AccountConnectionRow> {
  const { account_id: _accountId, organization_id: _organizationId, created_at: _createdAt, ...changes } = row;
  return db
    .insertInto('account_connections')
    .values(row)
    .onConflict((oc) => oc.column('account_id').doUpdateSet(changes))
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteConnection(db: Db, organizationId: string, accountId: string): Promise<boolean> {
  const rows = await db.deleteFrom('account_connections').where('organization_id', '=', organizationId).where('account_id', '=', accountId).returning('account_id').execute();
  return rows.length > 0;
}

/** Connected account ids of the organization, oldest account first. */
export async function connectedAccountIds(db: Db, organizationId: string): Promise<string[]> {
  const rows = await db.selectFrom('account_connections').select('account_id').where('organization_id', '=', organizationId).orderBy('account_id').execute();
  return rows.map((row) => row.account_id);
}

/** Connections whose secret is encrypted under another key than `keyId`. */
export function connectionsNotUnderKey(db: Db, keyId: string) {
  return db
    .selectFrom('account_connections')
    .select(['account_id', 'secret_encrypted', 'secret_key_id'])
    .where('secret_encrypted', 'is not', null)
    .where('secret_key_id', '!=', keyId)
    .execute();
}

export async function updateConnectionSecret(db: Db, accountId: string, encrypted: string, keyId: string): Promise<void> {
  await db.updateTable('account_connections').set({ secret_encrypted: encrypted, secret_key_id: keyId }).where('account_id', '=', accountId).execute();
}

export async function findAwsExternalId(db: Db, organizationId: string): Promise<string | undefined> {
  const row = await db.selectFrom('discovery_settings').select('aws_external_id').where('organization_id', '=', organizationId).executeTakeFirst();
  return row?.aws_external_id;
}

export async function insertAwsExternalId(db: Db, organizationId: string, externalId: string): Promise<string> {
  await db.insertInto('discovery_settings').values({ organization_id: organizationId, aws_external_id: externalId }).onConflict((oc) => oc.column('organization_id').doNothing()).execute();
  return (await findAwsExternalId(db, organizationId))!;
}

/** Scheduled connections due at `now`, earliest first, with their organization's status. */
export function dueScheduledConnections(db: Db, now: Date, limit: number) {
  return db
    .selectFrom('account_connections')
    .innerJoin('organizations', 'organizations.id', 'account_connections.organization_id')
    .select([
      'account_connections.account_id',
      'account_connections.organization_id',
      'account_connections.scan_schedule',
      'account_connections.next_scan_at',
      'organizations.status as organization_status',
    ])
    .where('account_connections.next_scan_at', '<=', now)
    .orderBy('account_connections.next_scan_at')
    .limit(limit)
    .execute();
}

/**
 * Moves a connection's schedule from `due` to `next`, only if it is still at `due`: of processes
 * that found the same due schedule, one moves it and answers true; the others answer false.
 */
export async function claimScheduledScan(trx: Trx, accountId: string, due: Date, next: Date | null): Promise<boolean> {
  const row = await trx.updateTable('account_connections').set({ next_scan_at: next }).where('account_id', '=', accountId).where('next_scan_at', '=', due).returning('account_id').executeTakeFirst();
  return row !== undefined;
}

/** Connections with a schedule but no next time (stored before schedules ran). */
export function unscheduledConnections(db: Db, limit: number) {
  return db
    .selectFrom('account_connections')
    .select(['account_id', 'scan_schedule'])
    .where('scan_schedule', 'is not', null)
    .where('next_scan_at', 'is', null)
    .limit(limit)
    .execute();
}

export async function setFirstScanTime(db: Db, accountId: string, next: Date): Promise<void> {
  await db.updateTable('account_connections').set({ next_scan_at: next }).where('account_id', '=', accountId).where('next_scan_at', 'is', null).execute();
}
