import type { OrganizationLimits } from '../config';
import type { Db } from '../db/database';
import type { ScanRow } from '../db/schema';
import { AppError } from '../errors';
import type { Principal } from '../http/principal';
import { newId } from '../ids';
import { QUEUES, type JobQueue } from '../jobs/job-queue';
import { assertQueuedJobQuota } from '../quotas/quotas.service';
import { requireAccount } from '../accounts/accounts.service';
import { connectedAccountIds, findConnection } from './connections.service';
import { finishScanRow, findActiveScan, findScan, insertScan } from './scans.repository';

export interface ScanJob {
  scan_id: string;
}

type Mode = 'full' | 'incremental';

/** Queues a scan of a connected account; 409 `scan_in_progress` naming the one queued or running. */
export async function startAccountScan(db: Db, jobs: JobQueue, principal: Principal, accountId: string, mode: Mode, limits: OrganizationLimits): Promise<ScanRow> {
  const account = await requireAccount(db, principal, accountId);
  if (!(await findConnection(db, principal.organizationId, account.id))) {
    throw new AppError('not_connected', `Account ${account.id} has no connection; PUT /v1/accounts/${account.id}/connection first.`);
  }
  const queued = await queueScan(db, jobs, principal, account.id, mode, limits);
  if ('running' in queued) {
    throw new AppError('scan_in_progress', `Account ${account.id} already has scan ${queued.running.id} ${queued.running.status}; wait for it or cancel it.`, [
      { field: null, issue: `running scan ${queued.running.id}` },
    ]);
  }
  return queued.scan;
}

/** Queues a scan of every connected account; those with a scan under way are skipped and named. */
export async function startScansOfOrganization(db: Db, jobs: JobQueue, principal: Principal, mode: Mode, limits: OrganizationLimits) {
  const scans: ScanRow[] = [];
  const skipped: { account_id: string; running_scan_id: string }[] = [];
  for (const accountId of await connectedAccountIds(db, principal.organizationId)) {
    const queued = await queueScan(db, jobs, principal, accountId, mode, limits);
    if ('running' in queued) skipped.push({ account_id: accountId, running_scan_id: queued.running.id });
    else scans.push(queued.scan);
  }
  return { scans, skipped };
}

async function queueScan(db: Db, jobs: JobQueue, principal: Principal, accountId: string, mode: Mode, limits: OrganizationLimits): Promise<{ scan: ScanRow } | { running: ScanRow }> {
  await jobs.start();
  try {
    const scan = await db.transaction().execute(async (trx) => {
      await assertQueuedJobQuota(trx, principal.organizationId, limits);
      const row = await insertScan(trx, {
        id: newId('scn'),
        organization_id: principal.organizationId,
        account_id: accountId,
        mode,
        trigger: 'api',
        status: 'queued',
        created_by: principal.userId,
        created_at: new Date(),
        error_code: null,
        error_message: null,
        audit_id: null,
        counts: null,
        started_at: null,
        finished_at: null,
      });
      await jobs.send(QUEUES.scans, { scan_id: row.id } satisfies ScanJob, trx, principal.organizationId);
      return row;
    });
    jobs.wake(QUEUES.scans);
    return { scan };
  } catch (error) {
    // The unique index on an account's queued or running scan: one is under way.
    if ((error as { code?: string }).code !== '23505') throw error;
    const running = await findActiveScan(db, accountId);
    if (!running) throw error;
    return { running };
  }
}

export async function requireScan(db: Db, principal: Principal, id: string): Promise<ScanRow> {
  const scan = await findScan(db, principal.organizationId, id);
  if (!scan) throw new AppError('not_found', `No scan ${id} in this organization.`);
  return scan;
}

/** Cancels a queued or running scan (its worker stops at its next cloud call); an ended one answers 409. */
export async function cancelScan(db: Db, principal: Principal, id: string): Promise<ScanRow> {
  const scan = await requireScan(db, principal, id);
  const canceled = await finishScanRow(db, scan.id, { status: 'canceled' });
  if (!canceled) throw new AppError('scan_not_cancelable', `Scan ${scan.id} has already ended (${scan.status}); only a queued or running scan can be canceled.`);
  return canceled;
}
