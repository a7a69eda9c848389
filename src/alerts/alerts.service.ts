import type { Db } from '../db/database';
import type { AlertRuleRow } from '../db/schema';
import { existingAccountIds } from '../accounts/accounts.service';
import { AppError, unknownIdDetails, type ErrorDetail } from '../errors';
import type { Schemas } from '../http/contract';
import type { Principal } from '../http/principal';
import { newId } from '../ids';
import { existingPolicyIds } from '../policies/policies.service';
import { loadCatalogue } from '../rules/catalogue';
import { requireEndpointFor, sealRoutingKey, sealTarget, type WebhookSettings } from '../webhooks/webhooks.service';
import { ALERT_TYPES } from './alert-types';
import { deleteAlertRule, findAlertRule, insertAlertRule, updateAlertRule } from './alerts.repository';
import { isTimeZone } from './digest';
import { stagesOf } from './expiry';

export type AlertRuleCreate = Schemas['AlertRuleCreate'];
export type AlertRuleUpdate = Schemas['AlertRuleUpdate'];

/** What the server can deliver with. */
export interface AlertRuleChecks {
  emailConfigured: boolean;
  /** Where chat webhooks (Slack) may go, and what encrypts their URLs. */
  webhooks: WebhookSettings;
}

/** The delivery methods whose target (a chat webhook URL, a routing key) the rule keeps encrypted. */
const TARGET_METHODS: readonly Schemas['DeliveryMethod'][] = ['slack', 'teams', 'pagerduty'];

/** The hour (in its zone) a digest rule's daily summary goes out unless it says otherwise. */
const DEFAULT_DIGEST_HOUR = 9;

/** Days left at which an expiry notifies again after its threshold, unless the rule says otherwise. */
export const DEFAULT_STAGES = [7, 1];

/** The fields of a rule that are checked together. */
interface RuleShape {
  alert_type: Schemas['AlertType'];
  threshold_days: number | null;
  /** The stages besides the threshold. */
  stages: number[];
  filters: Schemas['AlertFilters'];
  score_drop: Schemas['ScoreDrop'] | null;
  delivery_method: Schemas['DeliveryMethod'];
  recipients: string[];
  webhook_endpoint_id: string | null;
  /** The Slack URL, encrypted: the stored one, or the given one once checked. */
  target_encrypted: string | null;
  /** A Slack or Teams URL given now, to check and encrypt. */
  slack_webhook_url?: string;
  teams_webhook_url?: string;
  /** A PagerDuty routing key given now, to encrypt. */
  pagerduty_routing_key?: string;
  delivery_mode: Schemas['DeliveryMode'];
  /** The daily summary's hour and zone; null for `immediate`. */
  digest_hour: number | null;
  digest_time_zone: string | null;
}

export async function requireAlertRule(db: Db, principal: Principal, id: string): Promise<AlertRuleRow> {
  const rule = await findAlertRule(db, principal.organizationId, id);
  if (!rule) throw new AppError('not_found', `There is no alert rule ${id}.`);
  return rule;
}

export async function createAlertRule(db: Db, principal: Principal, checks: AlertRuleChecks, body: AlertRuleCreate, now = new Date()): Promise<AlertRuleRow> {
  const shape = await checkShape(
    {
      alert_type: body.alert_type,
      threshold_days: body.threshold_days ?? null,
      stages: body.stages ?? (ALERT_TYPES[body.alert_type].staged ? DEFAULT_STAGES.filter((s) => body.threshold_days === undefined || s < body.threshold_days) : []),
      filters: body.filters ?? {},
      score_drop: body.score_drop ?? null,
      delivery_method: body.delivery_method,
      recipients: body.recipients ?? [],
      webhook_endpoint_id: body.webhook_endpoint_id ?? null,
      target_encrypted: null,
      slack_webhook_url: body.slack_webhook_url,
      teams_webhook_url: body.teams_webhook_url,
      pagerduty_routing_key: body.pagerduty_routing_key,
      delivery_mode: body.delivery_mode ?? 'immediate',
      digest_hour: body.digest_hour ?? null,
      digest_time_zone: body.digest_time_zone ?? null,
    },
    checks,
    { db, organizationId: principal.organizationId },
  );
  if (body.filters) await checkFilterIds(db, principal.organizationId, body.filters);
  return insertAlertRule(db, {
    id: newId('alr'),
    organization_id: principal.organizationId,
    name: body.name,
    ...storable(shape),
    enabled: body.enabled ?? true,
    created_by: principal.userId,
    created_at: now,
    updated_at: now,
  });
}

