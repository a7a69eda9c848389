import { sql, type Insertable } from 'kysely';
import type { Db, Trx } from '../db/database';
import type { RotationRow, RotationsTable, RotationStatus, RotationStepData } from '../db/schema';

export function insertRotation(trx: Trx, row: Insertable<RotationsTable>): Promise<RotationRow> {
  return trx.insertInto('rotations').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findRotation(db: Db, organizationId: string, id: string) {
  return db.selectFrom('rotations').selectAll().where('organization_id', '=', organizationId).where('id', '=', id).executeTakeFirst();
}

export function findRotationById(db: Db, id: string) {
  return db.selectFrom('rotations').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The credential's rotation that runs or waits to revoke, if any. */
export function findActiveRotation(db: Db, organizationId: string, applicationId: string, keyId: string) {
  return db
    .selectFrom('rotations')
    .select(['id', 'status'])
    .where('organization_id', '=', organizationId)
    .where('application_id', '=', applicationId)
    .where('key_id', '=', keyId)
    .where('status', 'in', ['running', 'revoke_scheduled'])
    .executeTakeFirst();
}

/** Newest first, before the keyset position `beforeId`. */
export function listRotations(db: Db, organizationId: string, filter: { status?: RotationStatus }, limit: number, beforeId?: string) {
  let query = db.selectFrom('rotations').selectAll().where('organization_id', '=', organizationId);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  return query.orderBy('id', 'desc').limit(limit).execute();
}

export interface RotationChange {
  status?: RotationStatus;
  steps?: RotationStepData[];
  new_key_id?: string | null;
  new_expires_at?: Date | null;
  revoke_at?: Date | null;
  error?: { step: RotationStepData['name']; message: string } | null;
  finished_at?: Date | null;
}

export function updateRotation(db: Db, id: string, change: RotationChange) {
  const { steps, error, ...rest } = change;
  return db
    .updateTable('rotations')
    .set({
      ...rest,
      ...(steps !== undefined ? { steps: JSON.stringify(steps) } : {}),
      ...(error !== undefined ? { error: error === null ? null : JSON.stringify(error) } : {}),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Takes a rotation whose old password is due for removal, so that one worker alone removes it; undefined when another did. */
export function claimDueRevoke(db: Db, id: string, now: Date) {
  return db
    .updateTable('rotations')
    .set({ status: 'running' })
    .where('id', '=', id)
    .where('status', '=', 'revoke_scheduled')
    .where('revoke_at', '<=', now)
    .returningAll()
    .executeTakeFirst();
}

export async function dueRevokeIds(db: Db, now: Date): Promise<string[]> {
  const rows = await db.selectFrom('rotations').select('id').where('status', '=', 'revoke_scheduled').where('revoke_at', '<=', now).orderBy('revoke_at').limit(100).execute();
  return rows.map((row) => row.id);
}

/** The account a rotation runs through, for the worker (which has no caller). */
export function findRotationAccount(db: Db, organizationId: string, accountId: string) {
  return db.selectFrom('accounts').selectAll().where('organization_id', '=', organizationId).where('id', '=', accountId).executeTakeFirst();
}

/**
 * Rotations whose process stopped mid-way (still `running` long after any request could have
 * ended), taken one at a time: a creation (no `revoke_at`) is failed, a removal scheduled again.
 */
export function claimInterruptedRotation(db: Db, id: string, staleBefore: Date) {
  return db
    .updateTable('rotations')
    .set({ status: sql<RotationStatus>`case when revoke_at is null then 'failed' else 'revoke_scheduled' end` })
    .where('id', '=', id)
    .where('status', '=', 'running')
    .where((eb) => eb.or([eb.and([eb('revoke_at', 'is', null), eb('created_at', '<', staleBefore)]), eb('revoke_at', '<', staleBefore)]))
    .returningAll()
    .executeTakeFirst();
}

export async function interruptedRotationIds(db: Db, staleBefore: Date): Promise<string[]> {
  const rows = await db
    .selectFrom('rotations')
    .select('id')
    .where('status', '=', 'running')
    .where((eb) => eb.or([eb.and([eb('revoke_at', 'is', null), eb('created_at', '<', staleBefore)]), eb('revoke_at', '<', staleBefore)]))
    .limit(100)
    .execute();
  return rows.map((row) => row.id);
}
