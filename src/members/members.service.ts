import { findMembership } from '../auth/auth.service';
import type { Principal } from '../http/principal';
import type { TokenSettings } from '../auth/login-tokens';
import { startSession, type SessionClient } from '../auth/sessions.service';
import { hashPassword } from '../users/passwords';
import type { Role } from '../auth/scopes';
import type { Db, Trx } from '../db/database';
import { AppError } from '../errors';
import type { Schemas } from '../http/contract';
import { newId } from '../ids';
import { assertOrganizationActive, insertMembership } from '../organizations/organizations.service';
import { generateSecret, hashSecret } from '../secrets';
import { findUserByUsername, insertUser, setPasswordHash } from '../users/users.service';
import {
  deleteMembership,
  deleteUserWithoutMemberships,
  claimInvitation,
  findMemberRow,
  insertInvitation,
  lockOwners,
  updateRole,
  type MemberRow,
} from './members.repository';

export const INVITATION_PREFIX = 'ffi_';
const INVITATION_LIFETIME_MS = 7 * 86_400_000;

/** Adds a user to the caller's organization, with a password or a one-time invitation. */
export async function addMember(db: Db, principal: Principal, input: Schemas['MemberCreate'], platformAdmins: readonly string[]) {
  assertMayGrant(principal, input.role);
  assertNotReservedForOperator(platformAdmins, input.username);
  return db.transaction().execute((trx) => insertMember(trx, principal.organizationId, input));
}

/**
 * Creates a user who is a member of the organization, with a password or a one-time invitation
 * (answered once). Run it inside a transaction: it writes up to three rows.
 */
export async function insertMember(trx: Db, organizationId: string, input: Schemas['MemberCreate']) {
  const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
  const invitationSecret = input.password === undefined ? generateSecret(INVITATION_PREFIX) : undefined;
  const expiresAt = new Date(Date.now() + INVITATION_LIFETIME_MS);
  const userId = newId('usr');
  try {
    if (await findUserByUsername(trx, input.username)) throw usernameTaken(input.username);
    await insertUser(trx, { id: userId, username: input.username, password_hash: passwordHash });
  } catch (error) {
    // Two concurrent adds of one username: the unique index decides.
    if ((error as { code?: string }).code === '23505') throw usernameTaken(input.username);
    throw error;
  }
  await insertMembership(trx, { organization_id: organizationId, user_id: userId, role: input.role });
  if (invitationSecret) {
    await insertInvitation(trx, { token_hash: hashSecret(invitationSecret), organization_id: organizationId, user_id: userId, expires_at: expiresAt });
  }
  const member = (await findMemberRow(trx, organizationId, userId)) as MemberRow;
  return { member, invitation: invitationSecret ? { token: invitationSecret, expiresAt } : null };
}

export async function changeRole(db: Db, principal: Principal, userId: string, role: Role): Promise<MemberRow> {
  return db.transaction().execute(async (trx) => {
    const target = await requireMember(trx, principal, userId);
    if (target.role === role) return target;
    if (target.role === 'owner') assertMayGrant(principal, 'owner');
    assertMayGrant(principal, role);
    if (target.role === 'owner') await assertNotLastOwner(trx, principal.organizationId, userId, 'demoted');
    await updateRole(trx, principal.organizationId, userId, role);
    return { ...target, role };
  });
}

/** Removes a member; a user left in no organization is deleted with them. */
export async function removeMember(db: Db, principal: Principal, userId: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const target = await requireMember(trx, principal, userId);
    if (target.role === 'owner') {
      assertMayGrant(principal, 'owner');
      await assertNotLastOwner(trx, principal.organizationId, userId, 'removed');
    }
    await deleteMembership(trx, principal.organizationId, userId);
    await deleteUserWithoutMemberships(trx, userId);
  });
}

/** Redeems an invitation: sets the password and logs the new member in. */
export async function acceptInvitation(db: Db, tokens: TokenSettings, secret: string, password: string, client: SessionClient) {
  const tokenHash = hashSecret(secret);
  const passwordHash = await hashPassword(password);
  const invitation = await db.transaction().execute(async (trx) => {
    const found = await claimInvitation(trx, tokenHash);
    if (!found) throw new AppError('invalid_token', 'The invitation is not valid: unknown or already accepted.');
    // Throwing rolls the claim back: an expired invitation stays (and stays expired).
    if (found.expires_at <= new Date()) throw new AppError('token_expired', 'The invitation has expired; ask for a new one.');
    // Refused, not spent: the invitation works again once the organization is reinstated.
    const member = await findMembership(trx, found.organization_id, found.user_id);
    if (member) assertOrganizationActive(member.organization_status);
    await setPasswordHash(trx, found.user_id, passwordHash);
    return found;
  });
  return startSession(db, tokens, { userId: invitation.user_id, organizationId: invitation.organization_id }, client);
}

export async function requireMember(db: Db, principal: Principal, userId: string): Promise<MemberRow> {
  const member = await findMemberRow(db, principal.organizationId, userId);
  if (!member) throw new AppError('not_found', `No member ${userId} in this organization.`);
  return member;
}

/** Only owners make, unmake or remove owners. */
function assertMayGrant(principal: Principal, role: Role): void {
  if (role === 'owner' && principal.role !== 'owner') {
    throw new AppError('forbidden', 'Only an owner can make someone an owner, or change or remove an owner.');
  }
}

async function assertNotLastOwner(trx: Trx, organizationId: string, userId: string, action: string): Promise<void> {
  const owners = await lockOwners(trx, organizationId);
  if (owners.length === 1 && owners[0] === userId) {
    throw new AppError('last_owner', `The last owner cannot be ${action}; make another member an owner first.`);
  }
}

/**
 * PLATFORM_ADMINS names operators by username, so a name on it that no user holds yet is kept for
 * its operator: whoever took it first would be a platform operator. Only operators create it.
 */
export function assertNotReservedForOperator(platformAdmins: readonly string[], username: string): void {
  if (platformAdmins.includes(username.toLowerCase())) throw usernameTaken(username);
}

function usernameTaken(username: string): AppError {
  return new AppError('username_taken', `The username ${username} is taken.`, [{ field: 'body.username', issue: 'already taken' }]);
}
