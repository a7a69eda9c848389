import type { Db, Trx } from '../db/database';
import type { AuditRow, AuditSummaryData } from '../db/schema';
import { decideAuditFindings, evaluationKey, settlesGoneResources, type FailedEvaluation } from '../findings/finding-lifecycle';
import { applyFindingChanges, lockFindingsOfResources, lockOpenFindingsOfGoneResources } from '../findings/findings.service';
import { newId } from '../ids';
import { RuleSet, type EffectiveRule, type PolicyDefinition } from '../rules/rule-set';
import type { Catalogue } from '../rules/catalogue';
import { loadCelEngine } from '../rules/cel-engine';
import { ResourceGraph } from '../rules/resource-graph';
import { DIMENSIONS, SEVERITIES, type Severity } from '../rules/rule-definition';
import type { Evidence } from '../rules/rule-evaluation';
import {
  activeResources,
  alreadyEvaluated,
  auditedResourceVersions,
  endAudit,
  insertAuditFindings,
  insertAuditResources,
  insertAuditRuleOutcomes,
  completeAudit,
  lockOrganization,
  recordAuditProgress,
  startAuditAttempt,
  stillCurrent,
  type AuditedResource,
  type StoredRuleOutcome,
} from './audits.repository';

/** How much one evaluation of a rule of each severity weighs in its dimension's score. */
export const SEVERITY_WEIGHTS: Record<Severity, number> = { info: 0, low: 1, medium: 3, high: 5, critical: 10 };
const PROGRESS_EVERY = 2000;
const SHOWN_ERRORS = 50;

/** What an audit evaluates, and by which clock. */
export interface AuditRunSettings {
  catalogue: () => Promise<Catalogue>;
  /** The organization's enabled policies, as they are when an attempt starts. */
  policies: (db: Db, organizationId: string) => Promise<PolicyDefinition[]>;
  /** The audit's clock: ages and expiries in conditions are measured from it. */
  now: () => Date;
}

/** The audit was canceled, or its attempt superseded by a retry, while it ran: this attempt writes nothing. */
class AttemptSuperseded extends Error {}

/**
 * Runs a queued audit: evaluates the catalogue over its resources, then writes the findings,
 * their events and the summary in one transaction, so an audit is never half-written. A worker
 * that dies leaves it `running`; the job's retry starts a new attempt from the beginning, and an
 * older attempt still running stops at its next progress report or at its final write.
 */
export async function runAudit(db: Db, auditId: string, settings: AuditRunSettings): Promise<void> {
  const catalogue = await settings.catalogue();
  const audit = await startAuditAttempt(db, auditId, catalogue.version);
  if (!audit) return;
  const now = settings.now();
  try {
    // The policies as they are when the attempt starts; later changes apply from the next audit.
    const rules = new RuleSet(catalogue, await loadCelEngine(), await settings.policies(db, audit.organization_id));
    const { estate, targets } = await resourcesToEvaluate(db, audit, rules);
    const evaluation = await evaluate(db, audit, rules, estate, targets, now);
    await db.transaction().execute(async (trx) => {
      await lockOrganization(trx, audit.organization_id);
      const counts = await writeFindings(trx, audit, targets, evaluation, rules, now);
      await insertAuditResources(trx, audit.id, targets);
      await insertAuditRuleOutcomes(trx, audit.id, evaluation.undecided);
      const completed = await completeAudit(trx, audit, {
        resources: targets.length,
        ruleVersions: Object.fromEntries(catalogue.rules.map((r) => [r.rule.id, r.rule.version])),
        policyVersions: rules.applied,
        summary: { ...evaluation.summary, ...counts },
      });
      if (!completed) throw new AttemptSuperseded();
    });
  } catch (error) {
    if (error instanceof AttemptSuperseded) return;
    throw error;
  }
}

/** Marks an audit whose job ran out of attempts (its workers kept dying or failing) as failed. */
export async function failAbandonedAudit(db: Db, auditId: string): Promise<void> {
  await endAudit(db, auditId, {
    status: 'failed',
    error_code: 'worker_lost',
    error_message: 'The audit did not finish after several attempts (its worker stopped or kept failing). Start a new audit.',
  });
}