export async function changeAlertRule(db: Db, principal: Principal, checks: AlertRuleChecks, id: string, change: AlertRuleUpdate, now = new Date()): Promise<AlertRuleRow> {
  const current = await requireAlertRule(db, principal, id);
  const currentStages = current.stages.filter((s) => s !== current.threshold_days);
  const shape = await checkShape(
    {
      alert_type: current.alert_type,
      threshold_days: change.threshold_days ?? current.threshold_days,
      stages: change.stages ?? (change.threshold_days !== undefined ? currentStages.filter((s) => s < change.threshold_days!) : currentStages),
      filters: change.filters ?? current.filters,
      score_drop: change.score_drop ?? current.score_drop,
      delivery_method: change.delivery_method ?? current.delivery_method,
      recipients: change.recipients ?? (change.delivery_method !== undefined && change.delivery_method !== 'email' ? [] : current.recipients),
      webhook_endpoint_id: change.webhook_endpoint_id ?? (change.delivery_method !== undefined && change.delivery_method !== 'webhook' ? null : current.webhook_endpoint_id),
      // A URL or key of another method is no target of this one.
      target_encrypted: change.delivery_method === undefined || change.delivery_method === current.delivery_method ? current.target_encrypted : null,
      slack_webhook_url: change.slack_webhook_url,
      teams_webhook_url: change.teams_webhook_url,
      pagerduty_routing_key: change.pagerduty_routing_key,
      delivery_mode: change.delivery_mode ?? current.delivery_mode,
      digest_hour: change.digest_hour ?? (change.delivery_mode === 'immediate' ? null : current.digest_hour),
      digest_time_zone: change.digest_time_zone ?? (change.delivery_mode === 'immediate' ? null : current.digest_time_zone),
    },
    checks,
    { db, organizationId: principal.organizationId },
  );
  if (change.filters) await checkFilterIds(db, principal.organizationId, change.filters);
  const updated = await updateAlertRule(db, principal.organizationId, id, {
    ...storable(shape),
    ...(change.name !== undefined ? { name: change.name } : {}),
    ...(change.enabled !== undefined ? { enabled: change.enabled } : {}),
    updated_at: now,
  });
  if (!updated) throw new AppError('not_found', `There is no alert rule ${id}.`);
  return updated;
}

export async function removeAlertRule(db: Db, principal: Principal, id: string): Promise<void> {
  if (!(await deleteAlertRule(db, principal.organizationId, id))) throw new AppError('not_found', `There is no alert rule ${id}.`);
}

/**
 * The accounts and policies a filter names exist in the organization: a typo would otherwise
 * match nothing, silently. Only filters given now are checked, so a rule whose account was
 * deleted since can still be renamed or paused.
 */
async function checkFilterIds(db: Db, organizationId: string, filters: Schemas['AlertFilters']): Promise<void> {
  const problems: ErrorDetail[] = [];
  for (const [name, existing, noun] of [['account_ids', existingAccountIds, 'account'], ['policy_ids', existingPolicyIds, 'policy']] as const) {
    const ids = filters[name] ?? [];
    if (ids.length === 0) continue;
    problems.push(...unknownIdDetails(ids, await existing(db, organizationId, ids), `body.filters.${name}`, noun));
  }
  if (problems.length > 0) throw new AppError('validation_failed', `The filters name what does not exist: ${problems.map((p) => p.issue).join('; ')}.`, problems);
}

