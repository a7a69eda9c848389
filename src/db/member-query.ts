import { sql, type RawBuilder } from 'kysely';

/**
 * The subquery of the member a credential names (the `Member` of src/http/principal.ts): the
 * user, their organization and their role in it, no row when either is gone. The credential's
 * repository joins it (`left join lateral ... on true`) to the row it reads, so that
 * authenticating is one round trip.
 */
export function memberSubquery(organizationId: RawBuilder<unknown> | string, userId: RawBuilder<unknown> | string): RawBuilder<unknown> {
  return sql`(
    select users.id as user_id, users.username, users.created_at as user_created_at, users.platform_admin,
      organizations.id as organization_id, organizations.name as organization_name,
      organizations.created_at as organization_created_at, organizations.updated_at as organization_updated_at,
      organizations.status as organization_status, memberships.role
    from memberships
    join users on users.id = memberships.user_id
    join organizations on organizations.id = memberships.organization_id
    where memberships.organization_id = ${organizationId} and memberships.user_id = ${userId}
  )`;
}

/** The member of a row read with `memberSubquery` left-joined (`member.*`), or undefined when there is none. */
export function memberOfRow<Member extends { user_id: string }>(row: Partial<Member>): Member | undefined {
  return row.user_id === null || row.user_id === undefined ? undefined : (row as Member);
}
