import type { Db } from '../db/database';

export interface IdempotencyScope {
  organizationId: string;
  userId: string;
  key: string;
}

const inScope = (scope: IdempotencyScope) => ({ organization_id: scope.organizationId, user_id: scope.userId, key: scope.key });

/**
 * Claims the key for a first request: answers true when it was free or its previous use has
 * expired (made before `expiredBefore`), false when a live use holds it.
 */
export async function claimIdempotencyKey(
  db: Db,
  scope: IdempotencyScope,
  request: { operationId: string; requestHash: string; at: Date; expiredBefore: Date },
): Promise<boolean> {
  const fresh = { operation_id: request.operationId, request_hash: request.requestHash, response_status: null, response_location: null, response_body: null, created_at: request.at };
  const row = await db
    .insertInto('idempotency_keys')
    .values({ ...inScope(scope), ...fresh })
    .onConflict((conflict) =>
      conflict.columns(['organization_id', 'user_id', 'key']).doUpdateSet(fresh).where('idempotency_keys.created_at', '<', request.expiredBefore),
    )
    .returning('key')
    .executeTakeFirst();
  return row !== undefined;
}

export function findIdempotencyKey(db: Db, scope: IdempotencyScope) {
  return db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('organization_id', '=', scope.organizationId)
    .where('user_id', '=', scope.userId)
    .where('key', '=', scope.key)
    .executeTakeFirst();
}

export async function saveIdempotentResponse(db: Db, scope: IdempotencyScope, response: { status: number; location: string | null; body: unknown }): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({ response_status: response.status, response_location: response.location, response_body: JSON.stringify(response.body ?? null) })
    .where('organization_id', '=', scope.organizationId)
    .where('user_id', '=', scope.userId)
    .where('key', '=', scope.key)
    .execute();
}

/** Frees the key of a request that failed unexpectedly, so that its retry does the work. */
export async function releaseIdempotencyKey(db: Db, scope: IdempotencyScope): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where('organization_id', '=', scope.organizationId)
    .where('user_id', '=', scope.userId)
    .where('key', '=', scope.key)
    .execute();
}
