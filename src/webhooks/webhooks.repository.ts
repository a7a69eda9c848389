import { sql } from 'kysely';
import type { Insertable, Updateable } from 'kysely';
import type { Db } from '../db/database';
import type { WebhookEndpointRow, WebhookEndpointsTable } from '../db/schema';

export function insertEndpoint(db: Db, row: Insertable<WebhookEndpointsTable>): Promise<WebhookEndpointRow> {
  return db.insertInto('webhook_endpoints').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findEndpoint(db: Db, organizationId: string, id: string): Promise<WebhookEndpointRow | undefined> {
  return db.selectFrom('webhook_endpoints').selectAll().where('organization_id', '=', organizationId).where('id', '=', id).executeTakeFirst();
}

/** The organization's endpoints, newest first, below the keyset position `beforeId`. */
export function listEndpoints(db: Db, organizationId: string, limit: number, beforeId?: string): Promise<WebhookEndpointRow[]> {
  let query = db.selectFrom('webhook_endpoints').selectAll().where('organization_id', '=', organizationId);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  return query.orderBy('id', 'desc').limit(limit).execute();
}

export function updateEndpoint(db: Db, organizationId: string, id: string, change: Updateable<WebhookEndpointsTable>): Promise<WebhookEndpointRow | undefined> {
  return db.updateTable('webhook_endpoints').set(change).where('organization_id', '=', organizationId).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function deleteEndpoint(db: Db, organizationId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('webhook_endpoints').where('organization_id', '=', organizationId).where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Records a delivery's outcome: a success clears `failing_since`; a failure sets it if unset, and disables the endpoint once it is older than `disableAfter`. */
export async function recordEndpointOutcome(db: Db, id: string, ok: boolean, now: Date, disableBefore: Date, reason: string): Promise<void> {
  if (ok) {
    await db.updateTable('webhook_endpoints').set({ failing_since: null }).where('id', '=', id).where('failing_since', 'is not', null).execute();
    return;
  }
  await db.updateTable('webhook_endpoints').set({ failing_since: now }).where('id', '=', id).where('failing_since', 'is', null).execute();
  await db
    .updateTable('webhook_endpoints')
    .set({ enabled: false, disabled_reason: reason, updated_at: now })
    .where('id', '=', id)
    .where('enabled', '=', true)
    .where('failing_since', '<=', disableBefore)
    .execute();
}

export function endpointById(db: Db, id: string): Promise<WebhookEndpointRow | undefined> {
  return db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The organization's enabled endpoints that take events of `type`. */
export function subscribedEndpoints(db: Db, organizationId: string, type: string): Promise<WebhookEndpointRow[]> {
  return db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('enabled', '=', true)
    .where(sql<boolean>`event_types @> ${JSON.stringify([type])}::jsonb`)
    .orderBy('id')
    .execute();
}
