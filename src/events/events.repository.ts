import type { Insertable } from 'kysely';
import type { Db } from '../db/database';
import type { EventRow, EventsTable } from '../db/schema';

export async function insertEvents(db: Db, rows: Insertable<EventsTable>[]): Promise<void> {
  if (rows.length > 0) await db.insertInto('events').values(rows).execute();
}

export interface EventFilter {
  type?: string;
  /** Occurred at or after. */
  since?: Date;
  /** Occurred before. */
  until?: Date;
}

/** The organization's feed (its listed events), newest first, below the keyset position `beforeId`. */
export function listEvents(db: Db, organizationId: string, filter: EventFilter, limit: number, beforeId?: string): Promise<EventRow[]> {
  let query = db.selectFrom('events').selectAll().where('organization_id', '=', organizationId).where('listed', '=', true);
  if (filter.type !== undefined) query = query.where('type', '=', filter.type);
  if (filter.since !== undefined) query = query.where('occurred_at', '>=', filter.since);
  if (filter.until !== undefined) query = query.where('occurred_at', '<', filter.until);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  return query.orderBy('id', 'desc').limit(limit).execute();
}

/** The events a rule raised after `after`, up to `until`, oldest first. */
export function eventsOfRule(db: Db, alertRuleId: string, after: Date, until: Date): Promise<EventRow[]> {
  return db
    .selectFrom('events')
    .selectAll()
    .where('alert_rule_id', '=', alertRuleId)
    .where('occurred_at', '>', after)
    .where('occurred_at', '<=', until)
    .orderBy('id')
    .execute();
}
