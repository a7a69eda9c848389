import { sql, type Insertable, type Selectable } from 'kysely';
import type { Db } from '../db/database';
import { memberOfRow, memberSubquery } from '../db/member-query';
import type { PersonalAccessTokensTable } from '../db/schema';
import type { Member } from '../http/principal';

// Uses are recorded at most this often, so a busy token does not write on every request.
const LAST_USED_RESOLUTION_MS = 60_000;

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

/** What authenticating a token needs to know: the token, and the member it acts for as they are now. */
export interface TokenAndMember {
  token: Pick<Selectable<PersonalAccessTokensTable>, 'id' | 'scopes' | 'revoked_at' | 'expires_at'>;
  member: Member | undefined;
}

type TokenAndMemberRow = Partial<Member> & {
  token_id: string;
  token_scopes: PersonalAccessTokensTable['scopes'];
  token_revoked_at: Date | null;
  token_expires_at: Date | null;
};

/**
 * The token with this hash and the member it acts for (see `memberSubquery`), in one statement
 * that also records the use of a valid token, at most once a minute, so that busy CI jobs do not
 * write on every request: authenticating a personal access token is one round trip.
 */
export async function findTokenAndMemberByHash(db: Db, tokenHash: string, now: Date): Promise<TokenAndMember | undefined> {
  const { rows } = await sql<TokenAndMemberRow>`
    with token as (
      select id, organization_id, user_id, scopes, revoked_at, expires_at from personal_access_tokens where token_hash = ${tokenHash}
    ), touched as (
      update personal_access_tokens set last_used_at = ${now}
      where id = (select id from token) and revoked_at is null and (expires_at is null or expires_at > ${now})
        and (last_used_at is null or last_used_at < ${new Date(now.getTime() - LAST_USED_RESOLUTION_MS)})
      returning id
    )
    select token.id as token_id, token.scopes as token_scopes, token.revoked_at as token_revoked_at, token.expires_at as token_expires_at, member.*
    from token left join lateral ${memberSubquery(sql.ref('token.organization_id'), sql.ref('token.user_id'))} as member on true`.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  const { token_id: id, token_scopes: scopes, token_revoked_at: revoked_at, token_expires_at: expires_at, ...member } = row;
  return { token: { id, scopes, revoked_at, expires_at }, member: memberOfRow(member) };
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
