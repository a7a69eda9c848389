import type { WebhookTarget } from '../webhooks/url-guard';
import type { AttemptOutcome } from './attempt-outcome';
import type { Notification, NotificationItem } from './notification';
import { describeItem } from './notification-text';
import { postWebhook } from './webhook-sender';

type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';

/**
 * The key PagerDuty groups an item's events under: one alert per rule and finding (or resource,
 * audit, score), so a later stage or audit updates it instead of paging again, and a resolve
 * closes it.
 */
export function dedupKey(ruleId: string, item: NotificationItem): string {
  switch (item.kind) {
    case 'expiry':
      return `fourfold/${ruleId}/${item.resource.id}`;
    case 'finding':
    case 'risk_acceptance':
      return `fourfold/${ruleId}/${item.finding.id}`;
    case 'audit':
      return `fourfold/${ruleId}/${item.audit.id}`;
    case 'scan':
      return `fourfold/${ruleId}/${item.scan.id}`;
    case 'rotation':
      return `fourfold/${ruleId}/${item.rotation.id}`;
    case 'sync':
      return `fourfold/${ruleId}/${item.run.id}${item.result ? `/${item.result.target_service}/${item.result.target_name}` : ''}`;
    case 'score':
      return `fourfold/${ruleId}/${item.score}@${item.audit_id}`;
  }
}

/** Events API v2 events for a notification: a `trigger` (or `resolve`) per item it lists. */
export function renderPagerDuty(notification: Notification, routingKey: string, publicUrl: string | undefined): object[] {
  const ruleId = notification.alert_rule?.id ?? 'none';
  return notification.items.map((item) => {
    const dedup_key = dedupKey(ruleId, item);
    if (notification.action === 'resolve') return { routing_key: routingKey, event_action: 'resolve', dedup_key };
    const described = describeItem(item, publicUrl);
    const resource = 'resource' in item ? item.resource : null;
    return {
      routing_key: routingKey,
      event_action: 'trigger',
      dedup_key,
      payload: {
        summary: `${notification.alert_rule?.name ?? 'fourfold'}: ${described.title}${described.when ? ` (${described.when})` : ''}`.slice(0, 1024),
        source: resource ? `${resource.account.name} (${resource.account.external_id}) ${resource.native_id}`.slice(0, 255) : 'fourfold',
        severity: severityOf(item),
        timestamp: notification.occurred_at,
        component: resource?.type ?? null,
        group: resource ? resource.account.name : null,
        class: notification.type,
        custom_details: item,
      },
      client: 'fourfold',
      ...(/^https?:/.test(described.link) ? { client_url: described.link, links: [{ href: described.link, text: 'Open in fourfold' }] } : {}),
    };
  });
}

function severityOf(item: NotificationItem): PagerDutySeverity {
  switch (item.kind) {
    case 'finding':
    case 'risk_acceptance':
      return ({ critical: 'critical', high: 'error', medium: 'warning' } as Record<string, PagerDutySeverity>)[item.finding.severity] ?? 'info';
    case 'expiry':
      return item.stage === 'expired' ? 'critical' : item.days_left <= 7 ? 'error' : 'warning';
    case 'audit':
      return 'error';
    case 'scan':
      return item.scan.status === 'failed' ? 'error' : item.scan.status === 'partially_succeeded' ? 'warning' : 'info';
    case 'rotation':
      return 'error';
    case 'sync':
      return item.result ? 'warning' : 'error';
    case 'score':
      return 'warning';
  }
}

/**
 * Sends the events one after another; the first that fails ends the attempt with its outcome.
 * A retry sends them all again, which PagerDuty deduplicates by `dedup_key`.
 */
export async function postPagerDutyEvents(target: WebhookTarget, events: object[]): Promise<AttemptOutcome> {
  let last: AttemptOutcome = { ok: true, statusCode: null };
  for (const event of events) {
    last = await postWebhook(target, {}, JSON.stringify(event));
    if (!last.ok) return { ...last, error: `${last.error} (event ${events.indexOf(event) + 1} of ${events.length})` };
  }
  return last;
}
