import type { Logger } from 'pino';
import type { OrganizationLimits } from '../config';
import { recordAuditLogEntry } from '../audit-log/audit-log.service';
import type { Db, Trx } from '../db/database';
import type { ScanRow } from '../db/schema';
import { AppError } from '../errors';
import type { Principal } from '../http/principal';
import { newId } from '../ids';
import { QUEUES, type JobQueue } from '../jobs/job-queue';
import { assertQueuedJobQuota } from '../quotas/quotas.service';
import { requireAccount } from '../accounts/accounts.service';
import { connectedAccountIds, findConnection } from './connections.service';
import { claimScheduledScan, dueScheduledConnections, setFirstScanTime, unscheduledConnections } from './connections.repository';
import { nextScanTime } from './scan-schedule';
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

/** Who starts a scan: a caller, or a connection's schedule (no user). */
interface ScanStarter {
  organizationId: string;
  userId: string | null;
  trigger: ScanRow['trigger'];
}

async function queueScan(db: Db, jobs: JobQueue, principal: Principal, accountId: string, mode: Mode, limits: OrganizationLimits): Promise<{ scan: ScanRow } | { running: ScanRow }> {
  await jobs.start();
  try {
    const scan = await db.transaction().execute((trx) => insertQueuedScan(trx, jobs, { organizationId: principal.organizationId, userId: principal.userId, trigger: 'api' }, accountId, mode, limits));
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

/** The scan row and its job, in the caller's transaction, under the organization's queued-job quota. */
async function insertQueuedScan(trx: Trx, jobs: JobQueue, starter: ScanStarter, accountId: string, mode: Mode, limits: OrganizationLimits): Promise<ScanRow> {
  await assertQueuedJobQuota(trx, starter.organizationId, limits);
  const row = await insertScan(trx, {
    id: newId('scn'),
    organization_id: starter.organizationId,
    account_id: accountId,
    mode,
    trigger: starter.trigger,
    status: 'queued',
    created_by: starter.userId,
    created_at: new Date(),
    error_code: null,
    error_message: null,
    audit_id: null,
    counts: null,
    started_at: null,
    finished_at: null,
  });
  await jobs.send(QUEUES.scans, { scan_id: row.id } satisfies ScanJob, trx, starter.organizationId);
  return row;
}

export interface ScheduledScanSettings {
  /** The clock schedules fall due by (tests move it). */
  now: () => Date;
  limits: OrganizationLimits;
  /** The secret the audit log's HMACs are keyed by (the JWT signing secret): each scheduled scan is an entry by the system. */
  auditLogSecret: string;
  /** Where a failure to write an audit-log entry is told (the scan it records has started). */
  logger: Pick<Logger, 'error'>;
}

/** What one check of the schedules did to one due connection. */
export type ScheduledScanOutcome =
  | { account_id: string; outcome: 'started'; scan_id: string }
  | { account_id: string; outcome: 'scan_in_progress'; scan_id: string }
  | { account_id: string; outcome: 'quota_exceeded' | 'organization_suspended' };

/** How many due schedules one check takes on; the rest wait for the next check, a minute later. */
const SCHEDULED_BATCH = 200;

/**
 * Starts a `full` scan of every connection whose `scan_schedule` is due, as `POST
 * /v1/accounts/{id}/scans` would (same quota, and never a second scan of an account while one is
 * queued or running: that time is skipped), and moves each schedule on to its next time after
 * now, so a time missed while no worker ran is run once, not once per missed time. Each schedule
 * is moved by a compare-and-set in the transaction that queues its scan: of processes checking at
 * once, exactly one starts it.
 */
export async function startScheduledScans(db: Db, jobs: JobQueue, settings: ScheduledScanSettings): Promise<ScheduledScanOutcome[]> {
  const now = settings.now();
  for (const connection of await unscheduledConnections(db, SCHEDULED_BATCH)) {
    const next = connection.scan_schedule && nextScanTime(connection.scan_schedule, now);
    if (next) await setFirstScanTime(db, connection.account_id, next);
  }
  const due = await dueScheduledConnections(db, now, SCHEDULED_BATCH);
  if (due.length === 0) return [];
  await jobs.start();
  const outcomes: ScheduledScanOutcome[] = [];
  for (const connection of due) {
    const next = connection.scan_schedule ? nextScanTime(connection.scan_schedule, now) : null;
    const outcome = await db.transaction().execute(async (trx): Promise<ScheduledScanOutcome | null> => {
      if (!(await claimScheduledScan(trx, connection.account_id, connection.next_scan_at!, next))) return null;
      const account = { account_id: connection.account_id };
      // A suspended organization's credentials are refused; its schedules wait, moving on, until it is reinstated.
      if (connection.organization_status !== 'active') return { ...account, outcome: 'organization_suspended' };
      const running = await findActiveScan(trx, connection.account_id);
      if (running) return { ...account, outcome: 'scan_in_progress', scan_id: running.id };
      try {
        const scan = await insertQueuedScan(trx, jobs, { organizationId: connection.organization_id, userId: null, trigger: 'schedule' }, connection.account_id, 'full', settings.limits);
        return { ...account, outcome: 'started', scan_id: scan.id };
      } catch (error) {
        if (error instanceof AppError && error.code === 'quota_exceeded') return { ...account, outcome: 'quota_exceeded' };
        throw error;
      }
    }).catch((error: unknown) => {
      // A scan requested at the same moment won the account's one place: the next check skips this time.
      if ((error as { code?: string }).code === '23505') return null;
      throw error;
    });
    if (!outcome) continue;
    outcomes.push(outcome);
    if (outcome.outcome === 'started') {
      // As `POST /v1/accounts/{id}/scans` would be recorded, by the system instead of a caller.
      await recordAuditLogEntry(db, settings.auditLogSecret, {
        organizationId: connection.organization_id,
        actorType: 'system',
        actorId: null,
        userId: null,
        action: 'createAccountScan',
        targetId: connection.account_id,
        outcome: 200,
        requestId: null,
        ip: null,
        detail: { scan_id: outcome.scan_id, trigger: 'schedule' },
        occurredAt: now,
      }).catch((error: unknown) => settings.logger.error({ err: error, scan: outcome.scan_id }, 'could not write the audit-log entry of a scheduled scan'));
    }
  }
  if (outcomes.some((outcome) => outcome.outcome === 'started')) jobs.wake(QUEUES.scans);
  return outcomes;
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
