import type { AccountRow } from '../db/schema';
import type { Schemas } from '../http/contract';

export function toAccount(row: AccountRow): Schemas['Account'] {
  return {
    id: row.id,
    provider: row.provider,
    external_id: row.external_id,
    name: row.name,
    labels: row.labels,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    last_import_at: row.last_import_at?.toISOString() ?? null,
  };
}
