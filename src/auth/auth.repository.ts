import type { Db } from '../db/database';
import type { Member } from '../http/principal';

/** The user and their role in the organization, or nothing when either is gone. */
export function findMember(db: Db, organizationId: string, userId: string): Promise<Member | undefined> {
  return db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .innerJoin('organizations', 'organizations.id', 'memberships.organization_id')
    .select([
      'users.id as user_id',
      'users.username',
      'users.created_at as user_created_at',
      'users.platform_admin',
      'organizations.id as organization_id',
      'organizations.name as organization_name',
      'organizations.created_at as organization_created_at',
      'organizations.updated_at as organization_updated_at',
      'organizations.status as organization_status',
      'memberships.role',
    ])
    .where('memberships.organization_id', '=', organizationId)
    .where('memberships.user_id', '=', userId)
    .executeTakeFirst();
}

