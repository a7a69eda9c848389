import { sql } from 'kysely';
import type { Db } from '../db/database';
import type { Insertable } from 'kysely';
import { memberOfRow, memberSubquery } from '../db/member-query';
import type { OAuthCodesTable, OAuthTokensTable } from '../db/schema';
import type { Member } from '../http/principal';

// All SQL of the OAuth feature. Queries of tenant data through the API (`/v1/...`) filter by the
// caller's organization; the protocol endpoints look clients, codes and tokens up by id or hash,
// and the service checks that the organization matches.

export interface NewClient {
  id: string;
  organization_id: string;
  name: string;
  client_type: 'confidential' | 'public';
  secret_hash: string | null;
  redirect_uris: string[];
  scopes: string[];
}

const CLIENT_COLUMNS = ['id', 'organization_id', 'name', 'client_type', 'secret_hash', 'redirect_uris', 'scopes', 'created_at', 'updated_at'] as const;

export function insertClient(db: Db, client: NewClient) {
  return db
    .insertInto('oauth_clients')
    .values({ ...client, redirect_uris: JSON.stringify(client.redirect_uris), scopes: JSON.stringify(client.scopes) })
    .returning(CLIENT_COLUMNS)
    .executeTakeFirstOrThrow();
}

/** A page of the organization's clients, newest first (ids are ULIDs), after the cursor's id. */
export function listClients(db: Db, organizationId: string, limit: number, afterId: string | undefined) {
  let query = db.selectFrom('oauth_clients').select(CLIENT_COLUMNS).where('organization_id', '=', organizationId);
  if (afterId !== undefined) query = query.where('id', '<', afterId);
  return query.orderBy('id', 'desc').limit(limit).execute();
}

export function findClient(db: Db, organizationId: string, id: string) {
  return db
    .selectFrom('oauth_clients')
    .select(CLIENT_COLUMNS)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** For the protocol endpoints, where the client id comes before any organization is known. */
export function findClientById(db: Db, id: string) {
  return db.selectFrom('oauth_clients').select(CLIENT_COLUMNS).where('id', '=', id).executeTakeFirst();
}

export type ClientRow = NonNullable<Awaited<ReturnType<typeof findClientById>>>;

export async function deleteClient(db: Db, organizationId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('oauth_clients').where('organization_id', '=', organizationId).where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Records (or renews) a user's approval of a client; answers the authorization's id. */
export async function upsertAuthorization(
  db: Db,
  row: { id: string; organization_id: string; user_id: string; client_id: string; scopes: string[] },
): Promise<string> {
  const scopes = JSON.stringify(row.scopes);
  const result = await db
    .insertInto('oauth_authorizations')
    .values({ ...row, scopes })
    .onConflict((oc) => oc.columns(['client_id', 'user_id']).doUpdateSet({ scopes, updated_at: sql<Date>`now()` }))
    .returning('id')
    .executeTakeFirstOrThrow();
  return result.id;
}

/** A page of the user's authorizations in the organization, newest first, after the cursor's id. */
export function listAuthorizations(db: Db, organizationId: string, userId: string, limit: number, afterId: string | undefined) {
  let query = db
    .selectFrom('oauth_authorizations as a')
    .innerJoin('oauth_clients as c', 'c.id', 'a.client_id')
    .select(['a.id', 'a.client_id', 'c.name as client_name', 'a.scopes', 'a.created_at', 'a.updated_at'])
    .where('a.organization_id', '=', organizationId)
    .where('a.user_id', '=', userId);
  if (afterId !== undefined) query = query.where('a.id', '<', afterId);
  return query.orderBy('a.id', 'desc').limit(limit).execute();
}

/** Deletes the authorization and, by cascade, every code and token issued under it. */
export async function deleteAuthorization(db: Db, organizationId: string, userId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('oauth_authorizations')
    .where('organization_id', '=', organizationId)
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function insertCode(db: Db, row: Omit<Insertable<OAuthCodesTable>, 'scopes'> & { scopes: string[] }): Promise<void> {
  await db
    .insertInto('oauth_codes')
    .values({ ...row, scopes: JSON.stringify(row.scopes) })
    .execute();
}

export function findCodeByHash(db: Db, codeHash: string) {
  return db.selectFrom('oauth_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
}

/** Marks the code used; false when it already was (so only one exchange can win a race). */
export async function markCodeUsed(db: Db, codeHash: string): Promise<boolean> {
  const result = await db
    .updateTable('oauth_codes')
    .set({ used_at: sql<Date>`now()` })
    .where('code_hash', '=', codeHash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function insertToken(db: Db, row: Omit<Insertable<OAuthTokensTable>, 'scopes'> & { scopes: string[] }): Promise<void> {
  await db
    .insertInto('oauth_tokens')
    .values({ ...row, scopes: JSON.stringify(row.scopes) })
    .execute();
}

export function findTokenByAccessHash(db: Db, accessTokenHash: string) {
  return db.selectFrom('oauth_tokens').selectAll().where('access_token_hash', '=', accessTokenHash).executeTakeFirst();
}

export function findTokenByRefreshHash(db: Db, refreshTokenHash: string) {
  return db.selectFrom('oauth_tokens').selectAll().where('refresh_token_hash', '=', refreshTokenHash).executeTakeFirst();
}

export type TokenRow = NonNullable<Awaited<ReturnType<typeof findTokenByAccessHash>>>;

type AccessTokenRow = Pick<TokenRow, 'id' | 'client_id' | 'scopes' | 'revoked_at' | 'access_expires_at'>;

/**
 * The access token with this hash and the member it acts for (see `memberSubquery`), in one
 * statement: authenticating an OAuth access token is one round trip.
 */
export async function findAccessTokenAndMember(db: Db, accessTokenHash: string): Promise<{ token: AccessTokenRow; member: Member | undefined } | undefined> {
  const { rows } = await sql<Partial<Member> & { token_id: string; token_client_id: string; token_scopes: TokenRow['scopes']; token_revoked_at: Date | null; token_access_expires_at: Date }>`
    select token.id as token_id, token.client_id as token_client_id, token.scopes as token_scopes,
      token.revoked_at as token_revoked_at, token.access_expires_at as token_access_expires_at, member.*
    from oauth_tokens as token
    left join lateral ${memberSubquery(sql.ref('token.organization_id'), sql.ref('token.user_id'))} as member on true
    where token.access_token_hash = ${accessTokenHash}`.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  const { token_id: id, token_client_id: client_id, token_scopes: scopes, token_revoked_at: revoked_at, token_access_expires_at: access_expires_at, ...member } = row;
  return { token: { id, client_id, scopes, revoked_at, access_expires_at }, member: memberOfRow(member) };
}

/** Retires a refresh token on use; false when it already was retired or revoked. */
export async function markRefreshTokenRotated(db: Db, refreshTokenHash: string): Promise<boolean> {
  const result = await db
    .updateTable('oauth_tokens')
    .set({ rotated_at: sql<Date>`now()` })
    .where('refresh_token_hash', '=', refreshTokenHash)
    .where('rotated_at', 'is', null)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Revokes every token of a grant family (all issued from one authorization code). */
export async function revokeTokenFamily(db: Db, familyId: string): Promise<number> {
  const result = await db
    .updateTable('oauth_tokens')
    .set({ revoked_at: sql<Date>`now()` })
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Deletes every authorization of the user, in every organization, with their codes and tokens; answers how many. */
export async function deleteAuthorizationsOfUser(db: Db, userId: string): Promise<number> {
  const result = await db.deleteFrom('oauth_authorizations').where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows);
}
