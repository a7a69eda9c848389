import type { ScanRow } from '../db/schema';
import type { Schemas } from '../http/contract';

export function toScan(row: ScanRow): Schemas['Scan'] {
  return {
    id: row.id,
    account_id: row.account_id,
    mode: row.mode,
    trigger: row.trigger,
    status: row.status,
    progress: { units: row.units, resources_read: row.units.reduce((sum, unit) => sum + unit.resources, 0), requests: row.requests },
    failures: row.failures,
    counts: row.counts,
    error: row.error_code ? { code: row.error_code as Schemas['ScanError']['code'], message: row.error_message ?? '' } : null,
    audit_id: row.audit_id,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    started_at: row.started_at?.toISOString() ?? null,
    finished_at: row.finished_at?.toISOString() ?? null,
  };
}
