import { isIP } from 'node:net';
import type { Db } from '../db/database';
import type { Principal } from '../http/principal';
import { newId } from '../ids';
import { loginTokenExpiry, signLoginToken, type TokenSettings } from './login-tokens';
import { deleteExpiredSessionsOfUser, deleteSession, deleteSessionsOfUser, insertSession } from './sessions.repository';

/** What a session records of the client that opened it, for its owner to recognise it. */
export interface SessionClient {
  userAgent: string | null;
  ipAddress: string | null;
}

const USER_AGENT_MAX = 512;

/** Opens a login session for the member and answers its login token (a JWT whose `jti` is the session's id). */
export async function startSession(
  db: Db,
  tokens: TokenSettings,
  member: { userId: string; organizationId: string },
  client: SessionClient,
): Promise<{ accessToken: string; expiresIn: number }> {
  const now = new Date();
  const id = newId('ses');
  await deleteExpiredSessionsOfUser(db, member.userId, now);
  await insertSession(db, {
    id,
    organization_id: member.organizationId,
    user_id: member.userId,
    expires_at: loginTokenExpiry(tokens, now),
    // eslint-disable-next-line no-control-regex
    user_agent: client.userAgent?.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, USER_AGENT_MAX) || null,
    ip_address: client.ipAddress && isIP(client.ipAddress) ? client.ipAddress : null,
  });
  const accessToken = await signLoginToken(tokens, { id, userId: member.userId, organizationId: member.organizationId, issuedAt: now });
  return { accessToken, expiresIn: tokens.ttlSeconds };
}

/** Ends the login session behind the request; other credentials are revoked where they are managed. */
export async function endCurrentSession(db: Db, principal: Principal): Promise<void> {
  if (principal.credential.kind !== 'session') return;
  await deleteSession(db, principal.organizationId, principal.userId, principal.credential.id, new Date());
}

/** Ends one of the caller's sessions in their organization; false when they have no such session. */
export function endSession(db: Db, principal: Principal, id: string): Promise<boolean> {
  return deleteSession(db, principal.organizationId, principal.userId, id, new Date());
}

/**
 * Ends every login session of the user, in every organization (they are the person's, and so is
 * the password), but `exceptId`; answers how many had not expired.
 */
export function endSessionsOfUser(db: Db, userId: string, exceptId?: string): Promise<number> {
  return deleteSessionsOfUser(db, userId, new Date(), exceptId);
}
