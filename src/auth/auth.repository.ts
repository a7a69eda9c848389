import { sql } from 'kysely';
import type { Db } from '../db/database';
import { memberSubquery } from '../db/member-query';
import type { Member } from '../http/principal';

/** The user and their role in the organization, or nothing when either is gone. */
export async function findMember(db: Db, organizationId: string, userId: string): Promise<Member | undefined> {
  const { rows } = await sql<Member>`select member.* from ${memberSubquery(organizationId, userId)} as member`.execute(db);
  return rows[0];
}
