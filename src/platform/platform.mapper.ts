import type { Schemas } from '../http/contract';
import type { PlatformOrganizationRow } from './platform.repository';

export function toPlatformOrganization(row: PlatformOrganizationRow): Schemas['PlatformOrganization'] {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    status: row.status,
    suspended_at: row.suspended_at?.toISOString() ?? null,
    member_count: Number(row.member_count ?? 0),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}
