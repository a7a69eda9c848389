// OAuth 2.0 authorization server, built on @node-oauth/oauth2-server (v5).
//
// Why this library rather than oidc-provider: it is a small, maintained, framework-agnostic
// implementation of RFC 6749 (+ RFC 7636 PKCE, S256 only unless told otherwise) driven through
// a *model* of storage functions, so it runs on our Kysely tables and behind our own Express 5
// routes and HTML pages, with no adapter. It consumes a code before checking its PKCE
// verifier and compares verifiers in constant time. oidc-provider is an OpenID Connect
// provider first: it brings its own views, session and interaction model, storage adapter and
// JWT/JWKS machinery, far more than third-party API access needs. What v5 lacks — token
// revocation (RFC 7009), introspection (RFC 7662), metadata (RFC 8414), and reuse detection —
// is done here: codes and refresh tokens are marked used instead of deleted, and presenting a
// used one revokes the whole grant family (RFC 9700 §2.2.2, §4.14).
import OAuth2Server, {
  OAuthError,
  Request as OAuthRequest,
  Response as OAuthResponse,
  type AuthorizationCode,
  type AuthorizationCodeModel,
  type Client,
  type RefreshToken,
  type RefreshTokenModel,
  type Token,
  type User,
} from '@node-oauth/oauth2-server';
import { assertActiveMember, findMembership } from '../auth/auth.service';
import { assertOrganizationActive } from '../organizations/organizations.service';
import type { Principal } from '../http/principal';
import { SCOPES_BY_ROLE, type Role, type Scope } from '../auth/scopes';
import type { Db } from '../db/database';
import { AppError } from '../errors';
import { newId } from '../ids';
import {
  ACCESS_TOKEN_PREFIX,
  CODE_PREFIX,
  REFRESH_TOKEN_PREFIX,
} from './oauth-secrets';
import { generateSecret, hashSecret, secretMatchesHash } from '../secrets';
import {
  findClientById,
  findAccessTokenAndMember,
  findCodeByHash,
  findTokenByAccessHash,
  findTokenByRefreshHash,
  deleteAuthorizationsOfUser,
  insertCode,
  insertToken,
  markCodeUsed,
  markRefreshTokenRotated,
  revokeTokenFamily,
  upsertAuthorization,
  type ClientRow,
  type TokenRow,
} from './oauth.repository';

export const ACCESS_TOKEN_TTL_SECONDS = 3600;
export const REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 3600;
export const CODE_TTL_SECONDS = 60;
const GRANTS = ['authorization_code', 'refresh_token'];

/** The client as the library sees it, with our columns. */
export interface OAuthClient extends Client {
  id: string;
  redirectUris: string[];
  grants: string[];
  organizationId: string;
  name: string;
  clientType: 'confidential' | 'public';
  scopes: Scope[];
}

/** The "user" the library carries through a grant: who, and which grant family it belongs to. */
export interface GrantUser extends User {
  id: string;
  organizationId: string;
  role: Role;
  /** Set once a code exists: the authorization and the grant family (the code's row id). */
  authorizationId?: string;
  familyId?: string;
}

export function toOAuthClient(row: ClientRow): OAuthClient {
  return {
    id: row.id,
    redirectUris: row.redirect_uris,
    grants: GRANTS,
    organizationId: row.organization_id,
    name: row.name,
    clientType: row.client_type,
    scopes: row.scopes as Scope[],
  };
}

/**
 * Authenticates a client at the token, revocation and introspection endpoints: a confidential
 * client by its secret, a public one by its id alone (it has no secret, and must not send one).
 */
export async function authenticateClient(db: Db, clientId: string, clientSecret: string | undefined): Promise<OAuthClient | null> {
  const row = await findClientById(db, clientId);
  if (!row) return null;
  if (row.client_type === 'confidential') {
    if (!clientSecret || !row.secret_hash || !secretMatchesHash(row.secret_hash, clientSecret)) return null;
  } else if (clientSecret) {
    return null;
  }
  return toOAuthClient(row);
}

/** requested ∩ allowed to the client ∩ held by the user's role, in the spec's order; unknown names refuse all. */
export function grantableScopes(requested: readonly string[], client: OAuthClient, role: Role): Scope[] | null {
  const known = new Set<string>(SCOPES_BY_ROLE.owner);
  if (requested.length === 0 || requested.some((scope) => !known.has(scope))) return null;
  const wanted = new Set(requested);
  const allowed = new Set<string>(client.scopes);
  return SCOPES_BY_ROLE[role].filter((scope) => wanted.has(scope) && allowed.has(scope));
}

type Model = AuthorizationCodeModel & RefreshTokenModel;

/**
 * The storage model. `authenticateClients: false` is the authorization endpoint's variant, where
 * the library looks clients up by id only (the user's browser carries no client secret).
 */
