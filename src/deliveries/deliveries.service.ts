import type { Db } from '../db/database';
import type { DeliveryRow } from '../db/schema';
import { AppError } from '../errors';
import type { Principal } from '../http/principal';
import { newId } from '../ids';
import { QUEUES, type JobQueue } from '../jobs/job-queue';
import type { AttemptOutcome } from './attempt-outcome';
import { attemptsOf, deliveryForAttempt, type DeliveryForAttempt, findDelivery, insertDeliveries, recordAttempt, restartDelivery } from './deliveries.repository';
import { endpointTarget, openRoutingKey, openTarget, recordEndpointDelivery, type WebhookSettings } from '../webhooks/webhooks.service';
import { signatureHeader } from '../webhooks/signing';
import { sendEmail } from './email-sender';
import { postWebhook } from './webhook-sender';
import { postPagerDutyEvents, renderPagerDuty } from './pagerduty-sender';
import type { Notification } from './notification';
import { renderEmail, renderSlack, renderTeams } from './notification-text';

export interface DeliverySettings {
  /** Where webhooks may go and what decrypts their signing secrets. */
  webhooks: WebhookSettings;
  smtpUrl: string | undefined;
  from: string;
  publicUrl: string | undefined;
  /** Seconds to wait before each retry: one more attempt than delays. Each is jittered by ±20 %. */
  retryDelaysSeconds: readonly number[];
}

/** 8 attempts over about a day: 1 min, 5 min, 15 min, 1 h, 3 h, 6 h, 12 h after the one before. */
export const RETRY_DELAYS_SECONDS: readonly number[] = [60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600];
/** A receiver's `Retry-After` is honoured up to a day. */
const MAX_RETRY_AFTER_SECONDS = 86_400;

export interface DeliveryJob {
  delivery_id: string;
}

export interface NewDelivery {
  organization_id: string;
  alert_rule_id: string | null;
  webhook_endpoint_id: string | null;
  method: DeliveryRow['method'];
  recipient: string;
  notification: Notification;
}

/**
 * Records the deliveries and queues their first attempts, in `trx` so that they exist exactly
 * when what they notify has been claimed; call `wakeDeliveries` once it has committed.
 */
export async function queueDeliveries(trx: Db, jobs: JobQueue, deliveries: NewDelivery[], now: Date): Promise<DeliveryRow[]> {
  const rows = await insertDeliveries(
    trx,
    deliveries.map((d) => ({
      id: newId('dlv'),
      organization_id: d.organization_id,
      alert_rule_id: d.alert_rule_id,
      webhook_endpoint_id: d.webhook_endpoint_id,
      event_type: d.notification.type,
      method: d.method,
      recipient: d.recipient,
      status: 'pending' as const,
      payload: JSON.stringify(d.notification),
      next_attempt_at: now,
      last_error: null,
      created_at: now,
      updated_at: now,
    })),
  );
  for (const row of rows) await jobs.send(QUEUES.deliveries, { delivery_id: row.id } satisfies DeliveryJob, trx);
  return rows;
}

export function wakeDeliveries(jobs: JobQueue): void {
  jobs.wake(QUEUES.deliveries);
}

/**
 * One attempt of a pending delivery. A retryable failure queues the next attempt after the
 * backoff (or the receiver's `Retry-After`) until the series has had its attempts; then, or on a
 * failure retrying cannot fix, the delivery is `failed`. Answers the delivery as it is after.
 */
