import type { Schemas } from '../http/contract';
import type { ReportRecord } from './reports.repository';

export function toReport(row: ReportRecord): Schemas['Report'] {
  return {
    id: row.id,
    type: row.type,
    format: row.format,
    status: row.status,
    audit_id: row.audit_id,
    framework: row.framework as Schemas['Report']['framework'],
    filters: row.filters,
    error: row.error_code ? { code: row.error_code, message: row.error_message ?? '' } : null,
    size_bytes: row.size_bytes === null ? null : Number(row.size_bytes),
    sha256: row.sha256,
    provenance: row.provenance,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    generated_at: row.generated_at?.toISOString() ?? null,
  };
}
