import type { ImportRow } from '../db/schema';
import type { Schemas } from '../http/contract';

export function toImport(row: ImportRow): Schemas['Import'] {
  return {
    id: row.id,
    account_id: row.account_id,
    format: row.format,
    mode: row.mode,
    status: row.status,
    counts: row.counts,
    problems: row.problems,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    finished_at: row.finished_at?.toISOString() ?? null,
  };
}