function createModel(db: Db, { authenticateClients }: { authenticateClients: boolean }): Model {
  const tokenFor = (row: TokenRow, user: GrantUser) => ({
    scope: row.scopes,
    client: { id: row.client_id, grants: GRANTS } as Client,
    user: user as User,
  });
  const grantUserOf = async (row: { organization_id: string; user_id: string; authorization_id: string }, familyId: string) => {
    const member = await findMembership(db, row.organization_id, row.user_id);
    if (!member) return null;
    assertOrganizationActive(member.organization_status);
    const user: GrantUser = {
      id: member.user_id,
      organizationId: member.organization_id,
      role: member.role,
      authorizationId: row.authorization_id,
      familyId,
    };
    return user;
  };

  return {
    async getClient(clientId, clientSecret) {
      if (!authenticateClients) {
        const row = await findClientById(db, clientId);
        return row ? toOAuthClient(row) : null;
      }
      return authenticateClient(db, clientId, clientSecret || undefined);
    },

    async validateScope(user, client, scope) {
      const granted = grantableScopes(scope ?? [], client as OAuthClient, (user as GrantUser).role);
      return granted && granted.length > 0 ? granted : false;
    },

    async generateAuthorizationCode() {
      return generateSecret(CODE_PREFIX);
    },
    async generateAccessToken() {
      return generateSecret(ACCESS_TOKEN_PREFIX);
    },
    async generateRefreshToken() {
      return generateSecret(REFRESH_TOKEN_PREFIX);
    },

    async saveAuthorizationCode(code, client, user) {
      const grantUser = user as GrantUser;
      const scopes = code.scope ?? [];
      const authorizationId = await upsertAuthorization(db, {
        id: newId('oau'),
        organization_id: grantUser.organizationId,
        user_id: grantUser.id,
        client_id: client.id,
        scopes,
      });
      await insertCode(db, {
        id: newId('ocd'),
        organization_id: grantUser.organizationId,
        authorization_id: authorizationId,
        client_id: client.id,
        user_id: grantUser.id,
        code_hash: hashSecret(code.authorizationCode),
        redirect_uri: code.redirectUri,
        scopes,
        code_challenge: code.codeChallenge ?? null,
        code_challenge_method: code.codeChallengeMethod ?? null,
        expires_at: code.expiresAt,
      });
      return { ...code, client, user };
    },

    async getAuthorizationCode(authorizationCode) {
      const row = await findCodeByHash(db, hashSecret(authorizationCode));
      if (!row) return false;
      if (row.used_at !== null) {
        // A replayed code: whoever holds it may be an attacker, so what it bought is revoked.
        await revokeTokenFamily(db, row.id);
        return false;
      }
      const user = await grantUserOf(row, row.id);
      if (!user) return false;
      const code: AuthorizationCode = {
        authorizationCode,
        expiresAt: row.expires_at,
        redirectUri: row.redirect_uri,
        scope: row.scopes,
        client: { id: row.client_id, grants: GRANTS },
        user,
        ...(row.code_challenge ? { codeChallenge: row.code_challenge, codeChallengeMethod: row.code_challenge_method ?? 'S256' } : {}),
      };
      return code;
    },

    async revokeAuthorizationCode(code) {
      return markCodeUsed(db, hashSecret(code.authorizationCode));
    },

    async saveToken(token, client, user) {
      const grantUser = user as GrantUser;
      if (!grantUser.authorizationId || !grantUser.familyId) throw new Error('saveToken without a grant family');
      await insertToken(db, {
        id: newId('otk'),
        organization_id: grantUser.organizationId,
        authorization_id: grantUser.authorizationId,
        client_id: client.id,
        user_id: grantUser.id,
        family_id: grantUser.familyId,
        access_token_hash: hashSecret(token.accessToken),
        access_expires_at: token.accessTokenExpiresAt ?? new Date(Date.now() + ACCESS_TOKEN_TTL_SECONDS * 1000),
        refresh_token_hash: token.refreshToken ? hashSecret(token.refreshToken) : null,
        refresh_expires_at: token.refreshTokenExpiresAt ?? null,
        scopes: token.scope ?? [],
      });
      return { ...token, client, user };
    },

    async getRefreshToken(refreshToken) {
      const row = await findTokenByRefreshHash(db, hashSecret(refreshToken));
      if (!row || row.revoked_at !== null) return false;
      if (row.rotated_at !== null) {
        // A retired refresh token came back: it was stolen or the client is broken. Revoke the family.
        await revokeTokenFamily(db, row.family_id);
        return false;
      }
      const user = await grantUserOf(row, row.family_id);
      if (!user) return false;
      const token: RefreshToken = { ...tokenFor(row, user), refreshToken, refreshTokenExpiresAt: row.refresh_expires_at ?? undefined };
      return token;
    },

    async revokeToken(token) {
      const retired = await markRefreshTokenRotated(db, hashSecret(token.refreshToken));
      // Lost a race with another use of the same refresh token: treat it as reuse.
      if (!retired) await revokeTokenFamily(db, (token.user as GrantUser).familyId ?? '');
      return retired;
    },

    async getAccessToken(accessToken) {
      const row = await findTokenByAccessHash(db, hashSecret(accessToken));
      if (!row || row.revoked_at !== null) return false;
      const user = await grantUserOf(row, row.family_id);
      if (!user) return false;
      const token: Token = { ...tokenFor(row, user), accessToken, accessTokenExpiresAt: row.access_expires_at };
      return token;
    },
  };
}

