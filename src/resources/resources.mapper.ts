import type { ResourceRow, ResourceVersionRow } from '../db/schema';
import type { Schemas } from '../http/contract';

type SummaryRow = Omit<ResourceRow, 'attributes' | 'content_hash' | 'organization_id' | 'version_recorded_at' | 'unknown_attributes'>;

export function toResourceSummary(row: SummaryRow): Schemas['ResourceSummary'] {
  return {
    id: row.id,
    account_id: row.account_id,
    provider: row.provider,
    type: row.type,
    native_id: row.native_id,
    region: row.region,
    name: row.name,
    tags: row.tags,
    relationships: row.relationships,
    first_seen_at: row.first_seen_at.toISOString(),
    last_seen_at: row.last_seen_at.toISOString(),
    status: row.status,
    version: row.version,
  };
}

export function toResource(row: ResourceRow): Schemas['Resource'] {
  return { ...toResourceSummary(row), attributes: row.attributes, unknown_attributes: row.unknown_attributes };
}

export function toResourceVersion(row: ResourceVersionRow): Schemas['ResourceVersion'] {
  return {
    version: row.version,
    content_hash: row.content_hash,
    recorded_at: row.recorded_at.toISOString(),
    name: row.name,
    region: row.region,
    tags: row.tags,
    attributes: row.attributes,
    unknown_attributes: row.unknown_attributes,
    relationships: row.relationships,
  };
}
