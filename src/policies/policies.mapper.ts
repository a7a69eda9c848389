import type { PolicyRow, PolicyVersionRow } from '../db/schema';
import type { Schemas } from '../http/contract';

export function toPolicy(row: PolicyRow): Schemas['Policy'] {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    description: row.description,
    enabled: row.enabled,
    version: row.version,
    custom: row.custom,
    override: row.override,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export function toPolicyVersion(row: PolicyVersionRow & { kind: PolicyRow['kind'] }): Schemas['PolicyVersion'] {
  return {
    policy_id: row.policy_id,
    version: row.version,
    kind: row.kind,
    name: row.name,
    description: row.description,
    enabled: row.enabled,
    custom: row.custom,
    override: row.override,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
  };
}
