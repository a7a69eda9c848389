import type { Db } from '../db/database';
import { newId } from '../ids';
import type { Notification } from '../deliveries/notification';
import { webhookBody } from '../deliveries/deliveries.service';
import { eventsOfRule, insertEvents } from './events.repository';

/**
 * Records the notifications (in the caller's transaction, with their deliveries): the
 * organization's events in the feed (`listed`), or what alert rules raised, kept for their
 * daily summaries and not listed, so that the feed has each event once.
 */
export async function recordEvents(trx: Db, organizationId: string, notifications: Notification[], listed: boolean): Promise<void> {
  await insertEvents(
    trx,
    notifications.map((n) => ({
      id: newId('evt'),
      organization_id: organizationId,
      type: n.type,
      alert_rule_id: n.alert_rule?.id ?? null,
      occurred_at: new Date(n.occurred_at),
      data: JSON.stringify(webhookBody(n).data),
      listed,
    })),
  );
}

/** What a rule raised after `after` up to `until`, oldest first, as its notifications carried it. */
export async function raisedByRule(db: Db, alertRuleId: string, after: Date, until: Date): Promise<{ total: number; items: Notification['items'] }[]> {
  return (await eventsOfRule(db, alertRuleId, after, until)).map((row) => row.data as { total: number; items: Notification['items'] });
}
