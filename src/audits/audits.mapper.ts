import type { AuditRow, AuditSummaryData } from '../db/schema';
import type { Schemas } from '../http/contract';
import { DIMENSIONS, type Dimension } from '../rules/rule-definition';

export function toAudit(row: AuditRow): Schemas['Audit'] {
  return {
    id: row.id,
    parent_audit_id: row.parent_audit_id,
    mode: row.mode,
    account_ids: row.account_ids,
    status: row.status,
    progress: { resources_evaluated: row.resources_evaluated, resources_total: row.resources_total },
    error: row.error_code ? { code: row.error_code, message: row.error_message ?? '' } : null,
    catalogue_version: row.catalogue_version,
    rule_versions: row.rule_versions,
    policy_versions: row.policy_versions,
    summary: row.summary ? toSummary(row.summary) : null,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    started_at: row.started_at?.toISOString() ?? null,
    finished_at: row.finished_at?.toISOString() ?? null,
  };
}

function toSummary(summary: AuditSummaryData): Schemas['AuditSummary'] {
  return {
    findings: summary.findings,
    new: summary.new,
    recurring: summary.recurring,
    resolved: summary.resolved,
    scores: Object.fromEntries(DIMENSIONS.map((d) => [d, scoreOf(summary.weights[d])])) as Record<Dimension, number | null>,
    weights: summary.weights,
    coverage: { ...summary.coverage, evaluation_unknowns: summary.coverage.evaluation_unknowns ?? 0 },
    // Audits from before three-valued results stored no unknown counts.
    rule_results: Object.fromEntries(Object.entries(summary.rule_results).map(([id, r]) => [id, { ...r, unknown: r.unknown ?? 0 }])),
    evaluation_errors: summary.errors,
  };
}

/** See the AuditSummary schema: 100 × (1 − failed weight ÷ evaluated weight), null with nothing evaluated. */
export function scoreOf({ evaluated, failed }: { evaluated: number; failed: number }): number | null {
  return evaluated === 0 ? null : Math.round(100 * (1 - failed / evaluated));
}
