import type { OrganizationRow } from '../db/schema';
import type { Schemas } from '../http/contract';

export function toOrganization(row: Pick<OrganizationRow, 'id' | 'name' | 'created_at' | 'updated_at'>): Schemas['Organization'] {
  return { id: row.id, name: row.name, created_at: row.created_at.toISOString(), updated_at: row.updated_at.toISOString() };
}
