import type { Schemas } from '../http/contract';
import type { ConnectionView } from './connections.service';

export function toConnection({ row, externalId }: ConnectionView): Schemas['Connection'] {
  const [secretKind, fingerprint] = row.secret_fingerprint ? splitFingerprint(row.secret_fingerprint) : [null, null];
  return {
    account_id: row.account_id,
    kind: row.kind,
    role_arn: row.settings.role_arn ?? null,
    external_id: externalId,
    access_key_id: row.settings.access_key_id ?? null,
    regions: row.settings.regions ?? null,
    tenant_id: row.settings.tenant_id ?? null,
    client_id: row.settings.client_id ?? null,
    gcp_scope: row.settings.gcp_scope ?? null,
    secret: { kind: secretKind, fingerprint },
    scan_schedule: row.scan_schedule,
    next_scan_at: row.next_scan_at?.toISOString() ?? null,
    audit_after_scan: row.audit_after_scan,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

type SecretKind = Schemas['Connection']['secret']['kind'];

function splitFingerprint(stored: string): [SecretKind, string] {
  const at = stored.indexOf(':');
  const field = stored.slice(0, at);
  return [(field === 'client_certificate_pem' ? 'client_certificate' : field) as SecretKind, stored.slice(at + 1)];
}
