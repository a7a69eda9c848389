import type { Db } from '../db/database';
import type { AlertRuleRow, DeliveryRow } from '../db/schema';
import { queueDeliveries, wakeDeliveries, type NewDelivery } from '../deliveries/deliveries.service';
import { MAX_NOTIFIED_ITEMS, type Notification, type NotificationItem, type NotifiedFinding, type NotifiedResource } from '../deliveries/notification';
import { raisedByRule, recordEvents } from '../events/events.service';
import { localDayAndHour } from './digest';
import { scoreOf } from '../audits/audits.mapper';
import { frameworkComplianceAsOf } from '../compliance/compliance.service';
import type { JobQueue } from '../jobs/job-queue';
import { DIMENSIONS, SEVERITIES } from '../rules/rule-definition';
import { endpointsSubscribedTo } from '../webhooks/webhooks.service';
import { ALERT_TYPES, AUDIT_ALERT_TYPES, ROTATION_ALERT_TYPES, SCAN_ALERT_TYPES, STAGED_ALERT_TYPES, SYNC_ALERT_TYPES, type AlertType } from './alert-types';
import {
  claimAudit,
  claimEventStages,
  claimRotation,
  claimScan,
  claimSyncRun,
  findRotationForAlerts,
  findScanForAlerts,
  findSyncRunForAlerts,
  type RotationForAlerts,
  type ScanForAlerts,
  type SyncRunForAlerts,
  claimNotifications,
  claimResolvedTriggers,
  claimTriggersOfFindings,
  digestRules,
  DIGEST_SUBJECT,
  lastDigestAt,
  enabledAlertRules,
  expiryCandidates,
  findAuditForAlerts,
  findingEventsOfAudit,
  organizationsWithAlertRules,
  organizationsWithEndingItems,
  previousFullAudit,
  riskAcceptances,
  TRIGGERED_STAGE,
  type AuditForAlerts,
  type FindingCandidate,
} from './alerts.repository';
import { sampleItem } from './sample-notification';
import { daysLeft, EXPIRY_SOURCES, FEED_STAGES, stageAt, type ExpiryAlertType } from './expiry';

export interface AlertRunSettings {
  /** The clock stages are measured by. */
  now: () => Date;
}

/** The audit, discovery scan, rotation or sync run whose events to raise. */
export type AlertJob = { audit_id: string } | { scan_id: string } | { rotation_id: string } | { sync_run_id: string };

/** Something that ended besides an audit, whose events are raised once (claimed). */
type Ended = { kind: 'scan'; scan: ScanForAlerts } | { kind: 'rotation'; rotation: RotationForAlerts } | { kind: 'sync_run'; run: SyncRunForAlerts };

/** Raises the events of whatever the job names. Answers how many deliveries were queued. */
export function raiseJobAlerts(db: Db, jobs: JobQueue, job: AlertJob, settings: AlertRunSettings): Promise<number> {
  if ('scan_id' in job) return raiseScanAlerts(db, jobs, job.scan_id, settings);
  if ('rotation_id' in job) return raiseRotationAlerts(db, jobs, job.rotation_id, settings);
  if ('sync_run_id' in job) return raiseSyncRunAlerts(db, jobs, job.sync_run_id, settings);
  return raiseAuditAlerts(db, jobs, job.audit_id, settings);
}

/**
 * Something a rule may notify: the facets its filters look at, and for staged kinds what it is
 * (`subject`) and when it ends. `item` is the message's line, given its stage once known.
 */
interface Candidate {
  facets: { severity?: string; dimension?: string; rule_id?: string | null; policy_id?: string | null; account_id?: string; resource_type?: string };
  ends?: { subject: string; at: Date };
  item: (stage: { stage: string; days_left: number } | null) => NotificationItem;
}

/** Raises the alerts an ended audit calls for, once per audit however often its job runs. Answers how many deliveries were queued. */
export async function raiseAuditAlerts(db: Db, jobs: JobQueue, auditId: string, settings: AlertRunSettings): Promise<number> {
  const audit = await findAuditForAlerts(db, auditId);
  if (!audit || (audit.status !== 'succeeded' && audit.status !== 'failed')) return 0;
  return raise(db, jobs, audit.organization_id, settings.now(), AUDIT_ALERT_TYPES, audit);
}

