import { hash } from 'node:crypto';
import type { AuditMode, FindingEventRow, FindingRow, FindingSightingsTable, FindingStatus, FindingsTable } from '../db/schema';
import { SEVERITIES } from '../rules/rule-definition';

/**
 * The finding lifecycle, as pure decisions: what an audit's results, or resources gone in an
 * import, do to findings (open, reopen, refresh, resolve), and every finding event, made here and
 * nowhere else. No database and no clock: callers pass the current findings, the time (`now`) and
 * an id maker, and write the answer with `applyFindingChanges` (findings.service.ts).
 */

/** A finding as written (its row and its sighting's): JSON columns as values, serialized once per batch. */
export type FindingWrite = Omit<FindingsTable, 'evidence' | 'remediation' | 'compliance' | 'content_hash'> & {
  evidence: unknown;
  remediation: unknown;
  compliance: unknown;
  /** Written by audits; absent: null (the next audit rewrites the content). */
  content_hash?: string | null;
} & Pick<FindingSightingsTable, 'last_seen_at' | 'last_audit_id' | 'updated_at'>;

/** What an audit rewrites of an existing finding it saw failing: content, sighting, and status where it changes. */
export type ObservedFindingWrite = Pick<
  FindingWrite,
  | 'id' | 'rule_version' | 'region' | 'title' | 'description' | 'dimension' | 'severity' | 'severity_rank' | 'status' | 'status_reason'
  | 'evidence' | 'remediation' | 'compliance' | 'cost_monthly_usd' | 'policy_id' | 'policy_version' | 'last_seen_at' | 'last_audit_id' | 'resolved_at' | 'updated_at'
  | 'content_hash'
>;

/** Why an audit or an import resolves a finding (its `status_reason`). */
export type ResolveReason = 'passed' | 'resource_gone' | 'excepted_by_policy' | 'policy_disabled';

export interface Resolution {
  id: string;
  reason: ResolveReason;
}

/** Makes a new id; `newId` from ids.ts, or a counter in tests. */
export type IdMaker = (prefix: 'fnd' | 'fev') => string;

/** What the lifecycle reads of a current finding (locked by the caller): its identity and status, not its content. */
export type CurrentFinding = Pick<
  FindingRow,
  'id' | 'fingerprint' | 'rule_id' | 'resource_id' | 'resource_type' | 'policy_id' | 'status' | 'status_reason' | 'resolved_at' | 'updated_at' | 'content_hash'
>;

/** A set of changes to findings and the events that record them, as `applyFindingChanges` writes them. */
export interface FindingChanges {
  /** New findings. */
  opened: FindingWrite[];
  /** Resolved findings that failed again: back to `open`, with their content refreshed. */
  reopened: ObservedFindingWrite[];
  /** Findings seen failing again and left in their status (open, suppressed, risk_accepted): content and sighting refreshed. */
  updated: ObservedFindingWrite[];
  /**
   * Findings seen failing again with the content they already hold, left in their status: only
   * their sighting changes (`last_seen_at`, `last_audit_id`, `updated_at`), as `updated` would
   * write it. Absent when there are none.
   */
  sighted?: { ids: string[]; lastSeenAt: Date; auditId: string; at: Date };
  /** Open findings to resolve, each with why. */
  resolved: Resolution[];
  /** When the resolutions happen (`resolved_at`, `updated_at`). */
  resolvedAt: Date;
  /** One event per status change above, in the order they happened. */
  events: FindingEventRow[];
}

/** What an audit says the findings should say about one rule failing on one resource. */
export interface FindingContent {
  rule_version: number;
  policy_id: string | null;
  policy_version: number | null;
  title: string;
  description: string;
  dimension: FindingsTable['dimension'];
  severity: FindingsTable['severity'];
  evidence: unknown;
  remediation: unknown;
  compliance: unknown;
  cost_monthly_usd: number | null;
}

/** One evaluation that failed: the rule (its key: built-in rule id or custom policy id), the resource, and the content. */
export interface FailedEvaluation {
  ruleId: string;
  resource: { id: string; account_id: string; type: string; region: string | null };
  content: FindingContent;
}

export interface AuditResults {
  audit: { id: string; organization_id: string; mode: AuditMode; started_at: Date };
  /** The audit's clock (`first_seen_at`, `last_seen_at`). */
  seenAt: Date;
  /** When the results are written (`updated_at`, `resolved_at`, the events' `created_at`). */
  now: Date;
  failures: readonly FailedEvaluation[];
  /** `evaluationKey(rule, resource)` of every evaluation that passed: the findings it resolves. */
  passed: { has(key: string): boolean };
  /** `evaluationKey(rule, resource)` of every evaluation an override skipped: the findings it resolves as excepted. */
  excepted: ReadonlySet<string>;
  /** The current findings of the evaluated resources, all statuses (locked by the caller). */
  findings: readonly CurrentFinding[];
  /**
   * Of the evaluated resources, those still active at the version evaluated; the others changed
   * or went while the audit ran, and are left to the next audit. Null: all of them (a reanalysis).
   */
  stillCurrent: ReadonlySet<string> | null;
  /** Open findings of gone resources (see `settlesGoneResources`), locked by the caller. */
  goneFindings: readonly CurrentFinding[];
  /** Whether the rule `ruleId` (as the audit applies it) still covers resources of this type. */
  ruleCovers: (ruleId: string, resourceType: string) => boolean;
  newId: IdMaker;
}

