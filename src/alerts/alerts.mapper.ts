import type { AlertRuleRow } from '../db/schema';
import type { Schemas } from '../http/contract';

export function toAlertRule(row: AlertRuleRow): Schemas['AlertRule'] {
  return {
    id: row.id,
    name: row.name,
    alert_type: row.alert_type,
    threshold_days: row.threshold_days,
    stages: row.stages,
    filters: row.filters,
    score_drop: row.score_drop,
    delivery_method: row.delivery_method,
    recipients: row.recipients,
    webhook_endpoint_id: row.webhook_endpoint_id,
    target_set: row.target_encrypted !== null,
    delivery_mode: row.delivery_mode,
    digest_hour: row.digest_hour,
    digest_time_zone: row.digest_time_zone,
    enabled: row.enabled,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}