export async function attemptDelivery(db: Db, jobs: JobQueue, id: string, settings: DeliverySettings): Promise<DeliveryRow | undefined> {
  const delivery = await deliveryForAttempt(db, id);
  if (!delivery || delivery.status !== 'pending') return delivery;
  const number = delivery.attempt_count + 1;
  const attemptedAt = new Date();
  const outcome = await send(db, delivery, settings);
  const latency = Date.now() - attemptedAt.getTime();
  const now = new Date();
  let retryInSeconds: number | undefined;
  if (!outcome.ok && outcome.retryable && number - delivery.series_start <= settings.retryDelaysSeconds.length) {
    const backoff = settings.retryDelaysSeconds[number - delivery.series_start - 1]! * (0.8 + Math.random() * 0.4);
    retryInSeconds = outcome.retryAfterSeconds !== undefined ? Math.min(outcome.retryAfterSeconds, MAX_RETRY_AFTER_SECONDS) : backoff;
  }
  const status = outcome.ok ? 'succeeded' : retryInSeconds !== undefined ? 'pending' : 'failed';
  const recorded = await recordAttempt(
    db,
    { delivery_id: id, number, attempted_at: attemptedAt, status_code: outcome.statusCode, latency_ms: latency, error: outcome.ok ? null : outcome.error },
    {
      status,
      next_attempt_at: retryInSeconds !== undefined ? new Date(now.getTime() + retryInSeconds * 1000) : null,
      last_error: outcome.ok ? null : outcome.error,
      updated_at: now,
    },
  );
  if (recorded && retryInSeconds !== undefined) await jobs.sendLater(QUEUES.deliveries, { delivery_id: id } satisfies DeliveryJob, retryInSeconds);
  return { ...delivery, status, attempt_count: number };
}

async function send(db: Db, delivery: DeliveryForAttempt, settings: DeliverySettings): Promise<AttemptOutcome> {
  const notification = delivery.payload as Notification;
  switch (delivery.method) {
    case 'email':
      if (!settings.smtpUrl) return { ok: false, statusCode: null, error: 'This server sends no email (SMTP_URL is not set).', retryable: false };
      return sendEmail(settings.smtpUrl, settings.from, delivery.recipient, renderEmail(notification, settings.publicUrl));
    case 'webhook': {
      const endpoint = await endpointTarget(db, delivery.webhook_endpoint_id!, settings.webhooks);
      if (!endpoint.ok) return { ok: false, statusCode: null, error: endpoint.error, retryable: !endpoint.permanent };
      const body = JSON.stringify(webhookBody(notification));
      const timestamp = Math.floor(Date.now() / 1000);
      const outcome = await postWebhook(endpoint.target, {
        'webhook-id': delivery.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader(endpoint.secrets, delivery.id, timestamp, body),
      }, body);
      await recordEndpointDelivery(db, endpoint.endpoint.id, outcome.ok, outcome.ok ? null : outcome.error);
      return outcome;
    }
    case 'slack':
    case 'teams': {
      const target = await openTarget(delivery.target_encrypted, settings.webhooks);
      if (!target.ok) return { ok: false, statusCode: null, error: target.error, retryable: !target.permanent };
      const message = delivery.method === 'slack' ? renderSlack(notification, settings.publicUrl) : renderTeams(notification, settings.publicUrl);
      return postWebhook(target.target, {}, JSON.stringify(message));
    }
    case 'pagerduty': {
      const opened = await openRoutingKey(delivery.target_encrypted, settings.webhooks);
      if (!opened.ok) return { ok: false, statusCode: null, error: opened.error, retryable: !opened.permanent };
      return postPagerDutyEvents(opened.target, renderPagerDuty(notification, opened.key, settings.publicUrl));
    }
  }
}

/** The body webhooks carry and the event feed lists: Standard Webhooks' `type`, `timestamp`, `data`. */
export function webhookBody(notification: Notification) {
  return {
    type: notification.type,
    timestamp: notification.occurred_at,
    data: { alert_rule: notification.alert_rule, total: notification.total, items: notification.items },
  };
}

export async function requireDelivery(db: Db, principal: Principal, id: string) {
  const delivery = await findDelivery(db, principal.organizationId, id);
  if (!delivery) throw new AppError('not_found', `There is no delivery ${id}.`);
  return { delivery, attempts: await attemptsOf(db, id) };
}

/** Sends a finished delivery again with a fresh series of attempts. */
export async function redeliver(db: Db, jobs: JobQueue, principal: Principal, id: string): Promise<DeliveryRow> {
  const { delivery } = await requireDelivery(db, principal, id);
  const restarted = await restartDelivery(db, principal.organizationId, id, new Date());
  if (!restarted) throw new AppError('conflict', `Delivery ${delivery.id} is still pending: it will be tried again on its own.`);
  await jobs.send(QUEUES.deliveries, { delivery_id: id } satisfies DeliveryJob);
  return restarted;
}
