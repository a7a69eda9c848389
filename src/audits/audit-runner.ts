import diagnosticsChannel from 'node:diagnostics_channel';
import { embeddedDatabaseOf, type Db, type Trx } from '../db/database';
import type { AuditRow, AuditSummaryData } from '../db/schema';
import { decideAuditFindings, evaluationKey, settlesGoneResources, type CurrentFinding, type FailedEvaluation } from '../findings/finding-lifecycle';
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
  lockAuditedAccounts,
  lockOrganization,
  recordAuditProgress,
  startAuditAttempt,
  stillCurrent,
  type AuditedResource,
  type StoredRuleOutcome,
} from './audits.repository';

/** How much one evaluation of a rule of each severity weighs in its dimension's score. */
export const SEVERITY_WEIGHTS: Record<Severity, number> = { info: 0, low: 1, medium: 3, high: 5, critical: 10 };
// Resources evaluated, and then written, at a time; progress is reported after each chunk.
const CHUNK = 2000;
// Resources evaluated between two turns of the event loop (a few milliseconds).
const YIELD_EVERY = 100;
const SHOWN_ERRORS = 50;

/** Where each audit that succeeds publishes how its time went (benchmarks subscribe; nothing listens otherwise). */
export const auditTimingsChannel = diagnosticsChannel.channel('fourfold:audit-timings');

export interface AuditTimings {
  auditId: string;
  evaluations: number;
  /** Time spent evaluating rules, in this thread (one core). */
  evaluationSeconds: number;
  /** CPU this process spent meanwhile (user + system): on a loaded machine, what the evaluation cost rather than how long it waited for a core. */
  evaluationCpuSeconds: number;
  /** Finding rows inserted or updated (new, refreshed, reopened, re-sighted, resolved). */
  findingsWritten: number;
  /** Time the chunks' writes took (statements in flight, partly overlapped with the evaluation of the next chunk). */
  writeSeconds: number;
}

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
 * Runs a queued audit: evaluates the catalogue over its resources in chunks, and writes each
 * chunk's findings, their events and what the audit saw, then the summary, in one transaction, so
 * an audit is never half-written. On PostgreSQL the transaction is open while the audit
 * evaluates, and each chunk is written while the next one is evaluated (the server writes on one
 * core while this process evaluates on another); PGlite has one connection, which the progress
 * reports need, and runs in this thread anyway, so there the whole evaluation comes first. A
 * worker that dies leaves the audit `running` and its transaction rolled back; the job's retry
 * starts a new attempt from the beginning, and an older attempt still running stops at its next
 * progress report or at its final write.
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
    const tally = new Tally();
    const evaluated = evaluateInChunks(db, audit, rules, new ResourceGraph(estate), targets, now, tally);
    const chunks = embeddedDatabaseOf(db) === undefined ? evaluated : await allOf(evaluated);
    const writes = { rows: 0, seconds: 0 };
    await db.transaction().execute(async (trx) => {
      await lockOrganization(trx, audit.organization_id);
      await lockAuditedAccounts(trx, audit.organization_id, targets);
      const counts = await writeChunks(trx, audit, targets, chunks, rules, now, writes);
      const completed = await completeAudit(trx, audit, {
        resources: targets.length,
        ruleVersions: Object.fromEntries(catalogue.rules.map((r) => [r.rule.id, r.rule.version])),
        policyVersions: rules.applied,
        summary: { ...tally.summary(targets.length), ...counts },
      });
      if (!completed) throw new AttemptSuperseded();
    });
    if (auditTimingsChannel.hasSubscribers) {
      auditTimingsChannel.publish({
        auditId,
        evaluations: tally.evaluations,
        evaluationSeconds: tally.evaluationSeconds,
        evaluationCpuSeconds: tally.evaluationCpuSeconds,
        findingsWritten: writes.rows,
        writeSeconds: writes.seconds,
      } satisfies AuditTimings);
    }
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

