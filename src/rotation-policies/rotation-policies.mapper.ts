import type { RotationPolicyRow } from '../db/schema';
import type { Schemas } from '../http/contract';

export function toRotationPolicy(row: RotationPolicyRow): Schemas['RotationPolicy'] {
  return {
    id: row.id,
    name: row.name,
    selector: row.selector,
    exclusions: row.exclusions,
    days_before_expiry: row.days_before_expiry,
    lifetime_days: row.lifetime_days,
    overlap_hours: row.overlap_hours,
    enabled: row.enabled,
    paused_reason: row.paused_reason,
    last_checked_at: row.last_checked_at?.toISOString() ?? null,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}
