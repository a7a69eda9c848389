import { sql } from 'kysely';
import type { Db } from '../db/database';
import type { MembershipsTable } from '../db/schema';

export async function insertOrganization(db: Db, organization: { id: string; name: string; slug: string }): Promise<void> {
  await db.insertInto('organizations').values(organization).execute();
}

export async function insertMembership(
  db: Db,
  membership: { organization_id: string; user_id: string; role: MembershipsTable['role'] },
): Promise<void> {
  await db.insertInto('memberships').values(membership).execute();
}

export function findOrganizationById(db: Db, id: string) {
  return db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The organization a user logs in to: their oldest membership. */
export function findFirstMembershipOfUser(db: Db, userId: string) {
  return db
    .selectFrom('memberships')
    .innerJoin('organizations', 'organizations.id', 'memberships.organization_id')
    .select(['memberships.organization_id', 'memberships.role', 'organizations.status as organization_status'])
    .where('memberships.user_id', '=', userId)
    .orderBy('memberships.created_at')
    .orderBy('memberships.organization_id')
    .limit(1)
    .executeTakeFirst();
}

export function updateOrganization(db: Db, id: string, change: { name?: string; risk_acceptance_max_days?: number }) {
  return db
    .updateTable('organizations')
    .set({ ...change, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Serializes first-start bootstraps of concurrent processes until the transaction ends. */
export async function lockFirstOwnerBootstrap(trx: Db): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext('fourfold.bootstrap'))`.execute(trx);
}
