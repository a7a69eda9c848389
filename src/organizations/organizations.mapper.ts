import type { OrganizationRow } from '../db/schema';
import type { Schemas } from '../http/contract';

export function toOrganization(row: Pick<OrganizationRow, 'id' | 'name' | 'created_at' | 'updated_at'>): Schemas['Organization'] {
  return { id: row.id, name: row.name, created_at: row.created_at.toISOString(), updated_at: row.updated_at.toISOString() };
}

/** `GET /v1/organization`: the organization and its settings, a setting left unset showing the server's default. */
export function toOrganizationDetail(row: OrganizationRow, defaults: { riskAcceptanceMaxDays: number }): Schemas['OrganizationDetail'] {
  return { ...toOrganization(row), risk_acceptance_max_days: row.risk_acceptance_max_days ?? defaults.riskAcceptanceMaxDays };
}