/**
 * What the audit evaluates (`targets`) and what their relationships may point at (`estate`):
 * the current inventory for full and incremental audits (incremental: only versions no audit
 * with this catalogue and these policy versions has evaluated); for a reanalysis, the versions its parent
 * evaluated, seen among the current versions of everything else.
 */
async function resourcesToEvaluate(db: Db, audit: AuditRow, rules: RuleSet): Promise<{ estate: AuditedResource[]; targets: AuditedResource[] }> {
  if (audit.mode === 'reanalysis') return auditedEstate(db, audit.organization_id, audit.parent_audit_id!);
  const current = new Map<string, AuditedResource>();
  for await (const page of activeResources(db, audit.organization_id)) for (const resource of page) current.set(resource.id, resource);
  const estate = [...current.values()];
  const accounts = audit.account_ids ? new Set(audit.account_ids) : null;
  let targets = accounts ? estate.filter((r) => accounts.has(r.account_id)) : estate;
  if (audit.mode === 'incremental') {
    const seen = await alreadyEvaluated(db, targets.map(({ id, version }) => ({ id, version })), audit.catalogue_version!, rules.applied);
    targets = targets.filter((r) => !seen.has(r.id));
  }
  return { estate, targets };
}

/** The resource versions a past audit evaluated (`targets`), seen among the current versions of everything else (`estate`). */
export async function auditedEstate(db: Db, organizationId: string, auditId: string): Promise<{ estate: AuditedResource[]; targets: AuditedResource[] }> {
  const current = new Map<string, AuditedResource>();
  for await (const page of activeResources(db, organizationId)) for (const resource of page) current.set(resource.id, resource);
  const targets: AuditedResource[] = [];
  for await (const page of auditedResourceVersions(db, auditId)) targets.push(...page);
  for (const resource of targets) current.set(resource.id, resource);
  return { estate: [...current.values()], targets };
}

interface Failure {
  rule: EffectiveRule;
  resource: AuditedResource;
  evidence: Evidence[];
  monthlyUsd: number | null;
}

interface Evaluation {
  failures: Failure[];
  /** `evaluationKey` of every evaluation that passed: the findings it resolves. */
  passed: Set<string>;
  /** `evaluationKey` of every evaluation an override skipped: the findings it resolves as excepted. */
  excepted: Set<string>;
  /** The unknown and error outcomes, as stored for `GET /v1/resources/{id}/evaluations`. */
  undecided: StoredRuleOutcome[];
  summary: Omit<AuditSummaryData, 'new' | 'recurring' | 'resolved'>;
}

