import type { OrganizationLimits } from '../config';
import type { Db } from '../db/database';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate } from '../http/pagination';
import type { JobQueue } from '../jobs/job-queue';
import type { CloudEndpoints } from './collector';
import type { SecretsKeyring } from './connection-secrets';
import { toConnection } from './connections.mapper';
import type { PlanSettings } from '../plans/plans.service';
import { getConnection, putConnection, removeConnection } from './connections.service';
import { verifyConnection } from './verify';
import { toScan } from './scans.mapper';
import { listScans, type ScanFilter } from './scans.repository';
import { cancelScan, requireScan, startAccountScan, startScansOfOrganization } from './scans.service';

export interface DiscoverySettings {
  keyring: SecretsKeyring;
  endpoints: CloudEndpoints;
  concurrency: number;
  limits: OrganizationLimits;
  /** The plan a new connection counts against (`connected_accounts`). */
  plans: PlanSettings;
}

export function discoveryHandlers(
  db: Db,
  jobs: JobQueue,
  settings: DiscoverySettings,
): HandlerTable<
  'getAccountConnection' | 'replaceAccountConnection' | 'deleteAccountConnection' | 'verifyAccountConnection' | 'createAccountScan' | 'createScans' | 'listScans' | 'getScan' | 'cancelScan'
> {
  const getAccountConnection: OperationHandler<'getAccountConnection'> = async (req, res) => {
    res.json(toConnection(await getConnection(db, principalOf(res), req.params.id)));
  };
  const replaceAccountConnection: OperationHandler<'replaceAccountConnection'> = async (req, res) => {
    res.json(toConnection(await putConnection(db, settings.keyring, settings.plans, principalOf(res), req.params.id, req.body)));
  };
  const deleteAccountConnection: OperationHandler<'deleteAccountConnection'> = async (req, res) => {
    await removeConnection(db, principalOf(res), req.params.id);
    res.status(204).end();
  };
  const verifyAccountConnection: OperationHandler<'verifyAccountConnection'> = async (req, res) => {
    res.json(await verifyConnection(db, settings, principalOf(res), req.params.id));
  };
  const createAccountScan: OperationHandler<'createAccountScan'> = async (req, res) => {
    const scan = await startAccountScan(db, jobs, principalOf(res), req.params.id, req.body?.mode ?? 'full', settings.limits);
    res.status(202).location(`/v1/scans/${scan.id}`).json(toScan(scan));
  };
  const createScans: OperationHandler<'createScans'> = async (req, res) => {
    const { scans, skipped } = await startScansOfOrganization(db, jobs, principalOf(res), req.body?.mode ?? 'full', settings.limits);
    res.status(202).json({ scans: scans.map(toScan), skipped });
  };
  const listScansHandler: OperationHandler<'listScans'> = async (req, res) => {
    const filter: ScanFilter = { accountId: req.query.account_id, status: req.query.status };
    res.json(
      await paginate({
        query: req.query,
        binding: { list: 'scans', filter },
        keyKinds: ['id'],
        fetch: (before, limitPlusOne) => listScans(db, principalOf(res).organizationId, filter, limitPlusOne, before?.[0]),
        keysOf: (row) => [row.id],
        toItem: toScan,
      }),
    );
  };
  const getScan: OperationHandler<'getScan'> = async (req, res) => {
    res.json(toScan(await requireScan(db, principalOf(res), req.params.id)));
  };
  const cancelScanHandler: OperationHandler<'cancelScan'> = async (req, res) => {
    res.json(toScan(await cancelScan(db, principalOf(res), req.params.id)));
  };
  return {
    getAccountConnection,
    replaceAccountConnection,
    deleteAccountConnection,
    verifyAccountConnection,
    createAccountScan,
    createScans,
    listScans: listScansHandler,
    getScan,
    cancelScan: cancelScanHandler,
  };
}
