import { endSessionsOfUser } from '../auth/sessions.service';
import type { Db } from '../db/database';
import { AppError } from '../errors';
import type { Schemas } from '../http/contract';
import type { Principal } from '../http/principal';
import { revokeAllAuthorizationsOfUser } from '../oauth/oauth.service';
import { revokeAllTokensOfUser } from '../tokens/tokens.service';
import { generatePassword, hashPassword, verifyPassword } from '../users/passwords';
import { findUserById, findUserByUsername, setPasswordHash } from '../users/users.service';

// The credentials of a user die with their password: whoever stole a session, a token or an app's
// grant while the old password was known keeps none of them once it changes.

export type RevokedCredentials = Schemas['RevokedCredentials'];

/**
 * Ends the user's login sessions (but `keepSessionId`) and, with `tokens`, revokes their personal
 * access tokens and withdraws their OAuth app authorizations; in every organization.
 */
async function revokeCredentials(db: Db, userId: string, options: { keepSessionId?: string; tokens: boolean }): Promise<RevokedCredentials> {
  return {
    sessions: await endSessionsOfUser(db, userId, options.keepSessionId),
    personal_access_tokens: options.tokens ? await revokeAllTokensOfUser(db, userId) : 0,
    oauth_authorizations: options.tokens ? await revokeAllAuthorizationsOfUser(db, userId) : 0,
  };
}

/**
 * The caller changes their own password, proving the current one. The session that asks stays;
 * every other session ends, and unless `keep_tokens` so do their tokens and app authorizations.
 */
export async function changePassword(db: Db, principal: Principal, input: Schemas['PasswordChange']): Promise<RevokedCredentials> {
  const user = await findUserById(db, principal.userId);
  if (!user || !(await verifyPassword(user.password_hash ?? undefined, input.current_password))) {
    throw new AppError('validation_failed', 'The current password is wrong.', [
      { field: 'body.current_password', issue: 'is not your current password' },
    ]);
  }
  const passwordHash = await hashPassword(input.new_password);
  const keepSessionId = principal.credential.kind === 'session' ? principal.credential.id : undefined;
  return db.transaction().execute(async (trx) => {
    await setPasswordHash(trx, user.id, passwordHash);
    return revokeCredentials(trx, user.id, { keepSessionId, tokens: !input.keep_tokens });
  });
}

/**
 * An operator gives a user a new generated password (answered once); every session of the user
 * ends, and unless `keepTokens` so do their tokens and app authorizations. 404 when there is no such user.
 */
export async function resetPassword(db: Db, username: string, options: { keepTokens: boolean }) {
  const found = await findUserByUsername(db, username);
  if (!found) throw new AppError('not_found', `No user ${username}.`);
  const password = generatePassword();
  const passwordHash = await hashPassword(password);
  const revoked = await db.transaction().execute(async (trx) => {
    await setPasswordHash(trx, found.id, passwordHash);
    return revokeCredentials(trx, found.id, { tokens: !options.keepTokens });
  });
  return { userId: found.id, username: found.username, password, revoked };
}

/** Signs the caller out everywhere: every login session of theirs ends, and with `tokens` their tokens and app authorizations. */
export function signOutEverywhere(db: Db, principal: Principal, options: { tokens: boolean }): Promise<RevokedCredentials> {
  return db.transaction().execute((trx) => revokeCredentials(trx, principal.userId, { tokens: options.tokens }));
}
