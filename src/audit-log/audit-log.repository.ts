import { sql } from 'kysely';
import type { Db, Trx } from '../db/database';
import type { AuditLogTable } from '../db/schema';

export type NewAuditLogRow = Omit<AuditLogTable, 'sequence' | 'occurred_at' | 'detail'> & { sequence: number; occurred_at: Date; detail: string };

/**
 * Waits until no other transaction appends to `chain`, then answers its last entry: appends to
 * one chain happen one after the other (a transaction-scoped advisory lock, released at commit).
 */
export async function lockChainHead(trx: Trx, chain: string) {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`fourfold audit_log ${chain}`}, 0))`.execute(trx);
  return trx.selectFrom('audit_log').select(['sequence', 'hash']).where('chain', '=', chain).orderBy('sequence', 'desc').limit(1).executeTakeFirst();
}

export async function insertAuditLogRow(trx: Trx, row: NewAuditLogRow): Promise<void> {
  await trx.insertInto('audit_log').values(row).execute();
}

export interface AuditLogFilter {
  actor?: string;
  action?: string;
  target?: string;
  since?: Date;
  until?: Date;
}

/** The organization's entries matching `filter`, newest first, after the keyset position `beforeSequence`. */
export function listAuditLogRows(db: Db, organizationId: string, filter: AuditLogFilter, limit: number, beforeSequence?: number) {
  let query = db.selectFrom('audit_log').selectAll().where('organization_id', '=', organizationId);
  if (filter.actor !== undefined) {
    const actor = filter.actor;
    query = actor === 'system' ? query.where('actor_type', '=', 'system') : query.where((eb) => eb.or([eb('actor_id', '=', actor), eb('user_id', '=', actor)]));
  }
  if (filter.action !== undefined) query = query.where('action', '=', filter.action);
  if (filter.target !== undefined) query = query.where('target_id', '=', filter.target);
  if (filter.since !== undefined) query = query.where('occurred_at', '>=', filter.since);
  if (filter.until !== undefined) query = query.where('occurred_at', '<', filter.until);
  if (beforeSequence !== undefined) query = query.where('sequence', '<', beforeSequence);
  return query.orderBy('sequence', 'desc').limit(limit).execute();
}

/** One chain's entries in order, from `afterSequence`, `limit` at a time (export and verification read chains in such batches). */
export function chainRows(db: Db, chain: string, afterSequence: number, limit: number, bounds: { since?: Date; until?: Date } = {}) {
  let query = db.selectFrom('audit_log').selectAll().where('chain', '=', chain).where('sequence', '>', afterSequence);
  if (bounds.since !== undefined) query = query.where('occurred_at', '>=', bounds.since);
  if (bounds.until !== undefined) query = query.where('occurred_at', '<', bounds.until);
  return query.orderBy('sequence').limit(limit).execute();
}

export async function listChains(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('audit_log').select('chain').distinct().orderBy('chain').execute();
  return rows.map((row) => row.chain);
}

/** The organizations a username (case-insensitive) is a member of: a login attempt is recorded in each one's log. */
export async function organizationsOfUsername(db: Db, username: string) {
  return db
    .selectFrom('users')
    .innerJoin('memberships', 'memberships.user_id', 'users.id')
    .select(['users.id as user_id', 'memberships.organization_id'])
    .where(sql<string>`lower(users.username)`, '=', username.toLowerCase())
    .execute();
}
