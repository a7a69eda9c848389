import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { stableJson } from '../stable-json';

/** `previous_hash` of a chain's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** What an entry says, which its hash covers (everything but `id`, `hash` and `hmac`). */
export interface ChainedFields {
  chain: string;
  sequence: number;
  organization_id: string | null;
  occurred_at: Date;
  actor_type: string;
  actor_id: string | null;
  user_id: string | null;
  action: string;
  target_id: string | null;
  outcome: number;
  request_id: string | null;
  ip: string | null;
  detail: Record<string, unknown>;
  previous_hash: string;
}

/** The HMAC key, derived from the configured secret for this purpose only (as `secrets.ts` derives its keys). */
export function auditLogKey(configuredSecret: string): Buffer {
  return createHash('sha256').update(`fourfold audit-log\0${configuredSecret}`).digest();
}

export function entryHash(fields: ChainedFields): string {
  const covered: ChainedFields = {
    chain: fields.chain,
    sequence: fields.sequence,
    organization_id: fields.organization_id,
    occurred_at: fields.occurred_at,
    actor_type: fields.actor_type,
    actor_id: fields.actor_id,
    user_id: fields.user_id,
    action: fields.action,
    target_id: fields.target_id,
    outcome: fields.outcome,
    request_id: fields.request_id,
    ip: fields.ip,
    detail: fields.detail,
    previous_hash: fields.previous_hash,
  };
  return createHash('sha256').update(stableJson(covered)).digest('hex');
}

export function entryHmac(key: Buffer, hash: string): string {
  return createHmac('sha256', key).update(hash).digest('hex');
}

/** Why a stored entry does not continue its chain; undefined when it does. */
export function chainProblem(key: Buffer, entry: ChainedFields & { hash: string; hmac: string }, previousHash: string, expectedSequence: number): string | undefined {
  if (entry.sequence !== expectedSequence) return `its sequence is ${entry.sequence}, ${expectedSequence} was expected (an entry is missing or inserted)`;
  if (entry.previous_hash !== previousHash) return 'its previous_hash is not the hash of the entry before it';
  if (entry.hash !== entryHash(entry)) return 'its content does not match its hash (it was changed)';
  const expected = Buffer.from(entryHmac(key, entry.hash), 'hex');
  const actual = Buffer.from(entry.hmac, 'hex');
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return 'its hmac was not made with this server\'s key';
  return undefined;
}
