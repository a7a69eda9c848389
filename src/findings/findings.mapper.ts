import type { FindingEventRow } from '../db/schema';
import type { Schemas } from '../http/contract';
import type { FindingWithResource } from './findings.repository';

export function toFinding(row: FindingWithResource): Schemas['Finding'] {
  return {
    id: row.id,
    // A custom policy's finding keeps the policy id in rule_id (the grouping key); the API shows it as policy_id.
    rule_id: row.policy_id === null ? row.rule_id : null,
    rule_version: row.policy_id === null ? row.rule_version : null,
    policy_id: row.policy_id,
    policy_version: row.policy_version,
    title: row.title,
    description: row.description,
    dimension: row.dimension,
    severity: row.severity,
    status: row.status,
    status_reason: row.status_reason,
    expires_at: row.expires_at?.toISOString() ?? null,
    note: row.note,
    resource: {
      id: row.resource_id,
      type: row.resource_type,
      name: row.resource_name,
      native_id: row.resource_native_id,
      account_id: row.account_id,
      region: row.region,
    },
    evidence: row.evidence,
    remediation: row.remediation,
    compliance: row.compliance,
    cost_impact: row.cost_monthly_usd === null ? null : { monthly_usd: row.cost_monthly_usd },
    first_seen_at: row.first_seen_at.toISOString(),
    last_seen_at: row.last_seen_at.toISOString(),
    first_audit_id: row.first_audit_id,
    last_audit_id: row.last_audit_id,
    resolved_at: row.resolved_at?.toISOString() ?? null,
    updated_at: row.updated_at.toISOString(),
  };
}

export function toFindingEvent(row: FindingEventRow): Schemas['FindingEvent'] {
  return {
    id: row.id,
    type: row.type,
    from_status: row.from_status,
    to_status: row.to_status,
    reason: row.reason,
    actor: row.actor_user_id === null ? { type: 'system', audit_id: row.audit_id } : { type: 'user', user_id: row.actor_user_id },
    created_at: row.created_at.toISOString(),
  };
}
