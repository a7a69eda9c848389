import type { Db } from '../db/database';
import type { WebhookEndpointRow } from '../db/schema';
import { AppError } from '../errors';
import type { Schemas } from '../http/contract';
import type { Principal } from '../http/principal';
import { newId } from '../ids';
import { decryptSecret, encryptSecret } from '../secrets';
import { newSigningSecret } from './signing';
import { checkWebhookUrl, UrlNotAllowed, type WebhookTarget } from './url-guard';
import { deleteEndpoint, endpointById, findEndpoint, insertEndpoint, recordEndpointOutcome, subscribedEndpoints, updateEndpoint } from './webhooks.repository';

export interface WebhookSettings {
  /** `WEBHOOK_ALLOWED_HOSTS`. */
  allowedHosts: readonly string[];
  /** The configured secret signing secrets are encrypted under. */
  encryptionSecret: string;
  /** `PAGERDUTY_EVENTS_URL`: where PagerDuty events go, guarded as a webhook URL. */
  pagerdutyEventsUrl: string;
}

const PURPOSE = 'webhook signing secrets';
/** An endpoint every delivery to which has failed for this long is disabled. */
export const DISABLE_AFTER_MS = 24 * 3600 * 1000;
const DEFAULT_OVERLAP_HOURS = 24;

export async function requireEndpoint(db: Db, organizationId: string, id: string): Promise<WebhookEndpointRow> {
  const endpoint = await findEndpoint(db, organizationId, id);
  if (!endpoint) throw new AppError('not_found', `There is no webhook endpoint ${id}.`);
  return endpoint;
}

async function allowedUrl(url: string, settings: WebhookSettings, field = 'body.url'): Promise<void> {
  try {
    await checkWebhookUrl(url, settings.allowedHosts);
  } catch (error) {
    if (!(error instanceof UrlNotAllowed)) throw error;
    throw new AppError('webhook_url_not_allowed', `The webhook URL ${error.message}.`, [{ field, issue: error.message }]);
  }
}

const TARGET_PURPOSE = 'alert rule targets';

/** A chat webhook URL (Slack) of an alert rule, checked as an endpoint's URL (422 naming `field`), encrypted: it is a secret. */
export async function sealTarget(url: string, settings: WebhookSettings, field: string): Promise<string> {
  await allowedUrl(url, settings, field);
  return encryptSecret(settings.encryptionSecret, TARGET_PURPOSE, Buffer.from(url));
}

/** A PagerDuty routing key of an alert rule, encrypted (the events URL it goes to checked as a webhook URL, 422 naming `field`). */
export async function sealRoutingKey(key: string, settings: WebhookSettings, field: string): Promise<string> {
  await allowedUrl(settings.pagerdutyEventsUrl, settings, field);
  return encryptSecret(settings.encryptionSecret, TARGET_PURPOSE, Buffer.from(key));
}

/** Where a PagerDuty delivery goes now (the events URL, checked again after DNS) and the rule's routing key. */
export async function openRoutingKey(
  encrypted: string | null,
  settings: WebhookSettings,
): Promise<{ ok: true; target: WebhookTarget; key: string } | { ok: false; error: string; permanent: boolean }> {
  const key = encrypted === null ? undefined : decryptSecret(settings.encryptionSecret, TARGET_PURPOSE, encrypted)?.toString();
  if (key === undefined) return { ok: false, error: 'The alert rule was deleted, or its routing key cannot be read (the server secret changed).', permanent: true };
  const target = await guardedTarget(settings.pagerdutyEventsUrl, settings);
  return target.ok ? { ...target, key } : target;
}

async function guardedTarget(url: string, settings: WebhookSettings): Promise<{ ok: true; target: WebhookTarget } | { ok: false; error: string; permanent: boolean }> {
  try {
    return { ok: true, target: await checkWebhookUrl(url, settings.allowedHosts) };
  } catch (error) {
    if (!(error instanceof UrlNotAllowed)) throw error;
    return { ok: false, error: `webhook_url_not_allowed: the URL ${error.message}.`, permanent: true };
  }
}

/** Where a delivery to an alert rule's encrypted URL goes now, checked again after DNS. */
export async function openTarget(encrypted: string | null, settings: WebhookSettings): Promise<{ ok: true; target: WebhookTarget } | { ok: false; error: string; permanent: boolean }> {
  const url = encrypted === null ? undefined : decryptSecret(settings.encryptionSecret, TARGET_PURPOSE, encrypted)?.toString();
  if (url === undefined) return { ok: false, error: 'The alert rule was deleted, or its URL cannot be read (the server secret changed).', permanent: true };
  return guardedTarget(url, settings);
}

/** Creates an endpoint; answers it with its signing secret, which is not shown again. */
export async function createEndpoint(db: Db, principal: Principal, settings: WebhookSettings, body: Schemas['WebhookEndpointCreate'], now = new Date()) {
  await allowedUrl(body.url, settings);
  const secret = newSigningSecret();
  const row = await insertEndpoint(db, {
    id: newId('whe'),
    organization_id: principal.organizationId,
    url: body.url,
    description: body.description ?? null,
    event_types: JSON.stringify(body.event_types),
    secret_encrypted: encryptSecret(settings.encryptionSecret, PURPOSE, Buffer.from(secret)),
    previous_secret_encrypted: null,
    previous_secret_expires_at: null,
    enabled: true,
    disabled_reason: null,
    failing_since: null,
    created_by: principal.userId,
    created_at: now,
    updated_at: now,
  });
  return { row, secret };
}

