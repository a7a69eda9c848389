import type { Db } from '../db/database';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate } from '../http/pagination';
import { listEvents, type EventFilter } from './events.repository';
import { toEvent } from './events.mapper';

export function eventHandlers(db: Db): HandlerTable<'listEvents'> {
  const listEventsHandler: OperationHandler<'listEvents'> = async (req, res) => {
    const { query } = req;
    const filter: EventFilter = {
      type: query.type,
      since: query.since === undefined ? undefined : new Date(query.since),
      until: query.until === undefined ? undefined : new Date(query.until),
    };
    res.json(
      await paginate({
        query,
        binding: { list: 'events', filter: { type: query.type, since: query.since, until: query.until } },
        keyKinds: ['id'],
        fetch: (before, limitPlusOne) => listEvents(db, principalOf(res).organizationId, filter, limitPlusOne, before?.[0]),
        keysOf: (row) => [row.id],
        toItem: toEvent,
      }),
    );
  };
  return { listEvents: listEventsHandler };
}
