import type { Db } from '../db/database';
import type { PersonalAccessTokensTable } from '../db/schema';
import type { Insertable } from 'kysely';

export function insertToken(db: Db, token: Insertable<PersonalAccessTokensTable>) {
  return db.insertInto('personal_access_tokens').values(token).returningAll().executeTakeFirstOrThrow();
}

/** The owner's tokens that are not revoked, newest first, after the keyset position `afterId`. */
export function listTokens(db: Db, organizationId: string, userId: string, limit: number, afterId?: string) {
  let query = db
    .selectFrom('personal_access_tokens')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (afterId !== undefined) query = query.where('id', '<', afterId);
  return query.orderBy('id', 'desc').limit(limit).execute();
}

export function findToken(db: Db, organizationId: string, userId: string, id: string) {
  return db
    .selectFrom('personal_access_tokens')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}

export async function revokeToken(db: Db, organizationId: string, userId: string, id: string): Promise<boolean> {
  const revoked = await db
    .updateTable('personal_access_tokens')
    .set({ revoked_at: new Date() })
    .where('organization_id', '=', organizationId)
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return revoked !== undefined;
}

export function findTokenByHash(db: Db, tokenHash: string) {
  return db.selectFrom('personal_access_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

/** Records a use, at most once a minute per token, so busy CI jobs do not write on every request. */
export async function recordTokenUse(db: Db, id: string, now: Date): Promise<void> {
  await db
    .updateTable('personal_access_tokens')
    .set({ last_used_at: now })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', new Date(now.getTime() - 60_000))]))
    .execute();
}

/** Revokes every unrevoked token of the user, in every organization; answers how many. */
export async function revokeTokensOfUser(db: Db, userId: string): Promise<number> {
  const revoked = await db
    .updateTable('personal_access_tokens')
    .set({ revoked_at: new Date() })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(revoked.numUpdatedRows);
}
