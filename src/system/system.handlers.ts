import { pingDatabase, type Db } from '../db/database';
import { serviceUnavailable } from '../http/error-handler';
import type { HandlerTable, OperationHandler } from '../http/contract';

export function systemHandlers(db: Db): HandlerTable<'getHealth' | 'getReadiness'> {
  const getHealth: OperationHandler<'getHealth'> = (_req, res) => {
    res.json({ status: 'ok' });
  };

  const getReadiness: OperationHandler<'getReadiness'> = async (_req, res) => {
    if (!(await pingDatabase(db, 2000))) throw serviceUnavailable('The database does not answer.');
    res.json({ status: 'ready', checks: { database: 'ok' } });
  };

  return {
    getHealth,
    getReadiness,
  };
}
