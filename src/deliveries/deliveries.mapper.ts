import type { DeliveryAttemptRow, DeliveryRow } from '../db/schema';
import type { Schemas } from '../http/contract';

export function toDelivery(row: DeliveryRow, attempts: DeliveryAttemptRow[] | null = null): Schemas['Delivery'] {
  return {
    id: row.id,
    alert_rule_id: row.alert_rule_id,
    webhook_endpoint_id: row.webhook_endpoint_id,
    event_type: row.event_type,
    method: row.method,
    recipient: row.recipient,
    status: row.status,
    attempt_count: row.attempt_count,
    next_attempt_at: row.status === 'pending' ? (row.next_attempt_at?.toISOString() ?? null) : null,
    last_error: row.last_error,
    attempts:
      attempts?.map((a) => ({
        number: a.number,
        attempted_at: a.attempted_at.toISOString(),
        status_code: a.status_code,
        latency_ms: a.latency_ms,
        error: a.error,
      })) ?? null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}