/** Raises the events of an ended discovery scan (`scan_completed`, `scan_failed`), once per scan. Answers how many deliveries were queued. */
export async function raiseScanAlerts(db: Db, jobs: JobQueue, scanId: string, settings: AlertRunSettings): Promise<number> {
  const scan = await findScanForAlerts(db, scanId);
  if (!scan || !['succeeded', 'partially_succeeded', 'failed'].includes(scan.status)) return 0;
  return raise(db, jobs, scan.organization_id, settings.now(), SCAN_ALERT_TYPES, null, { kind: 'scan', scan });
}

/** Raises `rotation_failed` for a rotation that ended `failed`, once per rotation. Answers how many deliveries were queued. */
export async function raiseRotationAlerts(db: Db, jobs: JobQueue, rotationId: string, settings: AlertRunSettings): Promise<number> {
  const rotation = await findRotationForAlerts(db, rotationId);
  if (rotation?.status !== 'failed') return 0;
  return raise(db, jobs, rotation.organization_id, settings.now(), ROTATION_ALERT_TYPES, null, { kind: 'rotation', rotation });
}

/** Raises `sync_failed` and `sync_conflict` for an ended sync run, once per run. Answers how many deliveries were queued. */
export async function raiseSyncRunAlerts(db: Db, jobs: JobQueue, syncRunId: string, settings: AlertRunSettings): Promise<number> {
  const run = await findSyncRunForAlerts(db, syncRunId);
  if (!run || !['succeeded', 'partially_succeeded', 'failed'].includes(run.status)) return 0;
  return raise(db, jobs, run.organization_id, settings.now(), SYNC_ALERT_TYPES, null, { kind: 'sync_run', run });
}

/** The scheduled check: what ends (expiries, risk acceptances) in every organization with such rules, noticed even when no audit runs. */
export async function raiseScheduledAlerts(db: Db, jobs: JobQueue, settings: AlertRunSettings): Promise<number> {
  const now = settings.now();
  let queued = 0;
  const expiringTypes = Object.values(EXPIRY_SOURCES).flatMap((sources) => Object.keys(sources));
  const organizations = new Set([...(await organizationsWithEndingItems(db, expiringTypes)), ...(await organizationsWithAlertRules(db, STAGED_ALERT_TYPES))]);
  for (const organizationId of organizations) {
    queued += await raise(db, jobs, organizationId, now, STAGED_ALERT_TYPES, null);
  }
  return queued + (await raiseDigests(db, jobs, now));
}

/**
 * The daily summaries due: each `digest`/`both` rule whose `digest_hour` has come in its zone
 * today and that has not sent today's, lists what it raised since its last summary (one message
 * per recipient; none when it raised nothing). Claimed per local date, so each day sends once.
 */
async function raiseDigests(db: Db, jobs: JobQueue, now: Date): Promise<number> {
  let queued = 0;
  for (const rule of await digestRules(db)) {
    const { day, hour } = localDayAndHour(now, rule.digest_time_zone ?? 'UTC');
    if (hour < (rule.digest_hour ?? 0)) continue;
    const rows = await db.transaction().execute(async (trx) => {
      const claimed = await claimNotifications(trx, [{ alert_rule_id: rule.id, subject: DIGEST_SUBJECT, stage: day, notified_at: now }]);
      if (claimed.length === 0) return [];
      // The first summary lists everything the rule raised.
      const since = (await lastDigestAt(trx, rule.id, day)) ?? new Date(0);
      const raised = await raisedByRule(trx, rule.id, since, now);
      if (raised.length === 0) return [];
      const items = raised.flatMap((r) => r.items).slice(0, MAX_NOTIFIED_ITEMS);
      const total = raised.reduce((sum, r) => sum + r.total, 0);
      return queueDeliveries(trx, jobs, deliveriesOf(rule, { items, total }, now, 'trigger', { since: since.toISOString(), events: raised.length }), now);
    });
    queued += rows.length;
  }
  if (queued > 0) wakeDeliveries(jobs);
  return queued;
}

