import type { Db } from '../db/database';
import type { AlertRuleRow } from '../db/schema';
import { queueDeliveries, wakeDeliveries, type NewDelivery } from '../deliveries/deliveries.service';
import type { ExpiryItem } from '../deliveries/notification';
import type { JobQueue } from '../jobs/job-queue';
import { claimAudit, claimNotifications, enabledAlertRules, expiryCandidates, organizationsWithAlertRules, type ExpiryCandidate } from './alerts.repository';
import { daysLeft, EXPIRY_ALERT_TYPES, EXPIRY_SOURCES, stageAt, type ExpiryAlertType } from './expiry';

export interface AlertRunSettings {
  /** The clock stages are measured by. */
  now: () => Date;
}

export interface AlertJob {
  audit_id: string;
}

/** Raises the alerts an ended audit calls for, once per audit however often its job runs. */
export async function raiseAuditAlerts(db: Db, jobs: JobQueue, auditId: string, settings: AlertRunSettings): Promise<number> {
  const now = settings.now();
  const audit = await claimAudit(db, auditId, now);
  if (!audit || audit.status !== 'succeeded') return 0;
  return raiseExpiryAlerts(db, jobs, audit.organization_id, now);
}

/** The scheduled check: expiries of every organization with expiry rules, noticed even when no audit runs. */
export async function raiseScheduledAlerts(db: Db, jobs: JobQueue, settings: AlertRunSettings): Promise<number> {
  const now = settings.now();
  let queued = 0;
  for (const organizationId of await organizationsWithAlertRules(db, EXPIRY_ALERT_TYPES)) queued += await raiseExpiryAlerts(db, jobs, organizationId, now);
  return queued;
}

/**
 * For each enabled expiry rule, the items at a stage the rule has not notified yet go out as one
 * message per recipient. Claiming the stages and queuing the deliveries commit together, so a
 * stage is notified once. Answers how many deliveries were queued.
 */
async function raiseExpiryAlerts(db: Db, jobs: JobQueue, organizationId: string, now: Date): Promise<number> {
  const rules = await enabledAlertRules(db, organizationId, EXPIRY_ALERT_TYPES);
  if (rules.length === 0) return 0;
  const types = [...new Set(rules.flatMap((rule) => Object.keys(EXPIRY_SOURCES[rule.alert_type as ExpiryAlertType])))];
  const candidates = await expiryCandidates(db, organizationId, types);
  const queued = await db.transaction().execute(async (trx) => {
    const deliveries: NewDelivery[] = [];
    for (const rule of rules) {
      const hits = expiryHits(rule, candidates, now);
      const claimed = await claimNotifications(
        trx,
        hits.map((hit) => ({ alert_rule_id: rule.id, subject: `${hit.resource.id}@${hit.expires_at}`, stage: hit.stage, notified_at: now })),
      );
      const fresh = new Set(claimed.map((c) => `${c.subject}/${c.stage}`));
      const items = hits.filter((hit) => fresh.has(`${hit.resource.id}@${hit.expires_at}/${hit.stage}`));
      if (items.length > 0) deliveries.push(...deliveriesOf(rule, rule.alert_type, items, now));
    }
    return queueDeliveries(trx, jobs, deliveries, now);
  });
  if (queued.length > 0) wakeDeliveries(jobs);
  return queued.length;
}

function expiryHits(rule: AlertRuleRow, candidates: ExpiryCandidate[], now: Date): ExpiryItem[] {
  const sources = EXPIRY_SOURCES[rule.alert_type as ExpiryAlertType];
  const accounts = rule.filters.account_ids?.length ? new Set(rule.filters.account_ids) : null;
  const types = rule.filters.resource_types?.length ? new Set(rule.filters.resource_types) : null;
  const hits: ExpiryItem[] = [];
  for (const candidate of candidates) {
    const source = sources[candidate.type];
    if (!source || (accounts && !accounts.has(candidate.account_id)) || (types && !types.has(candidate.type))) continue;
    const expiresAt = source(candidate.attributes);
    if (!expiresAt) continue;
    const stage = stageAt(expiresAt, now, rule.stages);
    if (!stage) continue;
    hits.push({
      kind: 'expiry',
      resource: {
        id: candidate.id,
        native_id: candidate.native_id,
        type: candidate.type,
        name: candidate.name,
        region: candidate.region,
        account: { id: candidate.account_id, name: candidate.account_name, external_id: candidate.account_external_id },
      },
      expires_at: expiresAt.toISOString(),
      days_left: daysLeft(expiresAt, now),
      stage,
    });
  }
  return hits;
}

/** One message per rule and recipient, listing every item. */
function deliveriesOf(rule: AlertRuleRow, type: string, items: ExpiryItem[], now: Date): NewDelivery[] {
  const notification = { type, alert_rule: { id: rule.id, name: rule.name }, occurred_at: now.toISOString(), items };
  return rule.recipients.map((recipient) => ({
    organization_id: rule.organization_id,
    alert_rule_id: rule.id,
    method: rule.delivery_method,
    recipient,
    notification,
  }));
}
