import type { Principal } from '../http/principal';
import { assertActiveMember } from '../auth/auth.service';
import { PLATFORM_SCOPE, SCOPES_BY_ROLE, type Scope } from '../auth/scopes';
import type { Db } from '../db/database';
import { AppError } from '../errors';
import type { Schemas } from '../http/contract';
import { newId } from '../ids';
import { generateSecret, hashSecret, hasValidChecksum } from '../secrets';
import { findTokenAndMemberByHash, insertToken, revokeTokensOfUser } from './tokens.repository';

export const PAT_PREFIX = 'ffp_';
const DEFAULT_LIFETIME_DAYS = 90;
const DAY_MS = 86_400_000;

/** Creates a token acting as the caller, with at most the scopes the caller's credentials hold. */
export async function createPersonalAccessToken(
  db: Db,
  principal: Principal,
  input: Schemas['PersonalAccessTokenCreate'],
  options: { allowNoExpiry: boolean; now: Date },
) {
  // An operator's session holds platform:admin, but a token must not carry it: a leaked token
  // would be a key to every organization.
  if (input.scopes.includes(PLATFORM_SCOPE)) {
    throw new AppError('scope_not_held', `No personal access token can carry ${PLATFORM_SCOPE}: the platform operations take login sessions only.`, [
      { field: 'body.scopes', issue: `${PLATFORM_SCOPE} cannot be put in a token` },
    ]);
  }
  const notHeld = input.scopes.filter((scope) => !principal.scopes.includes(scope));
  if (notHeld.length > 0) {
    throw new AppError(
      'scope_not_held',
      `A token can hold only scopes your credentials hold; yours lack ${notHeld.join(', ')}.`,
      notHeld.map((scope) => ({ field: 'body.scopes', issue: `${scope} is not held by the caller` })),
    );
  }
  const secret = generateSecret(PAT_PREFIX);
  const row = await insertToken(db, {
    id: newId('pat'),
    organization_id: principal.organizationId,
    user_id: principal.userId,
    name: input.name.trim(),
    token_hash: hashSecret(secret),
    prefix: secret.slice(0, PAT_PREFIX.length + 8),
    scopes: input.scopes,
    expires_at: expiryOf(input, options),
  });
  return { row, secret };
}

function expiryOf(
  input: Schemas['PersonalAccessTokenCreate'],
  { allowNoExpiry, now }: { allowNoExpiry: boolean; now: Date },
): Date | null {
  if (input.expires_at !== undefined && input.expires_in_days !== undefined) {
    throw new AppError('validation_failed', 'Give expires_at or expires_in_days, not both.', [
      { field: 'body.expires_in_days', issue: 'not allowed together with expires_at' },
    ]);
  }
  if (input.expires_at === null) {
    if (!allowNoExpiry) {
      throw new AppError('validation_failed', 'This server does not allow tokens that never expire.', [
        { field: 'body.expires_at', issue: 'null (never) is not allowed here; give a date' },
      ]);
    }
    return null;
  }
  if (input.expires_at !== undefined) {
    const expiresAt = new Date(input.expires_at);
    if (expiresAt <= now) {
      throw new AppError('validation_failed', 'expires_at must be in the future.', [
        { field: 'body.expires_at', issue: 'must be in the future' },
      ]);
    }
    return expiresAt;
  }
  return new Date(now.getTime() + (input.expires_in_days ?? DEFAULT_LIFETIME_DAYS) * DAY_MS);
}

/** Turns a personal access token into a principal whose scopes are capped by the owner's current role. */
export async function authenticatePersonalAccessToken(db: Db, secret: string, via: Principal['via']): Promise<Principal> {
  if (!hasValidChecksum(secret, PAT_PREFIX)) {
    throw new AppError('invalid_token', 'The token is not valid: it is not a fourfold personal access token.');
  }
  const now = new Date();
  const found = await findTokenAndMemberByHash(db, hashSecret(secret), now);
  if (!found) throw new AppError('invalid_token', 'The token is not valid: no such personal access token.');
  const { token } = found;
  if (token.revoked_at) throw new AppError('invalid_token', 'The personal access token has been revoked.');
  if (token.expires_at && token.expires_at <= now) {
    throw new AppError('token_expired', 'The personal access token has expired. Create a new one.');
  }
  const member = assertActiveMember(found.member);
  const roleScopes: readonly Scope[] = SCOPES_BY_ROLE[member.role];
  return {
    userId: member.user_id,
    organizationId: member.organization_id,
    role: member.role,
    scopes: token.scopes.filter((scope) => roleScopes.includes(scope)),
    member,
    credential: { kind: 'personal_access_token', id: token.id, expiresAt: token.expires_at },
    via,
  };
}

/** Revokes every personal access token of the user (a password change); answers how many. */
export function revokeAllTokensOfUser(db: Db, userId: string): Promise<number> {
  return revokeTokensOfUser(db, userId);
}