/**
 * Records the organization's events of `types` in the feed (each once, filtered by nothing,
 * things that end at `FEED_STAGES`) and sends each to the webhook endpoints subscribed to its
 * type; then, for each enabled rule of `types`, what it matches goes out as one message per
 * recipient, staged kinds only at a stage the rule has not notified yet. An endpoint that an
 * enabled rule of the type delivers to gets that rule's (filtered) messages instead of the
 * feed's, so that nothing reaches it twice. Claiming (the audit, the stages) and queuing the
 * deliveries commit together, so nothing is recorded or notified twice, or lost.
 */
async function raise(
  db: Db,
  jobs: JobQueue,
  organizationId: string,
  now: Date,
  types: readonly AlertType[],
  audit: AuditForAlerts | null,
  ended: Ended | null = null,
): Promise<number> {
  const rules = await enabledAlertRules(db, organizationId, types);
  const sources = new Map<string, Promise<Candidate[] | Hits>>();
  const source = (key: string, load: () => Promise<Candidate[] | Hits>) => {
    if (!sources.has(key)) sources.set(key, load());
    return sources.get(key)!;
  };
  const hitsOf = (rule: AlertRuleRow): Promise<Candidate[] | Hits> => {
    const type = rule.alert_type;
    // Finding events are filtered in SQL, so rules share a query only when their filters are the same.
    const key = type === 'score_dropped' ? rule.id : isFindingEvent(type) ? `${type}:${JSON.stringify(rule.filters)}` : type;
    return source(key, () => (isFindingEvent(type) ? findingEvents(db, organizationId, type, rule.filters, audit) : candidates(db, organizationId, type, audit, rule.score_drop, ended)));
  };
  const feedOf = (type: AlertType): Promise<Candidate[] | Hits> =>
    type === 'score_dropped'
      ? dimensionDrops(db, organizationId, audit)
      : source(isFindingEvent(type) ? `${type}:{}` : type, () => (isFindingEvent(type) ? findingEvents(db, organizationId, type, {}, audit) : candidates(db, organizationId, type, audit, null, ended)));
  const feed = await Promise.all(types.map(async (type) => ({ type, hits: await feedOf(type) })));
  const matched = await Promise.all(
    rules.map(async (rule) => {
      const hits = await hitsOf(rule);
      return { rule, hits: Array.isArray(hits) ? hits.filter((c) => matches(rule, c)) : hits };
    }),
  );
  const queued = await db.transaction().execute(async (trx) => {
    if (audit && !(await claimAudit(trx, audit.id, now))) return [];
    if (ended && !(await claimEnded(trx, ended, now))) return [];
    const deliveries: NewDelivery[] = [];
    const events: Notification[] = [];
    for (const { type, hits } of feed) {
      let found = hits;
      if (Array.isArray(found)) {
        const items = ALERT_TYPES[type].staged ? await freshFeedStages(trx, organizationId, found, now) : found.map((c) => c.item(null));
        found = { items, total: items.length };
      }
      if (found.total === 0) continue;
      const event: Notification = { type, alert_rule: null, occurred_at: now.toISOString(), total: found.total, items: found.items.slice(0, MAX_NOTIFIED_ITEMS) };
      events.push(event);
      const ruled = new Set(rules.filter((r) => r.alert_type === type && r.delivery_method === 'webhook').map((r) => r.webhook_endpoint_id));
      for (const endpoint of await endpointsSubscribedTo(trx, organizationId, type)) {
        if (ruled.has(endpoint.id)) continue;
        deliveries.push({ organization_id: organizationId, alert_rule_id: null, webhook_endpoint_id: endpoint.id, method: 'webhook', recipient: endpoint.id, notification: event });
      }
    }
    const notifications: Notification[] = [];
    for (const { rule, hits } of matched) {
      let found = hits;
      if (Array.isArray(found)) {
        const items = ALERT_TYPES[rule.alert_type].staged ? await freshStages(trx, rule, found, now) : found.map((c) => c.item(null));
        found = { items, total: items.length };
      }
      if (found.total > 0) {
        const ruleDeliveries = deliveriesOf(rule, found, now);
        // A digest rule's hits wait for its daily summary.
        if (rule.delivery_mode !== 'digest') deliveries.push(...ruleDeliveries);
        notifications.push(ruleDeliveries[0]!.notification);
      }
      if (rule.delivery_method === 'pagerduty' && audit?.status === 'succeeded' && isFindingEvent(rule.alert_type)) {
        deliveries.push(...(await pagerDutyResolves(trx, rule, audit, found.items, now)));
      }
    }
    await recordEvents(trx, organizationId, events, true);
    await recordEvents(trx, organizationId, notifications, false);
    return queueDeliveries(trx, jobs, deliveries, now);
  });
  if (queued.length > 0) wakeDeliveries(jobs);
  return queued.length;
}

