import { parse as parseCookies } from 'cookie';
import type { Request } from 'express';
import type { Db } from '../db/database';
import { SESSION_COOKIE } from '../http/authenticate';
import type { Member, Principal } from '../http/principal';
import { AppError } from '../errors';
import { assertOrganizationActive, findFirstMembershipOfUser } from '../organizations/organizations.service';
import { findUserByUsername } from '../users/users.service';
import { findMember } from './auth.repository';
import { verifyLoginToken, type TokenSettings } from './login-tokens';
import { startSession, type SessionClient } from './sessions.service';
import { touchSessionAndFindMember } from './sessions.repository';
import { verifyPassword } from '../users/passwords';
import { PLATFORM_SCOPE, SCOPES_BY_ROLE } from './scopes';

const INVALID_CREDENTIALS = 'The username or password is wrong.';

export async function logIn(db: Db, tokens: TokenSettings, username: string, password: string, client: SessionClient) {
  const user = await findUserByUsername(db, username);
  const passwordMatches = await verifyPassword(user?.password_hash ?? undefined, password);
  if (!user || !passwordMatches) throw new AppError('invalid_credentials', INVALID_CREDENTIALS);
  const membership = await findFirstMembershipOfUser(db, user.id);
  if (!membership) throw new AppError('invalid_credentials', INVALID_CREDENTIALS);
  // Told only to those who know the password: a guesser learns nothing of the organization.
  assertOrganizationActive(membership.organization_status);
  return startSession(db, tokens, { userId: user.id, organizationId: membership.organization_id }, client);
}

/** The user and their role in the organization, or undefined when either is gone. */
export function findMembership(db: Db, organizationId: string, userId: string): Promise<Member | undefined> {
  return findMember(db, organizationId, userId);
}

/**
 * The member a credential was issued to, as it is now: `invalid_token` when they are no longer a
 * member, `organization_suspended` when their organization is suspended.
 */
export function assertActiveMember(member: Member | undefined): Member {
  if (!member) throw new AppError('invalid_token', 'The token belongs to a user who is no longer a member.');
  assertOrganizationActive(member.organization_status);
  return member;
}

/** Turns a login token into a principal, or throws `invalid_token`/`token_expired`. */
export async function authenticateLoginToken(
  db: Db,
  tokens: TokenSettings,
  token: string,
  via: Principal['via'],
): Promise<Principal> {
  const claims = await verifyLoginToken(tokens, token);
  const { member: found, active } = await touchSessionAndFindMember(db, claims.jti, claims.organizationId, claims.userId, new Date());
  // An ended session is refused as such (401) even where the organization is suspended (403).
  if (!active) {
    throw new AppError('invalid_token', 'The session of this token has ended: it was logged out, or revoked by a password change or by signing out everywhere. Log in again.');
  }
  const member = assertActiveMember(found);
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

/**
 * The browser session from the `fourfold_session` cookie alone (never a bearer header), for
 * pages of public operations that act for the logged-in user, such as the OAuth consent page.
 * Undefined when there is none or it is no longer valid.
 */
export async function browserSession(db: Db, tokens: TokenSettings, req: Request): Promise<Principal | undefined> {
  const cookie = req.headers.cookie ? parseCookies(req.headers.cookie)[SESSION_COOKIE] : undefined;
  if (!cookie) return undefined;
  try {
    return await authenticateLoginToken(db, tokens, cookie, 'cookie');
  } catch (error) {
    if (error instanceof AppError) return undefined;
    throw error;
  }
}

/** Platform operators: granted by the command line, or named in PLATFORM_ADMINS. */
function isPlatformOperator(tokens: TokenSettings, member: Member): boolean {
  return member.platform_admin || tokens.platformAdmins.includes(member.username.toLowerCase());
}
