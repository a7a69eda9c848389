import { createHash } from 'node:crypto';
import type { Db } from '../db/database';
import type { AuditRow, AuditSummaryData, FindingEventRow, FindingRow } from '../db/schema';
import { insertFindingEvents } from '../findings/findings.repository';
import { newId } from '../ids';
import { RuleSet, type EffectiveRule, type PolicyDefinition } from '../rules/rule-set';
import type { Catalogue } from '../rules/catalogue';
import { loadCelEngine } from '../rules/cel-engine';
import { ResourceGraph } from '../rules/resource-graph';
import { DIMENSIONS, SEVERITIES, type Severity } from '../rules/rule-definition';
import type { Evidence } from '../rules/rule-evaluation';
import {
  type ResolveReason,
  lockFindingsOfResources,
  lockOpenFindingsOfGoneResources,
  insertAuditFindings,
  insertFindings,
  resolveFindings,
  updateObservedFindings,
  type FindingWrite,
} from './audit-results.repository';
import {
  activeResources,
  alreadyEvaluated,
  auditedResourceVersions,
  endAudit,
  insertAuditResources,
  completeAudit,
  lockOrganization,
  recordAuditProgress,
  startAuditAttempt,
  stillCurrent,
  type AuditedResource,
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
  /** `${rule key}\n${resource id}` of every evaluation that passed: the findings it resolves. */
  passed: Set<string>;
  /** `${rule key}\n${resource id}` of every evaluation an override skipped: the findings it resolves as excepted. */
  excepted: Set<string>;
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
  let evaluations = 0;
  let errorCount = 0;

  for (let i = 0; i < targets.length; i++) {
    const resource = targets[i]!;
    const rules = ruleSet.rulesFor(resource.type);
    const context = rules.length > 0 ? graph.contextOf(resource, now) : undefined;
    for (const effective of rules) {
      const { rule } = effective.compiled;
      const outcome = ruleSet.evaluate(effective, resource, context!);
      if (outcome.outcome === 'skipped') {
        excepted.add(`${effective.key}\n${resource.id}`);
        continue;
      }
      const result = (ruleResults[effective.key] ??= { evaluated: 0, failed: 0, errors: 0 });
      evaluations++;
      if (outcome.outcome === 'error') {
        result.errors++;
        errorCount++;
        if (errors.length < SHOWN_ERRORS) errors.push({ rule_id: effective.key, resource_id: resource.id, message: outcome.message });
        continue;
      }
      result.evaluated++;
      weights[rule.dimension].evaluated += SEVERITY_WEIGHTS[rule.severity];
      if (outcome.outcome === 'pass') {
        passed.add(`${effective.key}\n${resource.id}`);
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
      },
    },
  };
}

/** Findings are stable per organization, rule and resource across audits. */
function fingerprintOf(ruleId: string, resourceId: string): string {
  return createHash('sha256').update(`${ruleId}\n${resourceId}`).digest('hex').slice(0, 32);
}

/**
 * Opens new findings, reopens resolved ones that fail again, refreshes the ones still failing,
 * and resolves open ones whose evaluation passed; every status change is an event. A finding
 * changed since this attempt started (triage, the expiry job, a newer audit or import) and a
 * resource changed or gone since it was read are left to the next audit.
 *
 * A reanalysis judges past versions: it records what failed and opens findings never seen
 * before, but changes no existing finding, since the estate may have moved on since.
 */
