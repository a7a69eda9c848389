import type { Insertable, Updateable } from 'kysely';
import type { Db } from '../db/database';
import type { AlertRuleRow, AlertRulesTable } from '../db/schema';
import type { Schemas } from '../http/contract';
import { SEVERITIES } from '../rules/rule-definition';

type Severity = Schemas['Severity'];
type AlertFilters = Schemas['AlertFilters'];

export function insertAlertRule(db: Db, row: Insertable<AlertRulesTable>): Promise<AlertRuleRow> {
  return db.insertInto('alert_rules').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findAlertRule(db: Db, organizationId: string, id: string): Promise<AlertRuleRow | undefined> {
  return db.selectFrom('alert_rules').selectAll().where('organization_id', '=', organizationId).where('id', '=', id).executeTakeFirst();
}

/** The organization's alert rules, newest first, below the keyset position `beforeId`. */
export function listAlertRules(db: Db, organizationId: string, limit: number, beforeId?: string): Promise<AlertRuleRow[]> {
  let query = db.selectFrom('alert_rules').selectAll().where('organization_id', '=', organizationId);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  return query.orderBy('id', 'desc').limit(limit).execute();
}

export function updateAlertRule(db: Db, organizationId: string, id: string, change: Updateable<AlertRulesTable>): Promise<AlertRuleRow | undefined> {
  return db.updateTable('alert_rules').set(change).where('organization_id', '=', organizationId).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function deleteAlertRule(db: Db, organizationId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('alert_rules').where('organization_id', '=', organizationId).where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** The enabled rules of these types: of one organization, or of every organization (null). */
export function enabledAlertRules(db: Db, organizationId: string | null, types: readonly AlertRuleRow['alert_type'][]): Promise<AlertRuleRow[]> {
  let query = db.selectFrom('alert_rules').selectAll().where('enabled', '=', true).where('alert_type', 'in', [...types]);
  if (organizationId !== null) query = query.where('organization_id', '=', organizationId);
  return query.orderBy('id').execute();
}

export interface ExpiryCandidate {
  id: string;
  native_id: string;
  type: string;
  name: string | null;
  region: string | null;
  attributes: Record<string, unknown>;
  account_id: string;
  account_name: string;
  account_external_id: string;
}

/** The organization's active resources of these types, with their account. */
export function expiryCandidates(db: Db, organizationId: string, types: readonly string[]): Promise<ExpiryCandidate[]> {
  if (types.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('resources as r')
    .innerJoin('accounts as a', 'a.id', 'r.account_id')
    .select(['r.id', 'r.native_id', 'r.type', 'r.name', 'r.region', 'r.attributes', 'r.account_id', 'a.name as account_name', 'a.external_id as account_external_id'])
    .where('r.organization_id', '=', organizationId)
    .where('r.status', '=', 'active')
    .where('r.type', 'in', [...types])
    .orderBy('r.id')
    .execute();
}

/** Records these notifications; answers those not recorded before (the ones to send). */
export async function claimNotifications(db: Db, rows: { alert_rule_id: string; subject: string; stage: string; notified_at: Date }[]) {
  if (rows.length === 0) return [];
  return db
    .insertInto('alert_notifications')
    .values(rows)
    .onConflict((oc) => oc.columns(['alert_rule_id', 'subject', 'stage']).doNothing())
    .returning(['alert_rule_id', 'subject', 'stage'])
    .execute();
}

/** Marks the audit's alerts raised; false when they were already (a retried job). */
export async function claimAudit(db: Db, auditId: string, now: Date): Promise<boolean> {
  const claimed = await db
    .insertInto('alerted_audits')
    .values({ audit_id: auditId, alerted_at: now })
    .onConflict((oc) => oc.column('audit_id').doNothing())
    .returning('audit_id')
    .executeTakeFirst();
  return claimed !== undefined;
}

export function findAuditForAlerts(db: Db, auditId: string) {
  return db
    .selectFrom('audits')
    .select(['id', 'organization_id', 'status', 'mode', 'account_ids', 'error_code', 'error_message', 'summary'])
    .where('id', '=', auditId)
    .executeTakeFirst();
}
export type AuditForAlerts = NonNullable<Awaited<ReturnType<typeof findAuditForAlerts>>>;

/** The succeeded full audit of every account before `auditId`, if any. */
export function previousFullAudit(db: Db, organizationId: string, auditId: string) {
  return db
    .selectFrom('audits')
    .select(['id', 'summary'])
    .where('organization_id', '=', organizationId)
    .where('mode', '=', 'full')
    .where('status', '=', 'succeeded')
    .where('account_ids', 'is', null)
    .where('id', '<', auditId)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export interface FindingCandidate {
  event_id: string;
  finding_id: string;
  title: string;
  severity: Severity;
  dimension: string;
  rule_id: string;
  policy_id: string | null;
  status: string;
  expires_at: Date | null;
  resource_id: string;
  resource_type: string;
  native_id: string;
  resource_name: string | null;
  region: string | null;
  account_id: string;
  account_name: string;
  account_external_id: string;
}

const FINDING_COLUMNS = [
  'f.id as finding_id', 'f.title', 'f.severity', 'f.dimension', 'f.rule_id', 'f.policy_id', 'f.status', 'f.expires_at',
  'f.resource_id', 'f.resource_type', 'r.native_id', 'r.name as resource_name', 'f.region', 'f.account_id', 'a.name as account_name',
  'a.external_id as account_external_id',
] as const;

/**
 * The findings the audit opened or reopened (`type`) that pass the filters, most severe first:
 * the first `limit`, and how many there are. Filtered and counted in SQL, because an audit may
 * open tens of thousands and a message lists only the first few.
 */
export async function findingEventsOfAudit(
  db: Db,
  organizationId: string,
  auditId: string,
  type: 'opened' | 'reopened',
  filters: AlertFilters,
  limit: number,
): Promise<{ rows: FindingCandidate[]; total: number }> {
  const matching = () => {
    let query = db
      .selectFrom('finding_events as e')
      .innerJoin('findings as f', 'f.id', 'e.finding_id')
      .where('e.audit_id', '=', auditId)
      .where('e.type', '=', type)
      .where('f.organization_id', '=', organizationId);
    if (filters.min_severity) query = query.where('f.severity_rank', '>=', SEVERITIES.indexOf(filters.min_severity));
    if (filters.dimensions?.length) query = query.where('f.dimension', 'in', filters.dimensions);
    if (filters.rule_ids?.length) query = query.where('f.policy_id', 'is', null).where('f.rule_id', 'in', filters.rule_ids);
    if (filters.policy_ids?.length) query = query.where('f.policy_id', 'in', filters.policy_ids);
    if (filters.account_ids?.length) query = query.where('f.account_id', 'in', filters.account_ids);
    if (filters.resource_types?.length) query = query.where('f.resource_type', 'in', filters.resource_types);
    return query;
  };
  const [rows, counted] = await Promise.all([
    matching()
      .innerJoin('resources as r', 'r.id', 'f.resource_id')
      .innerJoin('accounts as a', 'a.id', 'f.account_id')
      .select(['e.id as event_id', ...FINDING_COLUMNS])
      .orderBy('f.severity_rank', 'desc')
      .orderBy('e.id')
      .limit(limit)
      .execute(),
    matching().select((eb) => eb.fn.countAll<string>().as('total')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(counted.total) };
}

/** The organization's risk-accepted findings with an end. */
export function riskAcceptances(db: Db, organizationId: string): Promise<FindingCandidate[]> {
  return db
    .selectFrom('findings as f')
    .innerJoin('resources as r', 'r.id', 'f.resource_id')
    .innerJoin('accounts as a', 'a.id', 'f.account_id')
    .select(['f.id as event_id', ...FINDING_COLUMNS])
    .where('f.organization_id', '=', organizationId)
    .where('f.status', '=', 'risk_accepted')
    .where('f.expires_at', 'is not', null)
    .orderBy('f.id')
    .execute();
}

/** Organizations with at least one enabled rule of these types. */
export async function organizationsWithAlertRules(db: Db, types: readonly AlertRuleRow['alert_type'][]): Promise<string[]> {
  const rows = await db.selectFrom('alert_rules').select('organization_id').distinct().where('enabled', '=', true).where('alert_type', 'in', [...types]).execute();
  return rows.map((r) => r.organization_id);
}

/** The stage under which a PagerDuty rule records a finding it triggered an alert for, until the finding resolves. */
export const TRIGGERED_STAGE = 'pagerduty_triggered';

/**
 * Forgets (claims) the findings the rule triggered PagerDuty alerts for that the audit resolved;
 * answers them, to resolve. Claimed in the caller's transaction, so each is resolved once.
 */
export async function claimResolvedTriggers(db: Db, organizationId: string, alertRuleId: string, auditId: string): Promise<FindingCandidate[]> {
  const claimed = await db
    .deleteFrom('alert_notifications')
    .where('alert_rule_id', '=', alertRuleId)
    .where('stage', '=', TRIGGERED_STAGE)
    .where('subject', 'in', (eb) => eb.selectFrom('finding_events').select('finding_id').where('audit_id', '=', auditId).where('type', '=', 'resolved'))
    .returning('subject')
    .execute();
  return findingCandidates(db, organizationId, claimed.map((c) => c.subject));
}

/** These findings of the organization, as messages name them. */
function findingCandidates(db: Db, organizationId: string, findingIds: string[]): Promise<FindingCandidate[]> {
  if (findingIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('findings as f')
    .innerJoin('resources as r', 'r.id', 'f.resource_id')
    .innerJoin('accounts as a', 'a.id', 'f.account_id')
    .select(['f.id as event_id', ...FINDING_COLUMNS])
    .where('f.organization_id', '=', organizationId)
    .where('f.id', 'in', findingIds)
    .orderBy('f.id')
    .execute();
}

/**
 * Forgets (claims) the PagerDuty alerts the organization's rules triggered for these findings;
 * answers, per rule, the findings to resolve. In the caller's transaction, so each resolves once.
 */
export async function claimTriggersOfFindings(db: Db, organizationId: string, findingIds: string[]): Promise<{ rule: AlertRuleRow; findings: FindingCandidate[] }[]> {
  if (findingIds.length === 0) return [];
  const claimed = await db
    .deleteFrom('alert_notifications')
    .where('stage', '=', TRIGGERED_STAGE)
    .where('subject', 'in', findingIds)
    .where('alert_rule_id', 'in', (eb) => eb.selectFrom('alert_rules').select('id').where('organization_id', '=', organizationId))
    .returning(['alert_rule_id', 'subject'])
    .execute();
  if (claimed.length === 0) return [];
  const rules = await db.selectFrom('alert_rules').selectAll().where('id', 'in', [...new Set(claimed.map((c) => c.alert_rule_id))]).orderBy('id').execute();
  const findings = await findingCandidates(db, organizationId, [...new Set(claimed.map((c) => c.subject))]);
  return rules.map((rule) => {
    const ids = new Set(claimed.filter((c) => c.alert_rule_id === rule.id).map((c) => c.subject));
    return { rule, findings: findings.filter((f) => ids.has(f.finding_id)) };
  });
}

/** The subject under which a digest rule records each day's summary (its stage: the local date). */
export const DIGEST_SUBJECT = 'digest';

/** The enabled rules of every organization that send a daily summary. */
export function digestRules(db: Db): Promise<AlertRuleRow[]> {
  return db.selectFrom('alert_rules').selectAll().where('enabled', '=', true).where('delivery_mode', 'in', ['digest', 'both']).orderBy('id').execute();
}

/** When the rule's last summary before `day` went out, if one did. */
export async function lastDigestAt(db: Db, alertRuleId: string, day: string): Promise<Date | undefined> {
  const row = await db
    .selectFrom('alert_notifications')
    .select('notified_at')
    .where('alert_rule_id', '=', alertRuleId)
    .where('subject', '=', DIGEST_SUBJECT)
    .where('stage', '!=', day)
    .orderBy('notified_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.notified_at;
}

/** Records these stages in the organization's feed; answers those not recorded before (the ones to record). */
export async function claimEventStages(db: Db, organizationId: string, rows: { subject: string; stage: string }[], now: Date) {
  if (rows.length === 0) return [];
  return db
    .insertInto('event_stages')
    .values(rows.map((r) => ({ organization_id: organizationId, subject: r.subject, stage: r.stage, recorded_at: now })))
    .onConflict((oc) => oc.columns(['organization_id', 'subject', 'stage']).doNothing())
    .returning(['subject', 'stage'])
    .execute();
}

/** Organizations with something that may end: an active resource of these types, or a risk acceptance with an end. */
export async function organizationsWithEndingItems(db: Db, resourceTypes: readonly string[]): Promise<string[]> {
  const rows = await db
    .selectFrom('resources')
    .select('organization_id')
    .where('status', '=', 'active')
    .where('type', 'in', [...resourceTypes])
    .union(db.selectFrom('findings').select('organization_id').where('status', '=', 'risk_accepted').where('expires_at', 'is not', null))
    .execute();
  return rows.map((r) => r.organization_id);
}

/** Marks the scan's events raised; false when they were already (a retried job). */
export async function claimScan(db: Db, scanId: string, now: Date): Promise<boolean> {
  const claimed = await db
    .insertInto('alerted_scans')
    .values({ scan_id: scanId, alerted_at: now })
    .onConflict((oc) => oc.column('scan_id').doNothing())
    .returning('scan_id')
    .executeTakeFirst();
  return claimed !== undefined;
}

export function findScanForAlerts(db: Db, scanId: string) {
  return db
    .selectFrom('scans as s')
    .innerJoin('accounts as a', 'a.id', 's.account_id')
    .select(['s.id', 's.organization_id', 's.account_id', 's.mode', 's.status', 's.error_code', 's.error_message', 's.failures', 's.audit_id', 'a.name as account_name', 'a.external_id as account_external_id'])
    .where('s.id', '=', scanId)
    .executeTakeFirst();
}
export type ScanForAlerts = NonNullable<Awaited<ReturnType<typeof findScanForAlerts>>>;

/** Marks a failed rotation's event raised; false when it already was. */
export async function claimRotation(db: Db, rotationId: string, now: Date): Promise<boolean> {
  const claimed = await db
    .insertInto('alerted_rotations')
    .values({ rotation_id: rotationId, alerted_at: now })
    .onConflict((oc) => oc.column('rotation_id').doNothing())
    .returning('rotation_id')
    .executeTakeFirst();
  return claimed !== undefined;
}

export function findRotationForAlerts(db: Db, rotationId: string) {
  return db
    .selectFrom('rotations as r')
    .innerJoin('accounts as a', 'a.id', 'r.account_id')
    .select(['r.id', 'r.organization_id', 'r.account_id', 'r.status', 'r.application_id', 'r.key_id', 'r.error', 'r.policy_id', 'a.name as account_name', 'a.external_id as account_external_id'])
    .where('r.id', '=', rotationId)
    .executeTakeFirst();
}
export type RotationForAlerts = NonNullable<Awaited<ReturnType<typeof findRotationForAlerts>>>;

/** Marks an ended sync run's events raised; false when they already were. */
export async function claimSyncRun(db: Db, syncRunId: string, now: Date): Promise<boolean> {
  const claimed = await db
    .insertInto('alerted_sync_runs')
    .values({ sync_run_id: syncRunId, alerted_at: now })
    .onConflict((oc) => oc.column('sync_run_id').doNothing())
    .returning('sync_run_id')
    .executeTakeFirst();
  return claimed !== undefined;
}

export function findSyncRunForAlerts(db: Db, syncRunId: string) {
  return db
    .selectFrom('sync_runs as r')
    .innerJoin('syncs as s', 's.id', 'r.sync_id')
    .select(['r.id', 'r.organization_id', 'r.sync_id', 'r.trigger', 'r.status', 'r.error_code', 'r.error_message', 'r.results', 's.name as sync_name', 's.source'])
    .where('r.id', '=', syncRunId)
    .executeTakeFirst();
}
export type SyncRunForAlerts = NonNullable<Awaited<ReturnType<typeof findSyncRunForAlerts>>>;