/** The evaluations of one chunk of the audit's resources: everything the finding lifecycle decides a resource's findings from. */
interface Chunk {
  resources: AuditedResource[];
  failures: Failure[];
  /**
   * `evaluationKey` of every evaluation that did not pass (failed, skipped, unknown, error): a
   * rule of a resource's type that is not here passed on it. Most evaluations pass, and a key
   * made for each would be made for nothing on most: only those of a current finding are asked.
   */
  notPassed: Set<string>;
  /** `evaluationKey` of every evaluation an override skipped: the findings it resolves as excepted. */
  excepted: Set<string>;
  /** The unknown and error outcomes, as stored for `GET /v1/resources/{id}/evaluations`. */
  undecided: StoredRuleOutcome[];
}

type RuleResultCounts = AuditSummaryData['rule_results'][string];

/** Where the evaluations of one rule are counted: its entry of the summary's rule results, and its dimension's and severity's. */
interface RuleCounters {
  result: RuleResultCounts;
  weights: AuditSummaryData['weights'][keyof AuditSummaryData['weights']];
  findings: Record<Severity, number>;
  severity: Severity;
  weight: number;
}

/** The audit summary's evaluation counts, over all chunks. */
class Tally {
  readonly findings = Object.fromEntries(DIMENSIONS.map((d) => [d, Object.fromEntries(SEVERITIES.map((s) => [s, 0]))])) as AuditSummaryData['findings'];
  readonly weights = Object.fromEntries(DIMENSIONS.map((d) => [d, { evaluated: 0, failed: 0 }])) as AuditSummaryData['weights'];
  readonly ruleResults: AuditSummaryData['rule_results'] = {};
  readonly errors: AuditSummaryData['errors'] = [];
  evaluations = 0;
  evaluationSeconds = 0;
  evaluationCpuSeconds = 0;
  errorCount = 0;
  unknownCount = 0;
  // By rule object, looked up once per evaluation: cheaper than the summary's maps by rule id, dimension and severity each time.
  private readonly counters = new Map<EffectiveRule, RuleCounters>();

  /** The counters of a rule; its summary entry is made when it is first evaluated (not when it is only skipped). */
  countersOf(effective: EffectiveRule): RuleCounters {
    let counters = this.counters.get(effective);
    if (counters === undefined) {
      const { dimension, severity } = effective.compiled.rule;
      counters = {
        result: (this.ruleResults[effective.key] ??= { evaluated: 0, failed: 0, errors: 0, unknown: 0 }),
        weights: this.weights[dimension],
        findings: this.findings[dimension],
        severity,
        weight: SEVERITY_WEIGHTS[severity],
      };
      this.counters.set(effective, counters);
    }
    return counters;
  }

  summary(resources: number): Omit<AuditSummaryData, 'new' | 'recurring' | 'resolved'> {
    return {
      findings: this.findings,
      weights: this.weights,
      rule_results: this.ruleResults,
      errors: this.errors,
      coverage: {
        resources_evaluated: resources,
        rules_evaluated: Object.keys(this.ruleResults).length,
        evaluations: this.evaluations,
        evaluation_errors: this.errorCount,
        evaluation_unknowns: this.unknownCount,
      },
    };
  }
}

/**
 * Evaluates the targets chunk by chunk, counting into `tally` and reporting progress after each.
 * It gives way to the event loop every few resources, so that the writes of the chunk before
 * proceed meanwhile.
 */