/** Changes an endpoint; `enabled: true` re-enables a disabled one and forgets its failures. */
export async function changeEndpoint(db: Db, principal: Principal, settings: WebhookSettings, id: string, change: Schemas['WebhookEndpointUpdate'], now = new Date()) {
  await requireEndpoint(db, principal.organizationId, id);
  if (change.url !== undefined) await allowedUrl(change.url, settings);
  const updated = await updateEndpoint(db, principal.organizationId, id, {
    ...(change.url !== undefined ? { url: change.url } : {}),
    ...(change.description !== undefined ? { description: change.description } : {}),
    ...(change.event_types !== undefined ? { event_types: JSON.stringify(change.event_types) } : {}),
    ...(change.enabled === true ? { enabled: true, disabled_reason: null, failing_since: null } : {}),
    ...(change.enabled === false ? { enabled: false, disabled_reason: 'disabled by a user' } : {}),
    updated_at: now,
  });
  if (!updated) throw new AppError('not_found', `There is no webhook endpoint ${id}.`);
  return updated;
}

export async function removeEndpoint(db: Db, principal: Principal, id: string): Promise<void> {
  if (!(await deleteEndpoint(db, principal.organizationId, id))) throw new AppError('not_found', `There is no webhook endpoint ${id}.`);
}

/** A new signing secret; the one it replaces keeps signing beside it for `overlapHours`. */
export async function rotateEndpointSecret(db: Db, principal: Principal, settings: WebhookSettings, id: string, overlapHours = DEFAULT_OVERLAP_HOURS, now = new Date()) {
  const current = await requireEndpoint(db, principal.organizationId, id);
  const secret = newSigningSecret();
  const row = await updateEndpoint(db, principal.organizationId, id, {
    secret_encrypted: encryptSecret(settings.encryptionSecret, PURPOSE, Buffer.from(secret)),
    previous_secret_encrypted: overlapHours > 0 ? current.secret_encrypted : null,
    previous_secret_expires_at: overlapHours > 0 ? new Date(now.getTime() + overlapHours * 3600_000) : null,
    updated_at: now,
  });
  if (!row) throw new AppError('not_found', `There is no webhook endpoint ${id}.`);
  return { row, secret };
}

/** An endpoint an alert rule of `type` may deliver to: the organization's, subscribed to the type. */
export async function requireEndpointFor(db: Db, organizationId: string, id: string, type: Schemas['AlertType']): Promise<WebhookEndpointRow> {
  const endpoint = await findEndpoint(db, organizationId, id);
  if (!endpoint) {
    throw new AppError('validation_failed', `webhook_endpoint_id names no webhook endpoint of this organization.`, [{ field: 'body.webhook_endpoint_id', issue: 'no such webhook endpoint' }]);
  }
  if (!endpoint.event_types.includes(type)) {
    throw new AppError('validation_failed', `Webhook endpoint ${id} does not take ${type} events.`, [
      { field: 'body.webhook_endpoint_id', issue: `the endpoint's event_types do not include ${type}` },
    ]);
  }
  return endpoint;
}

export type EndpointTarget =
  | { ok: true; endpoint: WebhookEndpointRow; target: WebhookTarget; secrets: string[] }
  | { ok: false; error: string; permanent: boolean };

/** Where a delivery to the endpoint goes now, checked as at creation, and the secrets that sign it. */
export async function endpointTarget(db: Db, id: string, settings: WebhookSettings, now = new Date()): Promise<EndpointTarget> {
  const endpoint = await endpointById(db, id);
  if (!endpoint) return { ok: false, error: 'The webhook endpoint was deleted.', permanent: true };
  if (!endpoint.enabled) return { ok: false, error: `The webhook endpoint is disabled (${endpoint.disabled_reason ?? 'no reason given'}).`, permanent: true };
  let target: WebhookTarget;
  try {
    target = await checkWebhookUrl(endpoint.url, settings.allowedHosts);
  } catch (error) {
    if (!(error instanceof UrlNotAllowed)) throw error;
    return { ok: false, error: `webhook_url_not_allowed: the URL ${error.message}.`, permanent: true };
  }
  const encrypted = [endpoint.secret_encrypted];
  if (endpoint.previous_secret_encrypted && endpoint.previous_secret_expires_at && endpoint.previous_secret_expires_at > now) encrypted.push(endpoint.previous_secret_encrypted);
  const secrets = encrypted.map((e) => decryptSecret(settings.encryptionSecret, PURPOSE, e)?.toString());
  if (secrets.some((s) => s === undefined)) return { ok: false, error: 'The signing secret cannot be read (the server secret changed).', permanent: true };
  return { ok: true, endpoint, target, secrets: secrets as string[] };
}

/** Counts a delivery's outcome against the endpoint: failing for a day disables it, with the reason. */
export function recordEndpointDelivery(db: Db, id: string, ok: boolean, lastError: string | null, now = new Date()): Promise<void> {
  return recordEndpointOutcome(db, id, ok, now, new Date(now.getTime() - DISABLE_AFTER_MS), `Every delivery failed for a day; the last: ${lastError ?? 'unknown'}`.slice(0, 2000));
}

/** The organization's enabled endpoints subscribed to events of `type` (`event_types`). */
export function endpointsSubscribedTo(db: Db, organizationId: string, type: string): Promise<WebhookEndpointRow[]> {
  return subscribedEndpoints(db, organizationId, type);
}
