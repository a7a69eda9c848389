import type { AuditLogRow } from '../db/schema';
import type { Schemas } from '../http/contract';

export function toAuditLogEntry(row: AuditLogRow): Schemas['AuditLogEntry'] {
  return {
    id: row.id,
    sequence: Number(row.sequence),
    occurred_at: row.occurred_at.toISOString(),
    actor: { type: row.actor_type, id: row.actor_id, user_id: row.user_id },
    action: row.action,
    target_id: row.target_id,
    outcome: row.outcome,
    request_id: row.request_id,
    ip: row.ip,
    detail: row.detail as Record<string, string>,
    previous_hash: row.previous_hash,
    hash: row.hash,
    hmac: row.hmac,
  };
}
