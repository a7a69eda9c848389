import { sql } from 'kysely';
import type { Db, Trx } from '../db/database';

const LIMIT_COLUMNS = ['max_resources', 'max_resource_attribute_bytes', 'max_queued_jobs', 'max_report_bytes'] as const;

/** The limits a platform operator set for the organization (null each: the default); undefined when it does not exist. */
export function findLimitOverrides(db: Db, organizationId: string) {
  return db.selectFrom('organizations').select(LIMIT_COLUMNS).where('id', '=', organizationId).executeTakeFirst();
}

/**
 * The same, with the organization's row locked until the transaction ends, so that the
 * organization's requests checking one limit at once do so one after the other, each seeing
 * what the one before it wrote. `no key update` leaves inserts referencing it unblocked.
 */
export function lockLimitOverrides(trx: Trx, organizationId: string) {
  return trx.selectFrom('organizations').select(LIMIT_COLUMNS).where('id', '=', organizationId).forNoKeyUpdate().executeTakeFirst();
}

export async function updateLimitOverrides(
  db: Db,
  organizationId: string,
  change: Partial<Record<(typeof LIMIT_COLUMNS)[number], number | null>>,
): Promise<void> {
  if (Object.keys(change).length === 0) return;
  await db.updateTable('organizations').set({ ...change, updated_at: new Date() }).where('id', '=', organizationId).execute();
}

/** Resources of the organization that are not gone. */
export async function countResources(db: Db, organizationId: string): Promise<number> {
  const row = await db
    .selectFrom('resources')
    .select(sql<string>`count(*)`.as('count'))
    .where('organization_id', '=', organizationId)
    .where('status', '<>', 'gone')
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Audits, reports and imports of the organization that are queued or running. */
export async function countUnfinishedJobs(db: Db, organizationId: string): Promise<number> {
  const { rows } = await sql<{ count: string }>`
    select (select count(*) from audits where organization_id = ${organizationId} and status in ('queued', 'running'))
         + (select count(*) from reports where organization_id = ${organizationId} and status in ('queued', 'generating'))
         + (select count(*) from imports where organization_id = ${organizationId} and status in ('queued', 'running')) as count
  `.execute(db);
  return Number(rows[0]?.count ?? 0);
}

/** Bytes of the organization's stored report files. */
export async function sumReportBytes(db: Db, organizationId: string): Promise<number> {
  const row = await db
    .selectFrom('reports')
    .select(sql<string>`coalesce(sum(size_bytes), 0)`.as('bytes'))
    .where('organization_id', '=', organizationId)
    .executeTakeFirstOrThrow();
  return Number(row.bytes);
}