const LIBRARY_OPTIONS = {
  accessTokenLifetime: ACCESS_TOKEN_TTL_SECONDS,
  refreshTokenLifetime: REFRESH_TOKEN_TTL_SECONDS,
  authorizationCodeLifetime: CODE_TTL_SECONDS,
  allowEmptyState: false,
  alwaysIssueNewRefreshToken: true,
  // Client authentication is decided per client type by the model: confidential clients must
  // send their secret, public ones must not (they prove possession with PKCE instead).
  requireClientAuthentication: { authorization_code: false, refresh_token: false },
};

export interface OAuthServers {
  /** Drives the authorization endpoint (clients looked up by id). */
  authorization: OAuth2Server;
  /** Drives the token endpoint (clients authenticated). */
  token: OAuth2Server;
}

export function createOAuthServers(db: Db): OAuthServers {
  return {
    authorization: new OAuth2Server({ ...LIBRARY_OPTIONS, model: createModel(db, { authenticateClients: false }) }),
    token: new OAuth2Server({ ...LIBRARY_OPTIONS, model: createModel(db, { authenticateClients: true }) }),
  };
}

export { OAuthError, OAuthRequest, OAuthResponse };

/** Is this bearer token one of ours (an OAuth access token) rather than a login JWT? */
export function isOAuthAccessToken(token: string): boolean {
  return token.startsWith(ACCESS_TOKEN_PREFIX);
}

/**
 * Turns an OAuth access token into a principal. Its scopes are those the token holds that the
 * user's role still grants, so a demoted user's apps lose what the user lost.
 */
export async function authenticateOAuthAccessToken(db: Db, token: string, via: Principal['via']): Promise<Principal> {
  const found = await findAccessTokenAndMember(db, hashSecret(token));
  const row = found?.token;
  if (!row || row.revoked_at !== null) throw new AppError('invalid_token', 'The OAuth access token is unknown or has been revoked.');
  if (row.access_expires_at <= new Date()) throw new AppError('token_expired', 'The OAuth access token has expired. Refresh it.');
  const member = assertActiveMember(found.member);
  const held = new Set(row.scopes);
  return {
    userId: member.user_id,
    organizationId: member.organization_id,
    role: member.role,
    scopes: SCOPES_BY_ROLE[member.role].filter((scope) => held.has(scope)),
    member,
    credential: { kind: 'oauth', id: row.id, clientId: row.client_id, expiresAt: row.access_expires_at },
    via,
  };
}

/** Withdraws every app authorization of the user, with every code and token issued under them (a password change); answers how many. */
export function revokeAllAuthorizationsOfUser(db: Db, userId: string): Promise<number> {
  return deleteAuthorizationsOfUser(db, userId);
}

/** RFC 7009: revokes the family of the token if it is the client's; silent otherwise. */
export async function revokeOAuthToken(db: Db, client: OAuthClient, token: string): Promise<void> {
  const row = await findIssuedToken(db, token);
  if (row && row.client_id === client.id) await revokeTokenFamily(db, row.family_id);
}

export interface Introspection {
  active: boolean;
  scope?: string;
  client_id?: string;
  username?: string;
  token_type?: 'access_token' | 'refresh_token';
  exp?: number;
  iat?: number;
  sub?: string;
  iss?: string;
  organization_id?: string;
}

/** RFC 7662: what the token is, if it is active and the client's own; `{active: false}` otherwise. */
export async function introspectOAuthToken(db: Db, client: OAuthClient, token: string, issuer: string): Promise<Introspection> {
  const row = await findIssuedToken(db, token);
  if (!row || row.client_id !== client.id || row.revoked_at !== null) return { active: false };
  const isRefresh = token.startsWith(REFRESH_TOKEN_PREFIX);
  const expiresAt = isRefresh ? row.refresh_expires_at : row.access_expires_at;
  if (!expiresAt || expiresAt <= new Date() || (isRefresh && row.rotated_at !== null)) return { active: false };
  const member = await findMembership(db, row.organization_id, row.user_id);
  if (!member || member.organization_status !== 'active') return { active: false };
  const held = new Set(row.scopes);
  return {
    active: true,
    scope: SCOPES_BY_ROLE[member.role].filter((scope) => held.has(scope)).join(' '),
    client_id: row.client_id,
    username: member.username,
    token_type: isRefresh ? 'refresh_token' : 'access_token',
    exp: Math.floor(expiresAt.getTime() / 1000),
    iat: Math.floor(row.created_at.getTime() / 1000),
    sub: member.user_id,
    iss: issuer,
    organization_id: member.organization_id,
  };
}

function findIssuedToken(db: Db, token: string) {
  if (token.startsWith(ACCESS_TOKEN_PREFIX)) return findTokenByAccessHash(db, hashSecret(token));
  if (token.startsWith(REFRESH_TOKEN_PREFIX)) return findTokenByRefreshHash(db, hashSecret(token));
  return Promise.resolve(undefined);
}