export interface AuditFindingChanges extends FindingChanges {
  /** Every finding the audit saw failing, new or not, in the order of `failures`. */
  seen: string[];
  /** The audit summary's counts. */
  counts: { new: number; recurring: number; resolved: number };
}

/** The key of one evaluation in `AuditResults.passed` and `excepted`. */
export function evaluationKey(ruleId: string, resourceId: string): string {
  return `${ruleId}\n${resourceId}`;
}

/** Findings are stable per organization, rule and resource across audits. */
export function fingerprintOf(ruleId: string, resourceId: string): string {
  return hash('sha256', `${ruleId}\n${resourceId}`, 'hex').slice(0, 32);
}

// Remediation and compliance mappings are one object per rule, shared by all its findings: serialized once.
const serialized = new WeakMap<object, string>();
function jsonOf(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  let json = serialized.get(value);
  if (json === undefined) serialized.set(value, (json = JSON.stringify(value)));
  return json;
}

/** A hash of what a finding says (everything an audit writes of it but its status and sighting): equal hashes, nothing to rewrite. */
export function contentHashOf(content: FindingContent, region: string | null): string {
  const { rule_version, policy_id, policy_version, title, description, dimension, severity, cost_monthly_usd } = content;
  // One-shot over the three parts joined: the same digest as hashing them in turn, without a Hash object per finding.
  const varying = JSON.stringify([rule_version, policy_id, policy_version, title, description, dimension, severity, cost_monthly_usd, region, content.evidence]);
  return hash('sha256', varying + jsonOf(content.remediation) + jsonOf(content.compliance), 'base64url');
}

/** Whether an audit of this mode also resolves open findings of gone resources (`AuditResults.goneFindings`). */
export function settlesGoneResources(mode: AuditMode): boolean {
  return mode === 'full';
}

/**
 * What an audit's results do to findings. It opens new findings, reopens resolved ones that fail
 * again, refreshes the ones still failing (keeping a suppression or risk acceptance), and resolves
 * open ones it settles: the rule passed (`passed`), an override skipped the resource
 * (`excepted_by_policy`), or the custom policy behind it no longer covers the resource's type
 * (`policy_disabled`); a full audit also resolves open findings of gone resources
 * (`resource_gone`). Every status change is an event. An `unknown` result (a value known only
 * after apply left the condition undecided) is neither a failure nor a pass: like an evaluation
 * that did not happen, it opens nothing and leaves an open finding of that rule as it is.
 *
 * A finding changed since the audit started (triage, the expiry job, a newer audit or import) and
 * a resource changed or gone since it was read are left to the next audit (its failures count as
 * neither new nor recurring). A reanalysis judges past versions: it records what failed and opens
 * findings never seen before, but changes no existing finding, since the estate may have moved on.
 */
