import type { Db } from '../db/database';
import { AppError } from '../errors';
import { findFirstMembershipOfUser } from '../organizations/organizations.repository';
import { assertOrganizationActive } from '../organizations/organizations.service';
import { findUserByUsername } from '../users/users.repository';
import { deleteExpiredRevocations, findMember, insertRevokedToken, isTokenRevoked, type Member } from './auth.repository';
import { signLoginToken, verifyLoginToken, type TokenSettings } from './login-tokens';
import { verifyPassword } from './passwords';
import { authenticateOAuthAccessToken, isOAuthAccessToken } from '../oauth/oauth.service';
import { authenticatePersonalAccessToken, PAT_PREFIX } from '../tokens/tokens.service';
import { PLATFORM_SCOPE, SCOPES_BY_ROLE, type Role, type Scope } from './scopes';

/** What authenticated the request; `id` tells one credential from another (rate limits key on it). */
export type Credential =
  | { kind: 'session'; id: string; expiresAt: Date }
  | { kind: 'personal_access_token'; id: string }
  /** An OAuth 2.0 access token (`ffo_…`); `id` is its row, `clientId` the app it was issued to. */
  | { kind: 'oauth'; id: string; clientId: string; expiresAt: Date };

/** Who is calling, as established from their credentials. */
export interface Principal {
  userId: string;
  organizationId: string;
  role: Role;
  scopes: readonly Scope[];
  /** The user, organization and role rows read while authenticating. */
  member: Member;
  credential: Credential;
  /** How the credentials came: `cookie` requests need a CSRF check when they change state. */
  via: 'authorization_header' | 'cookie';
}

const INVALID_CREDENTIALS = 'The username or password is wrong.';

export async function logIn(db: Db, tokens: TokenSettings, username: string, password: string) {
  const user = await findUserByUsername(db, username);
  const passwordMatches = await verifyPassword(user?.password_hash ?? undefined, password);
  if (!user || !passwordMatches) throw new AppError('invalid_credentials', INVALID_CREDENTIALS);
  const membership = await findFirstMembershipOfUser(db, user.id);
  if (!membership) throw new AppError('invalid_credentials', INVALID_CREDENTIALS);
  // Told only to those who know the password: a guesser learns nothing of the organization.
  assertOrganizationActive(membership.organization_status);
  return { accessToken: await signLoginToken(tokens, user.id, membership.organization_id), expiresIn: tokens.ttlSeconds };
}

/** Turns a bearer token of any kind into a principal, or throws `invalid_token`/`token_expired`. */
export function authenticateBearer(db: Db, tokens: TokenSettings, token: string, via: Principal['via']): Promise<Principal> {
  if (token.startsWith(PAT_PREFIX)) return authenticatePersonalAccessToken(db, token, via);
  if (isOAuthAccessToken(token)) return authenticateOAuthAccessToken(db, token, via);
  return authenticateLoginToken(db, tokens, token, via);
}

/** Turns a login token into a principal, or throws `invalid_token`/`token_expired`. */
export async function authenticateLoginToken(
  db: Db,
  tokens: TokenSettings,
  token: string,
  via: Principal['via'],
): Promise<Principal> {
  const claims = await verifyLoginToken(tokens, token);
  const [member, revoked] = await Promise.all([
    findMember(db, claims.organizationId, claims.userId),
    isTokenRevoked(db, claims.jti),
  ]);
  if (revoked) throw new AppError('invalid_token', 'The token has been revoked by logging out.');
  if (!member) throw new AppError('invalid_token', 'The token belongs to a user who is no longer a member.');
  assertOrganizationActive(member.organization_status);
  return {
    userId: member.user_id,
    organizationId: member.organization_id,
    role: member.role,
    scopes: isPlatformOperator(tokens, member) ? [...SCOPES_BY_ROLE[member.role], PLATFORM_SCOPE] : SCOPES_BY_ROLE[member.role],
    member,
    credential: { kind: 'session', id: claims.jti, expiresAt: claims.expiresAt },
    via,
  };
}

/** Revokes the login token behind the request; other credentials are revoked where they are managed. */
export async function logOut(db: Db, principal: Principal): Promise<void> {
  if (principal.credential.kind !== 'session') return;
  await insertRevokedToken(db, principal.credential.id, principal.credential.expiresAt);
  await deleteExpiredRevocations(db, new Date());
}

/** Platform operators: granted by the command line, or named in PLATFORM_ADMINS. */
function isPlatformOperator(tokens: TokenSettings, member: Member): boolean {
  return member.platform_admin || tokens.platformAdmins.includes(member.username.toLowerCase());
}