/**
 * A PagerDuty rule of a finding kind remembers the findings it triggered alerts for, and resolves
 * those alerts when an audit resolves the findings: one `resolve` delivery listing them.
 */
async function pagerDutyResolves(trx: Db, rule: AlertRuleRow, audit: AuditForAlerts, triggered: NotificationItem[], now: Date): Promise<NewDelivery[]> {
  const resolved = await claimResolvedTriggers(trx, rule.organization_id, rule.id, audit.id);
  const findingIds = triggered.flatMap((item) => (item.kind === 'finding' ? [item.finding.id] : []));
  await claimNotifications(trx, findingIds.map((id) => ({ alert_rule_id: rule.id, subject: id, stage: TRIGGERED_STAGE, notified_at: now })));
  if (resolved.length === 0) return [];
  const items = resolved.map((row) => ({ kind: 'finding' as const, ...findingParts(row) }));
  return deliveriesOf(rule, { items, total: items.length }, now, 'resolve');
}

/**
 * Resolves the PagerDuty alerts triggered for findings a person took out of `open` (suppressed,
 * risk accepted): one `resolve` delivery per rule, queued in the triage's transaction. Answers
 * how many; call `wakeDeliveries` once it has committed.
 */
export async function resolveTriggersOfTriagedFindings(trx: Db, jobs: JobQueue, organizationId: string, findingIds: string[], now: Date): Promise<number> {
  const deliveries = (await claimTriggersOfFindings(trx, organizationId, findingIds)).flatMap(({ rule, findings }) => {
    if (findings.length === 0 || rule.delivery_method !== 'pagerduty') return [];
    const items = findings.map((row) => ({ kind: 'finding' as const, ...findingParts(row) }));
    return deliveriesOf(rule, { items, total: items.length }, now, 'resolve');
  });
  return (await queueDeliveries(trx, jobs, deliveries, now)).length;
}

/** What a rule matched, ready to send: the first items and how many there were. */
interface Hits {
  items: NotificationItem[];
  total: number;
}

type FindingAlertType = 'finding_opened' | 'finding_reopened';
const isFindingEvent = (type: AlertType): type is FindingAlertType => type === 'finding_opened' || type === 'finding_reopened';

/** The findings the audit opened (or reopened) that pass the filters. */
async function findingEvents(db: Db, organizationId: string, alertType: FindingAlertType, filters: AlertRuleRow['filters'], audit: AuditForAlerts | null): Promise<Hits> {
  if (audit?.status !== 'succeeded') return { items: [], total: 0 };
  const type = alertType === 'finding_opened' ? 'opened' : 'reopened';
  const { rows, total } = await findingEventsOfAudit(db, organizationId, audit.id, type, filters, MAX_NOTIFIED_ITEMS);
  return { items: rows.map((row) => ({ kind: 'finding' as const, ...findingParts(row) })), total };
}

/** A sample message of the rule's type through its delivery method, queued now (it claims nothing). Answers its deliveries. */
export async function sendSample(db: Db, jobs: JobQueue, rule: AlertRuleRow, now: Date): Promise<DeliveryRow[]> {
  const rows = await db.transaction().execute((trx) => queueDeliveries(trx, jobs, deliveriesOf(rule, { items: [sampleItem(rule, now)], total: 1 }, now), now));
  wakeDeliveries(jobs);
  return rows;
}

