import type { OrganizationLimits } from '../config';
import type { Schemas } from '../http/contract';
import { limitsByName, limitsInForce } from '../quotas/quotas.service';
import type { PlatformOrganizationRow } from './platform.repository';

/** An organization as operators see it; `defaults` are the limits of those its operators set none for. */
export function toPlatformOrganization(row: PlatformOrganizationRow, defaults: OrganizationLimits): Schemas['PlatformOrganization'] {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    status: row.status,
    suspended_at: row.suspended_at?.toISOString() ?? null,
    member_count: Number(row.member_count ?? 0),
    limits: limitsByName(limitsInForce(row, defaults)),
    plan: { name: row.plan, expires_at: row.plan_expires_at?.toISOString() ?? null },
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}
