import { sql } from 'kysely';
import type { Db, Trx } from '../db/database';
import type { OrganizationsTable } from '../db/schema';

type Status = OrganizationsTable['status']['__select__'];

function selectOrganizations(db: Db) {
  return db
    .selectFrom('organizations')
    .selectAll('organizations')
    .select((eb) =>
      eb
        .selectFrom('memberships')
        .select(sql<number>`count(*)::int`.as('count'))
        .whereRef('memberships.organization_id', '=', 'organizations.id')
        .as('member_count'),
    );
}

export type PlatformOrganizationRow = Awaited<ReturnType<typeof findPlatformOrganization>> & object;

/** Organizations in id order (ULIDs: oldest first), after the keyset position `afterId`. */
export function listPlatformOrganizations(db: Db, filter: { status?: Status }, limit: number, afterId?: string) {
  let query = selectOrganizations(db);
  if (filter.status) query = query.where('organizations.status', '=', filter.status);
  if (afterId !== undefined) query = query.where('organizations.id', '>', afterId);
  return query.orderBy('organizations.id').limit(limit).execute();
}

export function findPlatformOrganization(db: Db, id: string) {
  return selectOrganizations(db).where('organizations.id', '=', id).executeTakeFirst();
}

export async function isSlugTaken(db: Db, slug: string): Promise<boolean> {
  const row = await db.selectFrom('organizations').select('id').where('slug', '=', slug).executeTakeFirst();
  return row !== undefined;
}

/** The organization's status, its row locked until the transaction ends. */
export function lockOrganization(trx: Trx, id: string) {
  return trx.selectFrom('organizations').select(['id', 'status']).where('id', '=', id).forUpdate().executeTakeFirst();
}

export async function updatePlatformOrganization(db: Db, id: string, change: { name?: string; status?: Status }): Promise<void> {
  await db
    .updateTable('organizations')
    .set((eb) => ({
      updated_at: new Date(),
      ...(change.name !== undefined ? { name: change.name } : {}),
      ...(change.status !== undefined
        ? {
            status: change.status,
            // A repeated suspension keeps the time it began.
            suspended_at: change.status === 'suspended' ? eb.fn.coalesce('suspended_at', sql<Date>`now()`) : null,
          }
        : {}),
    }))
    .where('id', '=', id)
    .execute();
}

/**
 * Deletes the organization: every row that references it goes with it (foreign keys cascade),
 * and so do its members who belong to no other organization.
 */
export async function deleteOrganizationAndMembers(db: Db, id: string): Promise<void> {
  await db
    .deleteFrom('users')
    .where((eb) =>
      eb.and([
        eb.exists(eb.selectFrom('memberships as m').select('m.user_id').whereRef('m.user_id', '=', 'users.id').where('m.organization_id', '=', id)),
        eb.not(eb.exists(eb.selectFrom('memberships as o').select('o.user_id').whereRef('o.user_id', '=', 'users.id').where('o.organization_id', '<>', id))),
      ]),
    )
    .execute();
  // The organization's audit-log chain goes with it: the log's trigger allows only this deletion.
  await sql`select set_config('fourfold.erasing_chain', ${id}, true)`.execute(db);
  await db.deleteFrom('audit_log').where('chain', '=', id).execute();
  await db.deleteFrom('organizations').where('id', '=', id).execute();
}

/** Grants or withdraws the platform operator role; answers whether the user exists. */
export async function setPlatformAdmin(db: Db, username: string, platformAdmin: boolean): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({ platform_admin: platformAdmin, updated_at: new Date() })
    .where(sql<string>`lower(username)`, '=', username.toLowerCase())
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