async function evaluate(db: Db, audit: AuditRow, ruleSet: RuleSet, estate: AuditedResource[], targets: AuditedResource[], now: Date): Promise<Evaluation> {
  const graph = new ResourceGraph(estate);
  const failures: Failure[] = [];
  const passed = new Set<string>();
  const excepted = new Set<string>();
  const findings = Object.fromEntries(DIMENSIONS.map((d) => [d, Object.fromEntries(SEVERITIES.map((s) => [s, 0]))])) as AuditSummaryData['findings'];
  const weights = Object.fromEntries(DIMENSIONS.map((d) => [d, { evaluated: 0, failed: 0 }])) as AuditSummaryData['weights'];
  const ruleResults: AuditSummaryData['rule_results'] = {};
  const errors: AuditSummaryData['errors'] = [];
  const undecided: StoredRuleOutcome[] = [];
  let evaluations = 0;
  let errorCount = 0;
  let unknownCount = 0;

  for (let i = 0; i < targets.length; i++) {
    const resource = targets[i]!;
    const rules = ruleSet.rulesFor(resource.type);
    const context = rules.length > 0 ? graph.contextOf(resource, now) : undefined;
    for (const effective of rules) {
      const { rule } = effective.compiled;
      const outcome = ruleSet.evaluate(effective, resource, context!);
      if (outcome.outcome === 'skipped') {
        excepted.add(evaluationKey(effective.key, resource.id));
        continue;
      }
      const result = (ruleResults[effective.key] ??= { evaluated: 0, failed: 0, errors: 0, unknown: 0 });
      evaluations++;
      if (outcome.outcome === 'error') {
        result.errors++;
        errorCount++;
        if (errors.length < SHOWN_ERRORS) errors.push({ rule_id: effective.key, resource_id: resource.id, message: outcome.message });
        undecided.push({ resource_id: resource.id, rule_id: effective.key, outcome: 'error', unknown_paths: null, message: outcome.message });
        continue;
      }
      // Unknown: counted and stored, but neither a pass nor a failure (the finding lifecycle leaves its finding as it is).
      if (outcome.outcome === 'unknown') {
        result.unknown = (result.unknown ?? 0) + 1;
        unknownCount++;
        undecided.push({ resource_id: resource.id, rule_id: effective.key, outcome: 'unknown', unknown_paths: outcome.unknown_paths, message: null });
        continue;
      }
      result.evaluated++;
      weights[rule.dimension].evaluated += SEVERITY_WEIGHTS[rule.severity];
      if (outcome.outcome === 'pass') {
        passed.add(evaluationKey(effective.key, resource.id));
      } else {
        result.failed++;
        findings[rule.dimension][rule.severity]++;
        weights[rule.dimension].failed += SEVERITY_WEIGHTS[rule.severity];
        failures.push({ rule: effective, resource, evidence: outcome.evidence, monthlyUsd: outcome.monthly_usd });
      }
    }
    if ((i + 1) % PROGRESS_EVERY === 0 && !(await recordAuditProgress(db, audit, i + 1, targets.length))) throw new AttemptSuperseded();
  }
  if (!(await recordAuditProgress(db, audit, targets.length, targets.length))) throw new AttemptSuperseded();

  return {
    failures,
    passed,
    excepted,
    undecided,
    summary: {
      findings,
      weights,
      rule_results: ruleResults,
      errors,
      coverage: {
        resources_evaluated: targets.length,
        rules_evaluated: Object.keys(ruleResults).length,
        evaluations,
        evaluation_errors: errorCount,
        evaluation_unknowns: unknownCount,
      },
    },
  };
}

/**
 * Writes what this audit does to findings (decided by `decideAuditFindings`, which says how) and
 * which findings it saw; answers the summary's counts. The findings of the evaluated resources
 * are locked first, so that triage and the expiry job wait rather than be overwritten.
 */
async function writeFindings(trx: Trx, audit: AuditRow, targets: AuditedResource[], evaluation: Evaluation, rules: RuleSet, now: Date) {
  const stillCurrentIds = audit.mode === 'reanalysis' ? null : await stillCurrent(trx, targets.map(({ id, version }) => ({ id, version })));
  const findings = await lockFindingsOfResources(trx, audit.organization_id, targets.map((r) => r.id));
  const goneFindings = settlesGoneResources(audit.mode) ? await lockOpenFindingsOfGoneResources(trx, audit.organization_id, audit.account_ids) : [];
  const changes = decideAuditFindings({
    audit: { id: audit.id, organization_id: audit.organization_id, mode: audit.mode, started_at: audit.started_at! },
    seenAt: now,
    now: new Date(),
    failures: evaluation.failures.map(failedEvaluation),
    passed: evaluation.passed,
    excepted: evaluation.excepted,
    findings,
    stillCurrent: stillCurrentIds,
    goneFindings,
    ruleCovers: (ruleId, resourceType) => rules.rule(ruleId)?.compiled.rule.resource_types.includes(resourceType) ?? false,
    newId,
  });
  await applyFindingChanges(trx, changes);
  await insertAuditFindings(trx, audit.id, changes.seen);
  return changes.counts;
}

/** A failure as the finding lifecycle takes it: what the finding says, from the rule as the organization applies it. */
function failedEvaluation({ rule: effective, resource, evidence, monthlyUsd }: Failure): FailedEvaluation {
  const { rule } = effective.compiled;
  return {
    ruleId: effective.key,
    resource: { id: resource.id, account_id: resource.account_id, type: resource.type, region: resource.region },
    content: {
      rule_version: rule.version,
      policy_id: effective.policy?.policy_id ?? null,
      policy_version: effective.policy?.version ?? null,
      title: rule.title,
      description: rule.description,
      dimension: rule.dimension,
      severity: rule.severity,
      evidence,
      remediation: rule.remediation,
      compliance: rule.compliance,
      cost_monthly_usd: monthlyUsd,
    },
  };
}
