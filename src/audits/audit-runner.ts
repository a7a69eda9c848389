import { createHash } from 'node:crypto';
import type { Db } from '../db/database';
import type { AuditRow, AuditSummaryData, FindingEventRow, FindingRow } from '../db/schema';
import { insertFindingEvents } from '../findings/findings.repository';
import { newId } from '../ids';
import type { Catalogue } from '../rules/catalogue';
import { ResourceGraph } from '../rules/resource-graph';
import { DIMENSIONS, SEVERITIES, type Severity } from '../rules/rule-definition';
import { evaluateRule, type CompiledRule, type Evidence } from '../rules/rule-evaluation';
import {
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

export interface AuditRunSettings {
  catalogue: () => Promise<Catalogue>;
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
    const { estate, targets } = await resourcesToEvaluate(db, audit);
    const evaluation = await evaluate(db, audit, catalogue, estate, targets, now);
    await db.transaction().execute(async (trx) => {
      await lockOrganization(trx, audit.organization_id);
      const counts = await writeFindings(trx, audit, targets, evaluation, now);
      await insertAuditResources(trx, audit.id, targets);
      const completed = await completeAudit(trx, audit, {
        resources: targets.length,
        ruleVersions: Object.fromEntries(catalogue.rules.map((r) => [r.rule.id, r.rule.version])),
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
 * with this catalogue has evaluated); for a reanalysis, the versions its parent
 * evaluated, seen among the current versions of everything else.
 */
async function resourcesToEvaluate(db: Db, audit: AuditRow): Promise<{ estate: AuditedResource[]; targets: AuditedResource[] }> {
  const current = new Map<string, AuditedResource>();
  for await (const page of activeResources(db, audit.organization_id)) for (const resource of page) current.set(resource.id, resource);
  if (audit.mode === 'reanalysis') {
    const targets: AuditedResource[] = [];
    for await (const page of auditedResourceVersions(db, audit.parent_audit_id!)) targets.push(...page);
    for (const resource of targets) current.set(resource.id, resource);
    return { estate: [...current.values()], targets };
  }
  const estate = [...current.values()];
  const accounts = audit.account_ids ? new Set(audit.account_ids) : null;
  let targets = accounts ? estate.filter((r) => accounts.has(r.account_id)) : estate;
  if (audit.mode === 'incremental') {
    const seen = await alreadyEvaluated(db, targets.map(({ id, version }) => ({ id, version })), audit.catalogue_version!);
    targets = targets.filter((r) => !seen.has(r.id));
  }
  return { estate, targets };
}

interface Failure {
  rule: CompiledRule;
  resource: AuditedResource;
  evidence: Evidence[];
  monthlyUsd: number | null;
}

interface Evaluation {
  failures: Failure[];
  /** `${rule id}\n${resource id}` of every evaluation that passed: the findings it resolves. */
  passed: Set<string>;
  summary: Omit<AuditSummaryData, 'new' | 'recurring' | 'resolved'>;
}

async function evaluate(db: Db, audit: AuditRow, catalogue: Catalogue, estate: AuditedResource[], targets: AuditedResource[], now: Date): Promise<Evaluation> {
  const graph = new ResourceGraph(estate);
  const failures: Failure[] = [];
  const passed = new Set<string>();
  const findings = Object.fromEntries(DIMENSIONS.map((d) => [d, Object.fromEntries(SEVERITIES.map((s) => [s, 0]))])) as AuditSummaryData['findings'];
  const weights = Object.fromEntries(DIMENSIONS.map((d) => [d, { evaluated: 0, failed: 0 }])) as AuditSummaryData['weights'];
  const ruleResults: AuditSummaryData['rule_results'] = {};
  const errors: AuditSummaryData['errors'] = [];
  let evaluations = 0;
  let errorCount = 0;

  for (let i = 0; i < targets.length; i++) {
    const resource = targets[i]!;
    const rules = catalogue.rulesFor(resource.type);
    const context = rules.length > 0 ? graph.contextOf(resource, now) : undefined;
    for (const compiled of rules) {
      const { rule } = compiled;
      const result = (ruleResults[rule.id] ??= { evaluated: 0, failed: 0, errors: 0 });
      const outcome = evaluateRule(compiled, resource, context!);
      evaluations++;
      if (outcome.outcome === 'error') {
        result.errors++;
        errorCount++;
        if (errors.length < SHOWN_ERRORS) errors.push({ rule_id: rule.id, resource_id: resource.id, message: outcome.message });
        continue;
      }
      result.evaluated++;
      weights[rule.dimension].evaluated += SEVERITY_WEIGHTS[rule.severity];
      if (outcome.outcome === 'pass') {
        passed.add(`${rule.id}\n${resource.id}`);
      } else {
        result.failed++;
        findings[rule.dimension][rule.severity]++;
        weights[rule.dimension].failed += SEVERITY_WEIGHTS[rule.severity];
        failures.push({ rule: compiled, resource, evidence: outcome.evidence, monthlyUsd: outcome.monthly_usd });
      }
    }
    if ((i + 1) % PROGRESS_EVERY === 0 && !(await recordAuditProgress(db, audit, i + 1, targets.length))) throw new AttemptSuperseded();
  }
  if (!(await recordAuditProgress(db, audit, targets.length, targets.length))) throw new AttemptSuperseded();

  return {
    failures,
    passed,
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
async function writeFindings(db: Db, audit: AuditRow, targets: AuditedResource[], evaluation: Evaluation, now: Date) {
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

  for (const { rule: { rule }, resource, evidence, monthlyUsd } of evaluation.failures) {
    if (current && !current.has(resource.id)) continue;
    const content = {
      rule_version: rule.version,
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
    const fingerprint = fingerprintOf(rule.id, resource.id);
    const found = existing.get(fingerprint);
    if (!found) {
      const id = newId('fnd');
      created.push({
        ...content,
        id,
        organization_id: audit.organization_id,
        fingerprint,
        rule_id: rule.id,
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

  const resolved = reanalysis
    ? []
    : [...existing.values()].filter(
        (f) => f.status === 'open' && !changedSinceStart(f) && current!.has(f.resource_id) && evaluation.passed.has(`${f.rule_id}\n${f.resource_id}`),
      );
  for (const finding of resolved) event(finding.id, 'resolved', 'open', 'resolved', 'passed');
  // A full audit also settles findings whose resource went while something reopened them.
  const gone = audit.mode === 'full' ? await lockOpenFindingsOfGoneResources(db, audit.organization_id, audit.account_ids) : [];
  for (const finding of gone) event(finding.id, 'resolved', 'open', 'resolved', 'resource_gone');

  await insertFindings(db, created);
  await updateObservedFindings(db, observed);
  await resolveFindings(db, resolved.map((f) => f.id), { reason: 'passed', at: writtenAt });
  await resolveFindings(db, gone.map((f) => f.id), { reason: 'resource_gone', at: writtenAt });
  await insertFindingEvents(db, events);
  await insertAuditFindings(db, audit.id, seenIds);
  return { new: created.length, recurring, resolved: resolved.length + gone.length };
}
