import type { RotationRow } from '../db/schema';
import type { Schemas } from '../http/contract';

export function toRotation(row: RotationRow): Schemas['Rotation'] {
  return {
    id: row.id,
    credential_type: row.credential_type,
    credential_id: row.credential_resource_id,
    account_id: row.account_id,
    application_id: row.application_id,
    key_id: row.key_id,
    new_key_id: row.new_key_id,
    stores: row.stores,
    key_vault_secrets: row.key_vault_secrets,
    lifetime_days: row.lifetime_days,
    overlap_hours: row.overlap_hours,
    status: row.status,
    new_expires_at: row.new_expires_at?.toISOString() ?? null,
    revoke_at: row.revoke_at?.toISOString() ?? null,
    steps: row.steps,
    error: row.error,
    created_by: row.created_by,
    policy_id: row.policy_id,
    created_at: row.created_at.toISOString(),
    finished_at: row.finished_at?.toISOString() ?? null,
  };
}