export function decideAuditFindings(results: AuditResults): AuditFindingChanges {
  const { audit, seenAt, now, newId } = results;
  const reanalysis = audit.mode === 'reanalysis';
  const current = results.stillCurrent;
  const isCurrent = (resourceId: string) => current === null || current.has(resourceId);
  const existing = new Map<string, CurrentFinding>();
  for (const finding of results.findings) existing.set(finding.fingerprint, finding);
  const changedSinceStart = (finding: CurrentFinding) => finding.updated_at > audit.started_at;
  const changes: AuditFindingChanges = {
    opened: [],
    reopened: [],
    updated: [],
    resolved: [],
    resolvedAt: now,
    events: [],
    seen: [],
    counts: { new: 0, recurring: 0, resolved: 0 },
  };
  const event = (findingId: string, type: FindingEventRow['type'], from: FindingStatus | null, to: FindingStatus, reason: string | null) =>
    changes.events.push(lifecycleEvent(newId, { findingId, type, from, to, reason, auditId: audit.id, at: now }));

  /** What the audit writes of a finding it saw failing: the content, the sighting, and the status given. */
  const observedWrite = (
    content: FindingContent,
    region: string | null,
    contentHash: string,
    id: string,
    status: FindingStatus,
    statusReason: string | null,
    resolvedAt: Date | null,
  ): ObservedFindingWrite => ({
    id,
    rule_version: content.rule_version,
    policy_id: content.policy_id,
    policy_version: content.policy_version,
    title: content.title,
    description: content.description,
    dimension: content.dimension,
    severity: content.severity,
    severity_rank: SEVERITIES.indexOf(content.severity),
    evidence: content.evidence,
    remediation: content.remediation,
    compliance: content.compliance,
    cost_monthly_usd: content.cost_monthly_usd,
    region,
    status,
    status_reason: statusReason,
    resolved_at: resolvedAt,
    last_seen_at: seenAt,
    last_audit_id: audit.id,
    updated_at: now,
    content_hash: contentHash,
  });
  const sighted: string[] = [];
  for (const { ruleId, resource, content } of results.failures) {
    if (!isCurrent(resource.id)) continue;
    const contentHash = contentHashOf(content, resource.region);
    const fingerprint = fingerprintOf(ruleId, resource.id);
    const found = existing.get(fingerprint);
    if (!found) {
      const id = newId('fnd');
      // The columns only a new finding has are added to the observed row in one order, so that
      // every row shares one V8 layout (a row spread from another got one of its own, and every
      // read of it by the batch writer a slow lookup).
      changes.opened.push(
        Object.assign(observedWrite(content, resource.region, contentHash, id, 'open', null, null), {
          organization_id: audit.organization_id,
          fingerprint,
          rule_id: ruleId,
          resource_id: resource.id,
          account_id: resource.account_id,
          resource_type: resource.type,
          expires_at: null,
          note: null,
          first_seen_at: seenAt,
          first_audit_id: audit.id,
        }),
      );
      event(id, 'opened', null, 'open', null);
      changes.seen.push(id);
      continue;
    }
    changes.counts.recurring++;
    changes.seen.push(found.id);
    if (reanalysis || changedSinceStart(found)) continue;
    if (found.status === 'resolved') {
      event(found.id, 'reopened', 'resolved', 'open', 'failed again');
      changes.reopened.push(observedWrite(content, resource.region, contentHash, found.id, 'open', null, null));
    } else if (found.content_hash === contentHash) {
      sighted.push(found.id);
    } else {
      changes.updated.push(observedWrite(content, resource.region, contentHash, found.id, found.status, found.status_reason, found.resolved_at));
    }
  }
  if (sighted.length > 0) changes.sighted = { ids: sighted, lastSeenAt: seenAt, auditId: audit.id, at: now };

  const settle = (finding: CurrentFinding): ResolveReason | null => {
    const key = evaluationKey(finding.rule_id, finding.resource_id);
    if (results.passed.has(key)) return 'passed';
    if (results.excepted.has(key)) return 'excepted_by_policy';
    if (finding.policy_id !== null && !results.ruleCovers(finding.rule_id, finding.resource_type)) return 'policy_disabled';
    return null;
  };
  if (!reanalysis) {
    for (const finding of existing.values()) {
      if (finding.status !== 'open' || changedSinceStart(finding) || !isCurrent(finding.resource_id)) continue;
      const reason = settle(finding);
      if (reason === null) continue;
      changes.resolved.push({ id: finding.id, reason });
      event(finding.id, 'resolved', 'open', 'resolved', reason);
    }
  }
  // A full audit also settles findings whose resource went while something reopened them.
  if (settlesGoneResources(audit.mode)) {
    for (const finding of results.goneFindings) {
      changes.resolved.push({ id: finding.id, reason: 'resource_gone' });
      event(finding.id, 'resolved', 'open', 'resolved', 'resource_gone');
    }
  }
  changes.counts.new = changes.opened.length;
  changes.counts.resolved = changes.resolved.length;
  return changes;
}

/** Resolves, as `resource_gone` at `now`, open findings whose resources an import found gone. */
export function resolveGoneResourceFindings(findings: readonly Pick<FindingRow, 'id'>[], now: Date, newId: IdMaker): FindingChanges {
  return {
    opened: [],
    reopened: [],
    updated: [],
    resolved: findings.map(({ id }) => ({ id, reason: 'resource_gone' })),
    resolvedAt: now,
    events: findings.map(({ id }) =>
      lifecycleEvent(newId, { findingId: id, type: 'resolved', from: 'open', to: 'resolved', reason: 'resource_gone', auditId: null, at: now }),
    ),
  };
}

/** The event of a person changing a finding's status (triage). */
export function statusChangedEvent(
  newId: IdMaker,
  change: { findingId: string; from: FindingStatus; to: FindingStatus; reason: string | null; actorUserId: string; at: Date },
): FindingEventRow {
  return { ...lifecycleEvent(newId, { ...change, type: 'status_changed', auditId: null }), actor_user_id: change.actorUserId };
}

/** The events of risk acceptances that ended: back to `open`, by the system. */
export function expiredEvents(newId: IdMaker, findingIds: readonly string[], reason: string, at: Date): FindingEventRow[] {
  return findingIds.map((findingId) => lifecycleEvent(newId, { findingId, type: 'expired', from: 'risk_accepted', to: 'open', reason, auditId: null, at }));
}

function lifecycleEvent(
  newId: IdMaker,
  e: { findingId: string; type: FindingEventRow['type']; from: FindingStatus | null; to: FindingStatus; reason: string | null; auditId: string | null; at: Date },
): FindingEventRow {
  return {
    id: newId('fev'),
    finding_id: e.findingId,
    type: e.type,
    from_status: e.from,
    to_status: e.to,
    reason: e.reason,
    actor_user_id: null,
    audit_id: e.auditId,
    created_at: e.at,
  };
}