async function* evaluateInChunks(
  db: Db,
  audit: AuditRow,
  ruleSet: RuleSet,
  graph: ResourceGraph,
  targets: AuditedResource[],
  now: Date,
  tally: Tally,
): AsyncGenerator<Chunk> {
  for (let start = 0; start < targets.length; start += CHUNK) {
    const chunk: Chunk = { resources: targets.slice(start, start + CHUNK), failures: [], notPassed: new Set(), excepted: new Set(), undecided: [] };
    for (let from = 0; from < chunk.resources.length; from += YIELD_EVERY) {
      const started = performance.now();
      const cpu = process.cpuUsage();
      for (const resource of chunk.resources.slice(from, from + YIELD_EVERY)) evaluateResource(ruleSet, graph, resource, now, tally, chunk);
      const spent = process.cpuUsage(cpu);
      tally.evaluationSeconds += (performance.now() - started) / 1000;
      tally.evaluationCpuSeconds += (spent.user + spent.system) / 1e6;
      await new Promise(setImmediate);
    }
    const evaluated = start + chunk.resources.length;
    if (!(await recordAuditProgress(db, audit, evaluated, targets.length))) throw new AttemptSuperseded();
    yield chunk;
  }
  if (targets.length === 0 && !(await recordAuditProgress(db, audit, 0, 0))) throw new AttemptSuperseded();
}

function evaluateResource(ruleSet: RuleSet, graph: ResourceGraph, resource: AuditedResource, now: Date, tally: Tally, chunk: Chunk): void {
  const rules = ruleSet.rulesFor(resource.type);
  if (rules.length === 0) return;
  const context = graph.contextOf(resource, now);
  for (const effective of rules) {
    const outcome = ruleSet.evaluate(effective, resource, context);
    if (outcome.outcome === 'skipped') {
      const key = evaluationKey(effective.key, resource.id);
      chunk.excepted.add(key);
      chunk.notPassed.add(key);
      continue;
    }
    const counters = tally.countersOf(effective);
    const { result } = counters;
    tally.evaluations++;
    if (outcome.outcome === 'error') {
      result.errors++;
      tally.errorCount++;
      if (tally.errors.length < SHOWN_ERRORS) tally.errors.push({ rule_id: effective.key, resource_id: resource.id, message: outcome.message });
      chunk.undecided.push({ resource_id: resource.id, rule_id: effective.key, outcome: 'error', unknown_paths: null, message: outcome.message });
      chunk.notPassed.add(evaluationKey(effective.key, resource.id));
      continue;
    }
    // Unknown: counted and stored, but neither a pass nor a failure (the finding lifecycle leaves its finding as it is).
    if (outcome.outcome === 'unknown') {
      result.unknown = (result.unknown ?? 0) + 1;
      tally.unknownCount++;
      chunk.undecided.push({ resource_id: resource.id, rule_id: effective.key, outcome: 'unknown', unknown_paths: outcome.unknown_paths, message: null });
      chunk.notPassed.add(evaluationKey(effective.key, resource.id));
      continue;
    }
    result.evaluated++;
    counters.weights.evaluated += counters.weight;
    if (outcome.outcome !== 'pass') {
      chunk.notPassed.add(evaluationKey(effective.key, resource.id));
      result.failed++;
      counters.findings[counters.severity]++;
      counters.weights.failed += counters.weight;
      chunk.failures.push({ rule: effective, resource, evidence: outcome.evidence, monthlyUsd: outcome.monthly_usd });
    }
  }
}

async function allOf<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/**
 * Locks the current findings of the audit's resources and settles those of gone resources, then
 * writes each chunk as it comes, while the next is evaluated; answers the summary's counts.
 * The findings are read once, before the audit writes any: looked up chunk by chunk in a table
 * the audit is filling, without statistics yet for a new one, they would cost a scan each.
 */