async function writeFindings(db: Db, audit: AuditRow, targets: AuditedResource[], evaluation: Evaluation, rules: RuleSet, now: Date) {
  const reanalysis = audit.mode === 'reanalysis';
  const startedAt = audit.started_at!;
  const current = reanalysis ? null : await stillCurrent(db, targets.map(({ id, version }) => ({ id, version })));
  const existing = new Map<string, FindingRow>();
  for (const finding of await lockFindingsOfResources(db, audit.organization_id, targets.map((r) => r.id))) existing.set(finding.fingerprint, finding);
  const changedSinceStart = (finding: FindingRow) => finding.updated_at > startedAt;
  const created: FindingWrite[] = [];
  const observed: Parameters<typeof updateObservedFindings>[1] = [];
  const events: FindingEventRow[] = [];
  const seenIds: string[] = [];
  const writtenAt = new Date();
  const event = (findingId: string, type: FindingEventRow['type'], from: FindingRow['status'] | null, to: FindingRow['status'], reason: string | null) =>
    events.push({ id: newId('fev'), finding_id: findingId, type, from_status: from, to_status: to, reason, actor_user_id: null, audit_id: audit.id, created_at: writtenAt });
  let recurring = 0;

  for (const { rule: effective, resource, evidence, monthlyUsd } of evaluation.failures) {
    if (current && !current.has(resource.id)) continue;
    const { rule } = effective.compiled;
    const content = {
      rule_version: rule.version,
      policy_id: effective.policy?.policy_id ?? null,
      policy_version: effective.policy?.version ?? null,
      region: resource.region,
      title: rule.title,
      description: rule.description,
      dimension: rule.dimension,
      severity: rule.severity,
      severity_rank: SEVERITIES.indexOf(rule.severity),
      evidence,
      remediation: rule.remediation,
      compliance: rule.compliance,
      cost_monthly_usd: monthlyUsd,
      last_seen_at: now,
      last_audit_id: audit.id,
      updated_at: writtenAt,
    };
    const fingerprint = fingerprintOf(effective.key, resource.id);
    const found = existing.get(fingerprint);
    if (!found) {
      const id = newId('fnd');
      created.push({
        ...content,
        id,
        organization_id: audit.organization_id,
        fingerprint,
        rule_id: effective.key,
        resource_id: resource.id,
        account_id: resource.account_id,
        resource_type: resource.type,
        status: 'open',
        status_reason: null,
        expires_at: null,
        note: null,
        first_seen_at: now,
        first_audit_id: audit.id,
        resolved_at: null,
      });
      event(id, 'opened', null, 'open', null);
      seenIds.push(id);
      continue;
    }
    recurring++;
    seenIds.push(found.id);
    if (reanalysis || changedSinceStart(found)) continue;
    const reopened = found.status === 'resolved';
    if (reopened) event(found.id, 'reopened', 'resolved', 'open', 'failed again');
    observed.push({
      ...content,
      id: found.id,
      status: reopened ? 'open' : found.status,
      status_reason: reopened ? null : found.status_reason,
      resolved_at: reopened ? null : found.resolved_at,
    });
  }

  // Open findings this audit settles, with why: the rule passed, an override skipped the
  // resource, or the custom policy behind it is no longer enabled or no longer covers the
  // resource's type (so would never pass on it again).
  const policyApplies = (f: FindingRow) => rules.rule(f.rule_id)?.compiled.rule.resource_types.includes(f.resource_type) ?? false;
  const settle = (f: FindingRow): ResolveReason | null => {
    const key = `${f.rule_id}\n${f.resource_id}`;
    if (evaluation.passed.has(key)) return 'passed';
    if (evaluation.excepted.has(key)) return 'excepted_by_policy';
    if (f.policy_id !== null && !policyApplies(f)) return 'policy_disabled';
    return null;
  };
  const resolvable = reanalysis ? [] : [...existing.values()].filter((f) => f.status === 'open' && !changedSinceStart(f) && current!.has(f.resource_id));
  const resolvedBy = new Map<ResolveReason, string[]>();
  let resolved = 0;
  for (const finding of resolvable) {
    const reason = settle(finding);
    if (reason === null) continue;
    const ids = resolvedBy.get(reason) ?? [];
    ids.push(finding.id);
    resolvedBy.set(reason, ids);
    event(finding.id, 'resolved', 'open', 'resolved', reason);
    resolved++;
  }
  // A full audit also settles findings whose resource went while something reopened them.
  const gone = audit.mode === 'full' ? await lockOpenFindingsOfGoneResources(db, audit.organization_id, audit.account_ids) : [];
  for (const finding of gone) event(finding.id, 'resolved', 'open', 'resolved', 'resource_gone');

  await insertFindings(db, created);
  await updateObservedFindings(db, observed);
  for (const [reason, ids] of resolvedBy) await resolveFindings(db, ids, { reason, at: writtenAt });
  await resolveFindings(db, gone.map((f) => f.id), { reason: 'resource_gone', at: writtenAt });
  await insertFindingEvents(db, events);
  await insertAuditFindings(db, audit.id, seenIds);
  return { new: created.length, recurring, resolved: resolved + gone.length };
}