/** The items at a stage the rule has not notified, claimed. */
function freshStages(trx: Db, rule: AlertRuleRow, candidates: Candidate[], now: Date): Promise<NotificationItem[]> {
  return claimStages(candidates, now, rule.stages, (staged) =>
    claimNotifications(trx, staged.map(({ subject, stage }) => ({ alert_rule_id: rule.id, subject, stage, notified_at: now }))),
  );
}

/** The items at a stage of `FEED_STAGES` the organization's feed has not recorded, claimed. */
function freshFeedStages(trx: Db, organizationId: string, candidates: Candidate[], now: Date): Promise<NotificationItem[]> {
  return claimStages(candidates, now, FEED_STAGES, (staged) => claimEventStages(trx, organizationId, staged, now));
}

async function claimStages(
  candidates: Candidate[],
  now: Date,
  stages: readonly number[],
  claim: (staged: { subject: string; stage: string }[]) => Promise<{ subject: string; stage: string }[]>,
): Promise<NotificationItem[]> {
  const staged = candidates.flatMap((c) => {
    const stage = stageAt(c.ends!.at, now, stages);
    return stage ? [{ subject: `${c.ends!.subject}@${c.ends!.at.toISOString()}`, stage, item: c.item({ stage, days_left: daysLeft(c.ends!.at, now) }) }] : [];
  });
  const fresh = new Set((await claim(staged.map(({ subject, stage }) => ({ subject, stage })))).map((c) => `${c.subject}/${c.stage}`));
  return staged.filter((s) => fresh.has(`${s.subject}/${s.stage}`)).map((s) => s.item);
}

/** What an event of this type may be about (the same for every rule of a type but `score_dropped`, which takes the rule's `score_drop`). */
async function candidates(
  db: Db,
  organizationId: string,
  type: Exclude<AlertType, FindingAlertType>,
  audit: AuditForAlerts | null,
  scoreDrop: AlertRuleRow['score_drop'],
  ended: Ended | null,
): Promise<Candidate[]> {
  switch (type) {
    case 'rotation_failed':
      return ended?.kind === 'rotation' ? [rotationCandidate(ended.rotation)] : [];
    case 'sync_failed':
      return ended?.kind === 'sync_run' && ended.run.status === 'failed' ? [syncCandidate(ended.run, null)] : [];
    case 'sync_conflict':
      return ended?.kind === 'sync_run' ? ended.run.results.filter((result) => result.outcome === 'conflict').map((result) => syncCandidate(ended.run, result)) : [];
    case 'scan_completed':
    case 'scan_failed': {
      const scan = ended?.kind === 'scan' ? ended.scan : null;
      if (!scan || (scan.status === 'failed') !== (type === 'scan_failed')) return [];
      return [
        {
          facets: { account_id: scan.account_id },
          item: () => ({
            kind: 'scan' as const,
            scan: {
              id: scan.id,
              mode: scan.mode,
              status: scan.status,
              error_code: scan.error_code,
              error_message: scan.error_message,
              failures: scan.failures.length,
              audit_id: scan.audit_id,
            },
            account: { id: scan.account_id, name: scan.account_name, external_id: scan.account_external_id },
          }),
        },
      ];
    }
    case 'secret_expiring':
    case 'certificate_expiring':
    case 'key_expiring': {
      const sources = EXPIRY_SOURCES[type as ExpiryAlertType];
      const rows = (await expiryCandidates(db, organizationId, Object.keys(sources))).filter((row) => sources[row.type]);
      return rows.flatMap((row) => {
        const at = sources[row.type]!(row.attributes);
        if (!at) return [];
        const resource: NotifiedResource = {
          id: row.id,
          native_id: row.native_id,
          type: row.type,
          name: row.name,
          region: row.region,
          account: { id: row.account_id, name: row.account_name, external_id: row.account_external_id },
        };
        return [{
          facets: { account_id: row.account_id, resource_type: row.type },
          ends: { subject: row.id, at },
          item: (stage) => ({ kind: 'expiry' as const, resource, expires_at: at.toISOString(), days_left: stage!.days_left, stage: stage!.stage }),
        }];
      });
    }
    case 'risk_acceptance_expiring':
      return (await riskAcceptances(db, organizationId)).map((row) => ({
        ...findingCandidate(row),
        ends: { subject: row.finding_id, at: row.expires_at! },
        item: (stage) => ({
          kind: 'risk_acceptance' as const,
          ...findingParts(row),
          expires_at: row.expires_at!.toISOString(),
          days_left: stage!.days_left,
          stage: stage!.stage,
        }),
      }));
    case 'audit_failed':
      if (audit?.status !== 'failed') return [];
      return [
        {
          facets: {},
          item: () => ({
            kind: 'audit' as const,
            audit: { id: audit.id, mode: audit.mode, status: audit.status, error_code: audit.error_code, error_message: audit.error_message },
          }),
        },
      ];
    case 'score_dropped':
      return scoreDrops(db, organizationId, scoreDrop, audit);
  }
}

