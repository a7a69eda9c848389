import type { Schemas } from '../http/contract';
import type { CredentialLinkView, EndRow } from './credential-links.repository';
import type { Dependent } from './credential-links.service';

function toEnd(row: EndRow): Schemas['CredentialLinkEnd'] {
  return {
    id: row.id,
    account_id: row.account_id,
    provider: row.provider as Schemas['Provider'],
    type: row.type,
    native_id: row.native_id,
    name: row.name,
    status: row.status as Schemas['ResourceStatus'],
  };
}

export function toCredentialLink(row: CredentialLinkView): Schemas['CredentialLink'] {
  return {
    id: row.id,
    credential: toEnd(row.credential),
    store: toEnd(row.store),
    status: row.status,
    origin: row.origin,
    confidence: row.confidence,
    reasons: row.reasons,
    decided_by: row.decided_by,
    decided_at: row.decided_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export function toDependent(dependent: Dependent): Schemas['Dependent'] {
  return { resource: toEnd(dependent.resource), references: dependent.references };
}
