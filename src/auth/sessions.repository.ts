import { sql, type Insertable } from 'kysely';
import type { Db } from '../db/database';
import { memberOfRow, memberSubquery } from '../db/member-query';
import type { SessionsTable } from '../db/schema';
import type { Member } from '../http/principal';

// Uses are recorded at most this often, so a busy session does not write on every request.
const LAST_USED_RESOLUTION_MS = 60_000;

export async function insertSession(db: Db, session: Insertable<SessionsTable>): Promise<void> {
  await db.insertInto('sessions').values(session).execute();
}

/**
 * Whether the session exists (is not ended) for this user, and the member its token names (see
 * `memberSubquery`); records the session's use in the same statement (at most once a minute), so
 * authenticating a login token is one round trip to the database.
 */
export async function touchSessionAndFindMember(
  db: Db,
  id: string,
  organizationId: string,
  userId: string,
  now: Date,
): Promise<{ active: boolean; member: Member | undefined }> {
  const { rows } = await sql<Partial<Member> & { session_active: boolean }>`
    with touched as (
      update sessions set last_used_at = ${now}
      where id = ${id} and user_id = ${userId} and last_used_at < ${new Date(now.getTime() - LAST_USED_RESOLUTION_MS)}
      returning id
    )
    select exists (select 1 from sessions where id = ${id} and user_id = ${userId} and expires_at > ${now}) as session_active,
      member.*
    from (select 1) as one
    left join lateral ${memberSubquery(organizationId, userId)} as member on true`.execute(db);
  const { session_active: active, ...member } = rows[0]!;
  return { active, member: memberOfRow(member) };
}

/** The user's unexpired sessions in the organization, newest first, after the keyset position `afterId`. */
export function listSessions(db: Db, organizationId: string, userId: string, now: Date, limit: number, afterId?: string) {
  let query = db
    .selectFrom('sessions')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('user_id', '=', userId)
    .where('expires_at', '>', now);
  if (afterId !== undefined) query = query.where('id', '<', afterId);
  return query.orderBy('id', 'desc').limit(limit).execute();
}

/** Ends one of the user's sessions in the organization; false when there is no such session. */
export async function deleteSession(db: Db, organizationId: string, userId: string, id: string, now: Date): Promise<boolean> {
  const deleted = await db
    .deleteFrom('sessions')
    .where('organization_id', '=', organizationId)
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .returning('expires_at')
    .executeTakeFirst();
  return deleted !== undefined && deleted.expires_at > now;
}

/** Ends every session of the user (in every organization) but `exceptId`; answers how many were still valid. */
export async function deleteSessionsOfUser(db: Db, userId: string, now: Date, exceptId?: string): Promise<number> {
  let query = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (exceptId !== undefined) query = query.where('id', '<>', exceptId);
  const deleted = await query.returning('expires_at').execute();
  return deleted.filter((row) => row.expires_at > now).length;
}

/** Sessions that have expired are dead weight; their JWTs are refused by their own expiry. */
export async function deleteExpiredSessionsOfUser(db: Db, userId: string, now: Date): Promise<void> {
  await db.deleteFrom('sessions').where('user_id', '=', userId).where('expires_at', '<=', now).execute();
}
