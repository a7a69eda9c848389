import type { OrganizationLimits } from '../config';
import type { Db } from '../db/database';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate } from '../http/pagination';
import type { JobQueue } from '../jobs/job-queue';
import { toSync, toSyncRun } from './syncs.mapper';
import { listSyncRuns, listSyncs } from './syncs.repository';
import { createSync, deleteSync, requireSync, requireSyncRun, startSyncRun, updateSync } from './syncs.service';

export function syncHandlers(
  db: Db,
  jobs: JobQueue,
  limits: OrganizationLimits,
): HandlerTable<'listSyncs' | 'createSync' | 'getSync' | 'updateSync' | 'deleteSync' | 'startSyncRun' | 'listSyncRuns' | 'getSyncRun'> {
  const listSyncsHandler: OperationHandler<'listSyncs'> = async (req, res) => {
    res.json(
      await paginate({
        query: req.query,
        binding: { list: 'syncs' },
        keyKinds: ['id'],
        fetch: (before, limitPlusOne) => listSyncs(db, principalOf(res).organizationId, limitPlusOne, before?.[0]),
        keysOf: (row) => [row.id],
        toItem: toSync,
      }),
    );
  };
  const createSyncHandler: OperationHandler<'createSync'> = async (req, res) => {
    const sync = await createSync(db, principalOf(res), req.body);
    res.status(201).location(`/v1/syncs/${sync.id}`).json(toSync(sync));
  };
  const getSync: OperationHandler<'getSync'> = async (req, res) => {
    res.json(toSync(await requireSync(db, principalOf(res), req.params.id)));
  };
  const updateSyncHandler: OperationHandler<'updateSync'> = async (req, res) => {
    res.json(toSync(await updateSync(db, principalOf(res), req.params.id, req.body)));
  };
  const deleteSyncHandler: OperationHandler<'deleteSync'> = async (req, res) => {
    await deleteSync(db, principalOf(res), req.params.id);
    res.status(204).end();
  };
  const startSyncRunHandler: OperationHandler<'startSyncRun'> = async (req, res) => {
    const run = await startSyncRun(db, jobs, principalOf(res), req.params.id, limits);
    res.status(202).location(`/v1/syncs/${run.sync_id}/runs/${run.id}`).json(toSyncRun(run));
  };
  const listSyncRunsHandler: OperationHandler<'listSyncRuns'> = async (req, res) => {
    const sync = await requireSync(db, principalOf(res), req.params.id);
    res.json(
      await paginate({
        query: req.query,
        binding: { list: 'sync_runs', sync: sync.id },
        keyKinds: ['id'],
        fetch: (before, limitPlusOne) => listSyncRuns(db, sync.organization_id, sync.id, limitPlusOne, before?.[0]),
        keysOf: (row) => [row.id],
        toItem: toSyncRun,
      }),
    );
  };
  const getSyncRun: OperationHandler<'getSyncRun'> = async (req, res) => {
    res.json(toSyncRun(await requireSyncRun(db, principalOf(res), req.params.id, req.params.run_id)));
  };
  return {
    listSyncs: listSyncsHandler,
    createSync: createSyncHandler,
    getSync,
    updateSync: updateSyncHandler,
    deleteSync: deleteSyncHandler,
    startSyncRun: startSyncRunHandler,
    listSyncRuns: listSyncRunsHandler,
    getSyncRun,
  };
}
