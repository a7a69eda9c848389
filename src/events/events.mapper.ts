import type { EventRow } from '../db/schema';
import type { Schemas } from '../http/contract';

export function toEvent(row: EventRow): Schemas['Event'] {
  return { id: row.id, type: row.type as Schemas['AlertType'], timestamp: row.occurred_at.toISOString(), data: row.data as Schemas['EventData'] };
}