function claimEnded(trx: Db, ended: Ended, now: Date): Promise<boolean> {
  switch (ended.kind) {
    case 'scan':
      return claimScan(trx, ended.scan.id, now);
    case 'rotation':
      return claimRotation(trx, ended.rotation.id, now);
    case 'sync_run':
      return claimSyncRun(trx, ended.run.id, now);
  }
}

function rotationCandidate(rotation: RotationForAlerts): Candidate {
  return {
    facets: { account_id: rotation.account_id },
    item: () => ({
      kind: 'rotation' as const,
      rotation: {
        id: rotation.id,
        status: rotation.status,
        application_id: rotation.application_id,
        key_id: rotation.key_id,
        failed_step: rotation.error?.step ?? null,
        error_message: rotation.error?.message ?? null,
        policy_id: rotation.policy_id,
      },
      account: { id: rotation.account_id, name: rotation.account_name, external_id: rotation.account_external_id },
    }),
  };
}

/** A failed run (`result` null: its source account is the facet) or one conflict (its target account). */
function syncCandidate(run: SyncRunForAlerts, result: SyncRunForAlerts['results'][number] | null): Candidate {
  return {
    facets: { account_id: result?.target_account_id ?? run.source.account_id },
    item: () => ({
      kind: 'sync' as const,
      sync: { id: run.sync_id, name: run.sync_name },
      run: { id: run.id, trigger: run.trigger, status: run.status, error_code: run.error_code, error_message: run.error_message },
      result: result && {
        item_kind: result.item_kind,
        item_name: result.item_name,
        target_account_id: result.target_account_id,
        target_service: result.target_service,
        target_name: result.target_name,
        error: result.error,
      },
    }),
  };
}

/** The rule's score, if it fell by at least its points from the previous succeeded full audit of every account to this one. */
async function scoreDrops(db: Db, organizationId: string, drop: AlertRuleRow['score_drop'], audit: AuditForAlerts | null): Promise<Candidate[]> {
  if (!drop || audit?.status !== 'succeeded' || audit.mode !== 'full' || audit.account_ids !== null || !audit.summary) return [];
  const previous = await previousFullAudit(db, organizationId, audit.id);
  if (!previous?.summary) return [];
  const scoreAt = async (auditId: string, summary: NonNullable<AuditForAlerts['summary']>) =>
    drop.dimension !== undefined
      ? scoreOf(summary.weights[drop.dimension])
      : (await frameworkComplianceAsOf(db, organizationId, drop.framework!, auditId)).framework.tally.score;
  const [before, after] = [await scoreAt(previous.id, previous.summary), await scoreAt(audit.id, audit.summary)];
  if (before === null || after === null || before - after < drop.min_points) return [];
  const score = drop.dimension !== undefined ? `dimension:${drop.dimension}` : `framework:${drop.framework}`;
  const fell = Math.round((before - after) * 10) / 10;
  return [{ facets: {}, item: () => ({ kind: 'score' as const, audit_id: audit.id, previous_audit_id: previous.id, score, previous: before, current: after, drop: fell }) }];
}