async function writeChunks(
  trx: Trx,
  audit: AuditRow,
  targets: AuditedResource[],
  chunks: AsyncIterable<Chunk> | Iterable<Chunk>,
  rules: RuleSet,
  now: Date,
  writes: { rows: number; seconds: number },
) {
  const counts = { new: 0, recurring: 0, resolved: 0 };
  const current = new Map<string, CurrentFinding[]>();
  const write = async (chunk: Chunk, goneFindings: CurrentFinding[] = []) => {
    const findings = chunk.resources.flatMap((r) => current.get(r.id) ?? []);
    for (const resource of chunk.resources) current.delete(resource.id);
    const started = performance.now();
    const changes = await writeFindings(trx, audit, { ...chunk, findings, goneFindings }, rules, now);
    writes.seconds += (performance.now() - started) / 1000;
    writes.rows += changes.written;
    counts.new += changes.new;
    counts.recurring += changes.recurring;
    counts.resolved += changes.resolved;
  };
  const started = (writing: Promise<void>) => {
    // Awaited before the next write or on the way out; until then, not an unhandled rejection.
    writing.catch(() => {});
    return writing;
  };
  let writing = started(
    (async () => {
      for (const finding of await lockFindingsOfResources(trx, audit.organization_id, targets.map((r) => r.id))) {
        const list = current.get(finding.resource_id);
        if (list) list.push(finding);
        else current.set(finding.resource_id, [finding]);
      }
      if (settlesGoneResources(audit.mode)) {
        const gone = await lockOpenFindingsOfGoneResources(trx, audit.organization_id, audit.account_ids);
        await write({ resources: [], failures: [], notPassed: new Set(), excepted: new Set(), undecided: [] }, gone);
      }
    })(),
  );
  try {
    for await (const chunk of chunks) {
      await writing;
      writing = started(write(chunk));
    }
    await writing;
  } finally {
    await writing.catch(() => {});
  }
  return counts;
}

/**
 * Writes what a chunk does to its resources' current findings (`findings`, locked; decided by
 * `decideAuditFindings`, which says how) and to `goneFindings`, which findings and resource
 * versions the audit saw and the undecided outcomes; answers the chunk's counts.
 */
async function writeFindings(
  trx: Trx,
  audit: AuditRow,
  chunk: Chunk & { findings: CurrentFinding[]; goneFindings: CurrentFinding[] },
  rules: RuleSet,
  now: Date,
) {
  const targets = chunk.resources;
  const stillCurrentIds = audit.mode === 'reanalysis' ? null : await stillCurrent(trx, targets.map(({ id, version }) => ({ id, version })));
  const changes = decideAuditFindings({
    audit: { id: audit.id, organization_id: audit.organization_id, mode: audit.mode, started_at: audit.started_at! },
    seenAt: now,
    now: new Date(),
    failures: chunk.failures.map(failedEvaluation),
    passed: passesOf(chunk, rules),
    excepted: chunk.excepted,
    findings: chunk.findings,
    stillCurrent: stillCurrentIds,
    goneFindings: chunk.goneFindings,
    ruleCovers: (ruleId, resourceType) => rules.rule(ruleId)?.compiled.rule.resource_types.includes(resourceType) ?? false,
    newId,
  });
  await applyFindingChanges(trx, changes);
  await insertAuditFindings(trx, audit.id, changes.seen);
  await insertAuditResources(trx, audit.id, targets);
  await insertAuditRuleOutcomes(trx, audit.id, chunk.undecided);
  const written = changes.opened.length + changes.reopened.length + changes.updated.length + (changes.sighted?.ids.length ?? 0) + changes.resolved.length;
  return { ...changes.counts, written };
}

/** The evaluations of a chunk that passed, as `decideAuditFindings` asks: a rule of the resource's type that did not end otherwise. */
function passesOf(chunk: Chunk, rules: RuleSet): { has(key: string): boolean } {
  const types = new Map(chunk.resources.map((r) => [r.id, r.type]));
  return {
    has: (key) => {
      if (chunk.notPassed.has(key)) return false;
      const [ruleKey, resourceId] = key.split('\n') as [string, string];
      const type = types.get(resourceId);
      return type !== undefined && rules.rulesFor(type).some((rule) => rule.key === ruleKey);
    },
  };
}

/** A failure as the finding lifecycle takes it: what the finding says, from the rule as the organization applies it. */
function failedEvaluation({ rule: effective, resource, evidence, monthlyUsd }: Failure): FailedEvaluation {
  const { rule } = effective.compiled;
  return {
    ruleId: effective.key,
    // The resource itself (it has what the lifecycle reads), rather than a copy of those fields per failure.
    resource,
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
