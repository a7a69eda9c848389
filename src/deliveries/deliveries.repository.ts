import type { Insertable } from 'kysely';
import type { Db } from '../db/database';
import type { DeliveriesTable, DeliveryAttemptRow, DeliveryRow } from '../db/schema';

export function insertDeliveries(db: Db, rows: Insertable<DeliveriesTable>[]): Promise<DeliveryRow[]> {
  if (rows.length === 0) return Promise.resolve([]);
  return db.insertInto('deliveries').values(rows).returningAll().execute();
}

export interface DeliveryFilter {
  alertRuleId?: string;
  webhookEndpointId?: string;
  status?: DeliveryRow['status'];
}

/** The organization's deliveries, newest first, below the keyset position `beforeId`. */
export function listDeliveries(db: Db, organizationId: string, filter: DeliveryFilter, limit: number, beforeId?: string): Promise<DeliveryRow[]> {
  let query = db.selectFrom('deliveries').selectAll().where('organization_id', '=', organizationId);
  if (filter.alertRuleId) query = query.where('alert_rule_id', '=', filter.alertRuleId);
  if (filter.webhookEndpointId) query = query.where('webhook_endpoint_id', '=', filter.webhookEndpointId);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  return query.orderBy('id', 'desc').limit(limit).execute();
}

export function findDelivery(db: Db, organizationId: string, id: string): Promise<DeliveryRow | undefined> {
  return db.selectFrom('deliveries').selectAll().where('organization_id', '=', organizationId).where('id', '=', id).executeTakeFirst();
}

/** A delivery by id alone: for its job, which carries no organization. */
/** A delivery and, for a Slack rule's, the rule's encrypted URL (null once the rule is deleted). */
export type DeliveryForAttempt = DeliveryRow & { target_encrypted: string | null };

export function deliveryForAttempt(db: Db, id: string): Promise<DeliveryForAttempt | undefined> {
  return db
    .selectFrom('deliveries as d')
    .leftJoin('alert_rules as r', 'r.id', 'd.alert_rule_id')
    .selectAll('d')
    .select('r.target_encrypted')
    .where('d.id', '=', id)
    .executeTakeFirst();
}

export function attemptsOf(db: Db, deliveryId: string): Promise<DeliveryAttemptRow[]> {
  return db.selectFrom('delivery_attempts').selectAll().where('delivery_id', '=', deliveryId).orderBy('number').execute();
}

/** Records attempt `attempt.number` and the delivery's state after it, unless another worker recorded that attempt first. */
export async function recordAttempt(
  db: Db,
  attempt: DeliveryAttemptRow,
  state: Pick<DeliveryRow, 'status' | 'next_attempt_at' | 'last_error' | 'updated_at'>,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('deliveries')
      .set({ ...state, attempt_count: attempt.number })
      .where('id', '=', attempt.delivery_id)
      .where('attempt_count', '=', attempt.number - 1)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (updated.numUpdatedRows === 0n) return false;
    await trx.insertInto('delivery_attempts').values(attempt).execute();
    return true;
  });
}

/** Makes a finished delivery pending again, with a new series of attempts; undefined when it is not the organization's or still pending. */
export function restartDelivery(db: Db, organizationId: string, id: string, now: Date): Promise<DeliveryRow | undefined> {
  return db
    .updateTable('deliveries')
    .set((eb) => ({ status: 'pending', series_start: eb.ref('attempt_count'), next_attempt_at: now, last_error: null, updated_at: now }))
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .where('status', '!=', 'pending')
    .returningAll()
    .executeTakeFirst();
}
