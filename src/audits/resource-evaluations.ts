import type { Db } from '../db/database';
import type { AuditRow, CustomPolicyData } from '../db/schema';
import type { Schemas } from '../http/contract';
import { loadCatalogue } from '../rules/catalogue';
import { appliedCustomPolicies, auditFindingsOfResource, latestSucceededAuditOfResource, storedOutcomesOfResource } from './audits.repository';

type ResourceEvaluation = Schemas['ResourceEvaluation'];

/**
 * A resource's rule results in the latest succeeded audit that evaluated it (see
 * `GET /v1/resources/{id}/evaluations`). Only unknown and error outcomes are stored
 * (`audit_rule_outcomes`); the rest is derived: the audit's built-in rules (its `rule_versions`)
 * and custom policies (its `policy_versions`) that apply to the resource's type, `fail` where the
 * audit saw a finding of the rule on the resource, `pass` otherwise. A handful of rules per
 * resource, so the whole list is built and then paged by rule id.
 */
export async function resourceEvaluations(db: Db, resource: { id: string; type: string }): Promise<ResourceEvaluation[]> {
  const audit = await latestSucceededAuditOfResource(db, resource.id);
  if (!audit) return [];
  const [stored, failed, customRules] = await Promise.all([
    storedOutcomesOfResource(db, audit.id, resource.id),
    auditFindingsOfResource(db, audit.id, resource.id),
    customPoliciesFor(db, audit, resource.type),
  ]);
  const catalogue = await loadCatalogue();
  const ruleIds = new Set<string>([...customRules, ...stored.map((o) => o.rule_id), ...failed.map((f) => f.rule_id)]);
  for (const id of Object.keys(audit.rule_versions ?? {})) {
    if (catalogue.byId.get(id)?.rule.resource_types.includes(resource.type)) ruleIds.add(id);
  }
  const storedBy = new Map(stored.map((o) => [o.rule_id, o]));
  const findingBy = new Map(failed.map((f) => [f.rule_id, f.id]));
  return [...ruleIds].sort().map((ruleId): ResourceEvaluation => {
    const outcome = storedBy.get(ruleId);
    const findingId = findingBy.get(ruleId);
    const base = { audit_id: audit.id, rule_id: ruleId, finding_id: null, unknown_paths: [], message: null };
    if (outcome?.outcome === 'unknown') return { ...base, result: 'unknown', unknown_paths: outcome.unknown_paths ?? [] };
    if (outcome?.outcome === 'error') return { ...base, result: 'error', message: outcome.message };
    if (findingId !== undefined) return { ...base, result: 'fail', finding_id: findingId };
    return { ...base, result: 'pass' };
  });
}

/** The custom policies the audit applied that cover resources of this type. */
async function customPoliciesFor(db: Db, audit: AuditRow, type: string): Promise<string[]> {
  if ((audit.policy_versions ?? []).length === 0) return [];
  const rows = await appliedCustomPolicies(db, audit);
  return rows.filter((row) => (row.custom as CustomPolicyData | null)?.resource_types.includes(type)).map((row) => row.policy_id);
}
