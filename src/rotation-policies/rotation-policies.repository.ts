import type { Insertable, Updateable } from 'kysely';
import type { Db } from '../db/database';
import type { RotationPoliciesTable } from '../db/schema';

export function insertRotationPolicy(db: Db, row: Insertable<RotationPoliciesTable>) {
  return db.insertInto('rotation_policies').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findRotationPolicy(db: Db, organizationId: string, id: string) {
  return db.selectFrom('rotation_policies').selectAll().where('organization_id', '=', organizationId).where('id', '=', id).executeTakeFirst();
}

/** Newest first, before the keyset position `beforeId`. */
export function listRotationPolicyRows(db: Db, organizationId: string, limit: number, beforeId?: string) {
  let query = db.selectFrom('rotation_policies').selectAll().where('organization_id', '=', organizationId);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  return query.orderBy('id', 'desc').limit(limit).execute();
}

export function updateRotationPolicyRow(db: Db, organizationId: string, id: string, change: Updateable<RotationPoliciesTable>) {
  return db.updateTable('rotation_policies').set(change).where('organization_id', '=', organizationId).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function deleteRotationPolicyRow(db: Db, organizationId: string, id: string): Promise<boolean> {
  return (await db.deleteFrom('rotation_policies').where('organization_id', '=', organizationId).where('id', '=', id).returning('id').executeTakeFirst()) !== undefined;
}

/** Every enabled policy of active organizations, for the hourly check. */
export function enabledRotationPolicies(db: Db) {
  return db
    .selectFrom('rotation_policies')
    .innerJoin('organizations', 'organizations.id', 'rotation_policies.organization_id')
    .selectAll('rotation_policies')
    .where('rotation_policies.enabled', '=', true)
    .where('organizations.status', '=', 'active')
    .orderBy('rotation_policies.id')
    .execute();
}

/** The organization's active resources of these types. */
export function activeResourcesOfTypes(db: Db, organizationId: string, types: readonly string[]) {
  return db
    .selectFrom('resources')
    .select(['id', 'account_id', 'type', 'name', 'native_id', 'tags', 'attributes'])
    .where('organization_id', '=', organizationId)
    .where('status', '=', 'active')
    .where('type', 'in', [...types])
    .execute();
}

/** The latest rotation of a credential, if any. */
export function latestRotationOf(db: Db, organizationId: string, keyId: string) {
  return db
    .selectFrom('rotations')
    .select(['id', 'status', 'created_at'])
    .where('organization_id', '=', organizationId)
    .where('key_id', '=', keyId)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}
