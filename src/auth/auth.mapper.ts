import type { Schemas } from '../http/contract';
import { toOrganization } from '../organizations/organizations.mapper';
import type { Principal } from '../http/principal';

export function toMe(principal: Principal): Schemas['Me'] {
  const { member } = principal;
  return {
    user: { id: member.user_id, username: member.username, created_at: member.user_created_at.toISOString() },
    organization: toOrganization({
      id: member.organization_id,
      name: member.organization_name,
      created_at: member.organization_created_at,
      updated_at: member.organization_updated_at,
    }),
    role: member.role,
    scopes: [...principal.scopes],
  };
}
