import type { Db } from '../db/database';
import type { AuditLogTable } from '../db/schema';
import { newId } from '../ids';
import { auditLogKey, chainProblem, entryHash, entryHmac, GENESIS_HASH, type ChainedFields } from './audit-log-chain';
import { chainRows, insertAuditLogRow, listChains, lockChainHead, organizationsOfUsername } from './audit-log.repository';
// Queries other features use as they are.
export { listAuditLogRows, type AuditLogFilter } from './audit-log.repository';

export interface AuditLogEntryInput {
  /** null: an entry of no organization (a login attempt naming no known user). */
  organizationId: string | null;
  actorType: AuditLogTable['actor_type'];
  actorId: string | null;
  userId: string | null;
  action: string;
  targetId: string | null;
  outcome: number;
  requestId: string | null;
  ip: string | null;
  detail?: Record<string, string>;
  occurredAt?: Date;
}

/** Appends one entry to its organization's chain, after the chain's last one, in a transaction of its own. */
export async function recordAuditLogEntry(db: Db, configuredSecret: string, input: AuditLogEntryInput): Promise<string> {
  const key = auditLogKey(configuredSecret);
  const chain = input.organizationId ?? '';
  const id = newId('log');
  await db.transaction().execute(async (trx) => {
    const head = await lockChainHead(trx, chain);
    const fields: ChainedFields = {
      chain,
      sequence: head ? Number(head.sequence) + 1 : 1,
      organization_id: input.organizationId,
      occurred_at: input.occurredAt ?? new Date(),
      actor_type: input.actorType,
      actor_id: input.actorId,
      user_id: input.userId,
      action: input.action,
      target_id: input.targetId,
      outcome: input.outcome,
      request_id: input.requestId,
      ip: input.ip,
      detail: input.detail ?? {},
      previous_hash: head?.hash ?? GENESIS_HASH,
    };
    const hash = entryHash(fields);
    await insertAuditLogRow(trx, { ...fields, id, actor_type: input.actorType, detail: JSON.stringify(fields.detail), hash, hmac: entryHmac(key, hash) });
  });
  return id;
}

/** A login attempt, in the log of every organization the username belongs to (or of none, when it names no user). */
export async function recordLoginAttempt(
  db: Db,
  configuredSecret: string,
  attempt: { action: string; username: string | undefined; outcome: number; requestId: string | null; ip: string | null },
): Promise<void> {
  const memberships = attempt.username ? await organizationsOfUsername(db, attempt.username) : [];
  const common = { action: attempt.action, targetId: null, outcome: attempt.outcome, requestId: attempt.requestId, ip: attempt.ip, detail: (attempt.username ? { username: attempt.username } : {}) as Record<string, string> };
  if (memberships.length === 0) {
    await recordAuditLogEntry(db, configuredSecret, { ...common, organizationId: null, actorType: 'anonymous', actorId: null, userId: null });
    return;
  }
  for (const { organization_id, user_id } of memberships) {
    await recordAuditLogEntry(db, configuredSecret, { ...common, organizationId: organization_id, actorType: 'user', actorId: null, userId: user_id });
  }
}

const BATCH = 500;

/** The organization's chain in order (optionally bounded in time), read `BATCH` entries at a time. */
export async function* chainEntries(db: Db, chain: string, bounds: { since?: Date; until?: Date } = {}) {
  let after = 0;
  for (;;) {
    const rows = await chainRows(db, chain, after, BATCH, bounds);
    yield* rows;
    if (rows.length < BATCH) return;
    after = Number(rows[rows.length - 1]!.sequence);
  }
}

export interface ChainVerification {
  chain: string;
  entries: number;
  /** The first entry that does not continue the chain, and why; undefined when the whole chain holds. */
  broken?: { id: string; sequence: number; problem: string };
}

/** Checks every chain (or one organization's) entry by entry: sequence, link to the previous hash, own hash, HMAC. */
export async function verifyAuditLog(db: Db, configuredSecret: string, organizationId?: string): Promise<ChainVerification[]> {
  const key = auditLogKey(configuredSecret);
  const chains = organizationId !== undefined ? [organizationId] : await listChains(db);
  const results: ChainVerification[] = [];
  for (const chain of chains) {
    let previousHash = GENESIS_HASH;
    let expected = 1;
    const result: ChainVerification = { chain, entries: 0 };
    for await (const row of chainEntries(db, chain)) {
      const entry = { ...row, sequence: Number(row.sequence) };
      const problem = chainProblem(key, entry, previousHash, expected);
      result.entries += 1;
      if (problem) {
        result.broken = { id: row.id, sequence: entry.sequence, problem };
        break;
      }
      previousHash = row.hash;
      expected += 1;
    }
    results.push(result);
  }
  return results;
}