/**
 * The feed's `score_dropped`: every dimension whose score fell (by any amount, to a tenth of a
 * point) from the previous succeeded full audit of every account to this one, one item each.
 * Framework scores and thresholds are what alert rules add.
 */
async function dimensionDrops(db: Db, organizationId: string, audit: AuditForAlerts | null): Promise<Hits> {
  const none = { items: [], total: 0 };
  if (audit?.status !== 'succeeded' || audit.mode !== 'full' || audit.account_ids !== null || !audit.summary) return none;
  const previous = await previousFullAudit(db, organizationId, audit.id);
  if (!previous?.summary) return none;
  const items: NotificationItem[] = DIMENSIONS.flatMap((dimension) => {
    const [before, after] = [scoreOf(previous.summary!.weights[dimension]), scoreOf(audit.summary!.weights[dimension])];
    const fell = before === null || after === null ? 0 : Math.round((before - after) * 10) / 10;
    return fell > 0 ? [{ kind: 'score' as const, audit_id: audit.id, previous_audit_id: previous.id, score: `dimension:${dimension}`, previous: before!, current: after!, drop: fell }] : [];
  });
  return { items, total: items.length };
}

function findingCandidate(row: FindingCandidate): Pick<Candidate, 'facets'> {
  return {
    facets: {
      severity: row.severity,
      dimension: row.dimension,
      rule_id: row.policy_id === null ? row.rule_id : null,
      policy_id: row.policy_id,
      account_id: row.account_id,
      resource_type: row.resource_type,
    },
  };
}

function findingParts(row: FindingCandidate): { finding: NotifiedFinding; resource: NotifiedResource } {
  return {
    finding: {
      id: row.finding_id,
      title: row.title,
      severity: row.severity,
      dimension: row.dimension,
      rule_id: row.policy_id === null ? row.rule_id : null,
      policy_id: row.policy_id,
      status: row.status,
    },
    resource: {
      id: row.resource_id,
      native_id: row.native_id,
      type: row.resource_type,
      name: row.resource_name,
      region: row.region,
      account: { id: row.account_id, name: row.account_name, external_id: row.account_external_id },
    },
  };
}

/** Whether the rule's filters let the candidate through (an absent or empty filter lets everything through). */
function matches(rule: AlertRuleRow, { facets }: Candidate): boolean {
  const f = rule.filters;
  const within = <T>(list: readonly T[] | undefined, value: T | null | undefined) => !list?.length || (value !== undefined && value !== null && list.includes(value));
  if (f.min_severity && SEVERITIES.indexOf(facets.severity as never) < SEVERITIES.indexOf(f.min_severity)) return false;
  return (
    within(f.dimensions, facets.dimension as never) &&
    within(f.rule_ids, facets.rule_id) &&
    within(f.policy_ids, facets.policy_id) &&
    within(f.account_ids, facets.account_id) &&
    within(f.resource_types, facets.resource_type)
  );
}

/** One message per rule and recipient, listing the first items and how many there were. */
function deliveriesOf(rule: AlertRuleRow, { items, total }: Hits, now: Date, action: 'trigger' | 'resolve' = 'trigger', digest?: Notification['digest']): NewDelivery[] {
  const notification: Notification = {
    type: rule.alert_type,
    ...(action === 'resolve' ? { action } : {}),
    ...(digest ? { digest } : {}),
    alert_rule: { id: rule.id, name: rule.name },
    occurred_at: now.toISOString(),
    total,
    items: items.slice(0, MAX_NOTIFIED_ITEMS),
  };
  const base = { organization_id: rule.organization_id, alert_rule_id: rule.id, method: rule.delivery_method, notification };
  if (rule.delivery_method === 'webhook') return [{ ...base, webhook_endpoint_id: rule.webhook_endpoint_id, recipient: rule.webhook_endpoint_id! }];
  if (rule.delivery_method === 'slack' || rule.delivery_method === 'teams' || rule.delivery_method === 'pagerduty') return [{ ...base, webhook_endpoint_id: null, recipient: rule.delivery_method }];
  return rule.recipients.map((recipient) => ({ ...base, webhook_endpoint_id: null, recipient }));
}
