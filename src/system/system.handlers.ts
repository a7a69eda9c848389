import { Router } from 'express';
import { pingDatabase, type Db } from '../db/database';
import { AppError } from '../errors';
import type { OperationHandler } from '../http/contract';

export function systemRoutes(db: Db): Router {
  const getHealth: OperationHandler<'getHealth'> = (_req, res) => {
    res.json({ status: 'ok' });
  };

  const getReadiness: OperationHandler<'getReadiness'> = async (_req, res) => {
    if (!(await pingDatabase(db, 2000))) throw new AppError('service_unavailable', 'The database does not answer.');
    res.json({ status: 'ready', checks: { database: 'ok' } });
  };

  return Router().get('/health', getHealth).get('/ready', getReadiness);
}
