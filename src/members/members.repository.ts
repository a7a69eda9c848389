import type { Db, Trx } from '../db/database';
import type { MembershipsTable } from '../db/schema';

type Role = MembershipsTable['role'];

function selectMembers(db: Db, organizationId: string) {
  return db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select((eb) => [
      'memberships.user_id',
      'users.username',
      'memberships.role',
      'memberships.created_at',
      eb('users.password_hash', 'is', null).as('invited'),
    ])
    .where('memberships.organization_id', '=', organizationId);
}

export type MemberRow = Awaited<ReturnType<typeof findMemberRow>> & object;

/** Members in user-id order (user ids are ULIDs, so oldest first), after the keyset position `afterUserId`. */
export function listMembers(db: Db, organizationId: string, filter: { role?: Role }, limit: number, afterUserId?: string) {
  let query = selectMembers(db, organizationId);
  if (filter.role) query = query.where('memberships.role', '=', filter.role);
  if (afterUserId !== undefined) query = query.where('memberships.user_id', '>', afterUserId);
  return query.orderBy('memberships.user_id').limit(limit).execute();
}

export function findMemberRow(db: Db, organizationId: string, userId: string) {
  return selectMembers(db, organizationId).where('memberships.user_id', '=', userId).executeTakeFirst();
}

/** The organization's owners, locked until the transaction ends so two demotions cannot both pass. */
export async function lockOwners(trx: Trx, organizationId: string): Promise<string[]> {
  const rows = await trx
    .selectFrom('memberships')
    .select('user_id')
    .where('organization_id', '=', organizationId)
    .where('role', '=', 'owner')
    .forUpdate()
    .execute();
  return rows.map((row) => row.user_id);
}

export async function updateRole(db: Db, organizationId: string, userId: string, role: Role): Promise<void> {
  await db
    .updateTable('memberships')
    .set({ role })
    .where('organization_id', '=', organizationId)
    .where('user_id', '=', userId)
    .execute();
}

/** Removes the membership; its tokens and invitation go with it (foreign keys cascade). */
export async function deleteMembership(db: Db, organizationId: string, userId: string): Promise<void> {
  await db.deleteFrom('memberships').where('organization_id', '=', organizationId).where('user_id', '=', userId).execute();
}

export async function deleteUserWithoutMemberships(db: Db, userId: string): Promise<void> {
  await db
    .deleteFrom('users')
    .where('id', '=', userId)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('memberships').select('user_id').where('user_id', '=', userId))))
    .execute();
}

export async function insertInvitation(
  db: Db,
  invitation: { token_hash: string; organization_id: string; user_id: string; expires_at: Date },
): Promise<void> {
  await db.insertInto('invitations').values(invitation).execute();
}

/** Takes the invitation out of the store and answers it: of two concurrent claims, one gets it. */
export function claimInvitation(db: Db, tokenHash: string) {
  return db.deleteFrom('invitations').where('token_hash', '=', tokenHash).returningAll().executeTakeFirst();
}