/** The combination checks the schema cannot express; each 422 names its field. */
async function checkShape(shape: RuleShape, checks: AlertRuleChecks, tenant: { db: Db; organizationId: string }): Promise<RuleShape> {
  const invalid = (field: string, issue: string) => new AppError('validation_failed', `${field} ${issue}.`, [{ field: `body.${field}`, issue }]);
  const kind = ALERT_TYPES[shape.alert_type];
  if (kind.staged) {
    if (shape.threshold_days === null) throw invalid('threshold_days', `is required for ${shape.alert_type}`);
    const above = shape.stages.find((s) => s >= shape.threshold_days!);
    if (above !== undefined) throw invalid('stages', `must each be below threshold_days (${shape.threshold_days}); ${above} is not`);
  } else {
    if (shape.threshold_days !== null) throw invalid('threshold_days', `does not apply to ${shape.alert_type}`);
    if (shape.stages.length > 0) throw invalid('stages', `do not apply to ${shape.alert_type}`);
  }
  for (const [name, value] of Object.entries(shape.filters)) {
    const given = Array.isArray(value) ? value.length > 0 : value !== undefined;
    if (given && !(kind.filters as readonly string[]).includes(name)) {
      throw invalid(`filters.${name}`, `does not apply to ${shape.alert_type}${kind.filters.length ? ` (it takes ${kind.filters.join(', ')})` : ''}`);
    }
  }
  if (kind.scoreDrop) {
    const drop = shape.score_drop;
    if (!drop) throw invalid('score_drop', `is required for ${shape.alert_type}`);
    if ((drop.dimension === undefined) === (drop.framework === undefined)) throw invalid('score_drop', 'needs exactly one of dimension and framework');
    if (drop.framework !== undefined) {
      const { frameworks } = await loadCatalogue();
      if (!frameworks.some((f) => f.id === drop.framework)) {
        throw invalid('score_drop.framework', `is not a framework; the frameworks are ${frameworks.map((f) => f.id).join(', ')}`);
      }
    }
  } else if (shape.score_drop) {
    throw invalid('score_drop', `does not apply to ${shape.alert_type}`);
  }
  if (shape.delivery_method === 'webhook') {
    if (shape.webhook_endpoint_id === null) throw invalid('webhook_endpoint_id', 'is required for webhook delivery');
    if (shape.recipients.length > 0) throw invalid('recipients', 'do not apply to webhook delivery');
    await requireEndpointFor(tenant.db, tenant.organizationId, shape.webhook_endpoint_id, shape.alert_type);
  } else if (shape.webhook_endpoint_id !== null) {
    throw invalid('webhook_endpoint_id', `does not apply to ${shape.delivery_method} delivery`);
  }
  for (const [method, field] of [['slack', 'slack_webhook_url'], ['teams', 'teams_webhook_url'], ['pagerduty', 'pagerduty_routing_key']] as const) {
    const given = shape[field];
    if (shape.delivery_method === method) {
      if (shape.recipients.length > 0) throw invalid('recipients', `do not apply to ${method} delivery`);
      if (given !== undefined) {
        const sealed = method === 'pagerduty' ? await sealRoutingKey(given, checks.webhooks, `body.${field}`) : await sealTarget(given, checks.webhooks, `body.${field}`);
        shape = { ...shape, target_encrypted: sealed };
      }
      if (shape.target_encrypted === null) throw invalid(field, `is required for ${method} delivery`);
    } else if (given !== undefined) {
      throw invalid(field, `does not apply to ${shape.delivery_method} delivery`);
    }
  }
  if (!TARGET_METHODS.includes(shape.delivery_method)) shape = { ...shape, target_encrypted: null };
  if (shape.delivery_mode === 'immediate') {
    if (shape.digest_hour !== null) throw invalid('digest_hour', 'applies to digest and both delivery modes only');
    if (shape.digest_time_zone !== null) throw invalid('digest_time_zone', 'applies to digest and both delivery modes only');
  } else {
    shape = { ...shape, digest_hour: shape.digest_hour ?? DEFAULT_DIGEST_HOUR, digest_time_zone: shape.digest_time_zone ?? 'UTC' };
    if (!isTimeZone(shape.digest_time_zone!)) throw invalid('digest_time_zone', `is not an IANA time zone (such as UTC or Europe/Paris): ${shape.digest_time_zone}`);
  }
  if (shape.delivery_method === 'email') {
    if (shape.recipients.length === 0) throw invalid('recipients', 'are required for email delivery');
    if (!checks.emailConfigured) {
      throw new AppError('email_not_configured', 'This server sends no email (SMTP_URL is not set); use another delivery method.', [
        { field: 'body.delivery_method', issue: 'email is not configured on this server' },
      ]);
    }
  }
  return shape;
}

function storable(shape: RuleShape) {
  return {
    alert_type: shape.alert_type,
    threshold_days: shape.threshold_days,
    stages: JSON.stringify(shape.threshold_days === null ? [] : stagesOf(shape.threshold_days, shape.stages)),
    filters: JSON.stringify(shape.filters),
    score_drop: shape.score_drop === null ? null : JSON.stringify(shape.score_drop),
    delivery_method: shape.delivery_method,
    recipients: JSON.stringify(shape.recipients),
    webhook_endpoint_id: shape.webhook_endpoint_id,
    target_encrypted: shape.target_encrypted,
    delivery_mode: shape.delivery_mode,
    digest_hour: shape.digest_hour,
    digest_time_zone: shape.digest_time_zone,
  };
}
