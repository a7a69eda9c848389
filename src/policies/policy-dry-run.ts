import { auditedEstate } from '../audits/audit-runner';
import { latestSucceededAudit, requireAudit } from '../audits/audits.service';
import type { Principal } from '../http/principal';
import type { Db } from '../db/database';
import type { AuditRow } from '../db/schema';
import { AppError } from '../errors';
import type { Schemas } from '../http/contract';
import { newId } from '../ids';
import { ResourceGraph } from '../rules/resource-graph';
import { SEVERITIES, type Severity } from '../rules/rule-definition';
import { auditFindingsOfRule, enabledPolicies } from './policies.repository';
import { changedContent, requirePolicy, validatePolicy, type PolicyChecks, type PolicyContent } from './policies.service';
import { RuleSet, type PolicyDefinition } from '../rules/rule-set';

type Preview = Schemas['PolicyTestFinding'];

/**
 * Evaluates a policy on the resource versions a succeeded audit evaluated, with the
 * organization's other enabled policies, and compares with that audit's findings of the same
 * rule. Writes nothing.
 */
export async function dryRunPolicy(db: Db, principal: Principal, checks: PolicyChecks, body: Schemas['PolicyTest']): Promise<Schemas['PolicyTestResult']> {
  const tested = await policyToTest(db, principal, checks, body);
  const audit = await auditToTest(db, principal, body.audit_id);
  const others = (await enabledPolicies(db, principal.organizationId)).filter((p) => p.id !== tested.definition.id);
  const rules = new RuleSet(checks.catalogue, checks.engine, [...others, tested.definition]);
  const key = tested.content.kind === 'custom' ? tested.definition.id : tested.content.override!.rule_id;
  const rule = rules.rule(key)!;
  const types = new Set(rule.compiled.rule.resource_types);

  const { estate, targets } = await auditedEstate(db, principal.organizationId, audit.id);
  const graph = new ResourceGraph(estate);
  const now = audit.started_at ?? audit.created_at;
  const failing: (Preview & { rank: number })[] = [];
  const errors: { resource_id: string; message: string }[] = [];
  let evaluated = 0;
  for (const resource of targets) {
    if (!types.has(resource.type)) continue;
    evaluated++;
    const outcome = rules.evaluate(rule, resource, graph.contextOf(resource, now));
    if (outcome.outcome === 'error') errors.push({ resource_id: resource.id, message: outcome.message });
    if (outcome.outcome !== 'fail') continue;
    const { severity, title } = rule.compiled.rule;
    failing.push({
      rule_id: rule.policy ? null : rule.key,
      policy_id: rule.policy && tested.stored ? rule.policy.policy_id : null,
      resource: { id: resource.id, type: resource.type, name: resource.name, native_id: resource.native_id, account_id: resource.account_id, region: resource.region },
      severity,
      title,
      evidence: outcome.evidence,
      diff: 'new',
      rank: SEVERITIES.indexOf(severity),
    });
  }

  const had = new Map((await auditFindingsOfRule(db, principal.organizationId, audit.id, key)).map((f) => [f.resource_id, f]));
  const diff = { new: 0, resolved: 0, unchanged: 0, severity_changed: 0 };
  const severityCounts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  const stillFailing = new Set<string>();
  for (const finding of failing) {
    severityCounts[finding.severity]++;
    const before = had.get(finding.resource.id);
    if (before) stillFailing.add(finding.resource.id);
    finding.diff = !before ? 'new' : before.severity === finding.severity ? 'unchanged' : 'severity_changed';
    diff[finding.diff]++;
  }
  // As in an audit, a resource the policy could not be evaluated on keeps its finding.
  const errored = new Set(errors.map((e) => e.resource_id));
  const resolved = [...had.values()].filter((f) => !stillFailing.has(f.resource_id) && !errored.has(f.resource_id));
  diff.resolved = resolved.length;

  const limit = body.preview_limit ?? 50;
  failing.sort((a, b) => b.rank - a.rank || (a.resource.id < b.resource.id ? -1 : 1));
  return {
    audit_id: audit.id,
    resources_evaluated: evaluated,
    findings: failing.slice(0, limit).map(({ rank: _rank, ...finding }) => finding),
    findings_total: failing.length,
    severity_counts: severityCounts,
    diff,
    resolved: resolved.slice(0, limit).map((f) => ({ finding_id: f.id, resource_id: f.resource_id })),
    evaluation_errors: errors.slice(0, limit),
    evaluation_errors_total: errors.length,
  };
}

/** The policy a dry run tries, as if enabled: inline, stored, or stored with a draft change. */
async function policyToTest(
  db: Db,
  principal: Principal,
  checks: PolicyChecks,
  body: Schemas['PolicyTest'],
): Promise<{ definition: PolicyDefinition; content: PolicyContent; stored: boolean }> {
  if ((body.policy === undefined) === (body.policy_id === undefined)) {
    throw new AppError('validation_failed', 'Give either an inline "policy" or a "policy_id".', [{ field: 'body', issue: 'exactly one of policy and policy_id is required' }]);
  }
  if (body.policy) {
    if (body.changes) throw new AppError('validation_failed', '"changes" apply to a stored policy (policy_id).', [{ field: 'body.changes', issue: 'only with policy_id' }]);
    const content = await validatePolicy(db, principal.organizationId, checks, body.policy, 'body.policy');
    return { definition: { id: newId('pol'), version: 1, kind: content.kind, custom: content.custom, override: content.override }, content, stored: false };
  }
  const policy = await requirePolicy(db, principal, body.policy_id!);
  const content = body.changes ? await changedContent(db, principal, checks, policy, body.changes, 'body.changes') : policy;
  const version = body.changes ? policy.version + 1 : policy.version;
  return { definition: { id: policy.id, version, kind: policy.kind, custom: content.custom, override: content.override }, content, stored: true };
}

/** The audit a dry run compares with: the one named, or the latest succeeded one. */
async function auditToTest(db: Db, principal: Principal, auditId: string | undefined): Promise<AuditRow> {
  if (auditId === undefined) {
    const latest = await latestSucceededAudit(db, principal.organizationId);
    if (!latest) throw new AppError('audit_not_finished', 'The organization has no succeeded audit yet to try the policy on; run one first.');
    return latest;
  }
  const audit = await requireAudit(db, principal, auditId);
  if (audit.status !== 'succeeded') throw new AppError('audit_not_finished', `Audit ${audit.id} is ${audit.status}; a dry run needs a succeeded audit.`);
  return audit;
}
