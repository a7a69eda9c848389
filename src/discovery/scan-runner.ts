import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { OrganizationLimits } from '../config';
import type { Db } from '../db/database';
import type { ScanFailureData, ScanUnitData } from '../db/schema';
import { AppError } from '../errors';
import { lockAccount } from '../accounts/accounts.service';
import { insertQueuedAudit, type AuditJob } from '../audits/audits.service';
import { writeScannedResources } from '../imports/imports.service';
import { QUEUES, type JobQueue } from '../jobs/job-queue';
import { CollectorError, type CloudEndpoints, type CollectorResult } from './collector';
import { COLLECTORS } from './collector-registry';
import type { SecretsKeyring } from './connection-secrets';
import { connectionCredentials, findConnection } from './connections.service';
import { findAccountById, finishScanRow, findScanById, lastSuccessfulScanStart, lockRunningScan, saveScanProgress, startScanRow } from './scans.repository';
import { proposeCredentialLinks } from '../credential-links/credential-links.service';

export interface ScanRunSettings {
  keyring: SecretsKeyring;
  endpoints: CloudEndpoints;
  timeoutSeconds: number;
  concurrency: number;
  limits: OrganizationLimits;
  /** How often a running scan saves its progress (and notices it was canceled). */
  progressEveryMs: number;
  /** The clock scan schedules fall due by (tests move it); default: the real one. */
  now?: () => Date;
  /** The JWT signing secret, which keys the audit log's HMACs: scheduled scans are recorded there. */
  auditLogSecret: string;
}

/**
 * Runs one scan: reads the account through its provider's collector, then writes what it read
 * (as an import does) and queues the account's audit, in one transaction. A scan canceled
 * meanwhile writes nothing.
 */
export async function runScan(db: Db, jobs: JobQueue, scanId: string, settings: ScanRunSettings, logger: Logger): Promise<void> {
  const scan = await startScanRow(db, scanId);
  if (!scan) return;
  const fail = async (code: string, message: string, extra: { units?: ScanUnitData[]; requests?: number } = {}) => {
    await finishScanRow(db, scan.id, { status: 'failed', error_code: code, error_message: message, ...extra });
    logger.info({ scan: scan.id, code }, 'scan failed');
  };
  const account = await findAccountById(db, scan.account_id);
  const connection = account && (await findConnection(db, scan.organization_id, scan.account_id));
  if (!account || !connection) return fail('not_connected', 'The account has no connection any more.');
  let credentials;
  try {
    credentials = await connectionCredentials(db, settings.keyring, account, connection);
  } catch (error) {
    return fail('invalid_credentials', (error as Error).message);
  }
  const collector = await COLLECTORS[credentials.provider]();

  const units = new Map<string, ScanUnitData>();
  const stop = new AbortController();
  // Every cloud call in flight listens for the abort: SCAN_CONCURRENCY units, each several calls at once.
  setMaxListeners(0, stop.signal);
  let stoppedBy: 'timeout' | 'cancel' | null = null;
  const timer = setTimeout(() => {
    stoppedBy = 'timeout';
    stop.abort(new Error('scan_timeout'));
  }, settings.timeoutSeconds * 1000);
  const saver = setInterval(() => {
    void saveScanProgress(db, scan.id, [...units.values()], 0).then((running) => {
      if (!running && !stop.signal.aborted) {
        stoppedBy = 'cancel';
        stop.abort(new Error('canceled'));
      }
    }, () => undefined);
  }, settings.progressEveryMs);

  let result: CollectorResult;
  try {
    result = await collector.collect(credentials, {
      signal: stop.signal,
      mode: scan.mode,
      changedSince: scan.mode === 'incremental' ? await lastSuccessfulScanStart(db, account.id) : null,
      endpoints: settings.endpoints,
      concurrency: settings.concurrency,
      progress: (unit) => units.set(`${unit.service}\u0000${unit.region ?? ''}`, { ...unit }),
    });
  } catch (error) {
    if (stoppedBy === 'cancel') return;
    if (stoppedBy === 'timeout') return fail('scan_timeout', `The scan did not finish within ${settings.timeoutSeconds} s (SCAN_TIMEOUT_SECONDS).`, { units: [...units.values()] });
    if (error instanceof CollectorError) return fail(error.code, error.message, { units: [...units.values()] });
    throw error;
  } finally {
    clearTimeout(timer);
    clearInterval(saver);
  }

  const failures: ScanFailureData[] = result.failures.map((f) => ({ ...f, message: f.message.slice(0, 2000) }));
  await jobs.start();
  try {
    const ended = await db.transaction().execute(async (trx) => {
      if (!(await lockRunningScan(trx, scan.id))) return null; // canceled while reading
      const locked = await lockAccount(trx, account.organization_id, account.id);
      if (!locked) return null;
      const counts = await writeScannedResources(trx, locked, scan.mode, result.resources, result.complete, settings.limits);
      let auditId: string | null = null;
      // A scheduled scan has no user; the audit after it is whoever set the schedule's.
      const auditor = scan.created_by ?? connection.scan_schedule_set_by;
      if (connection.audit_after_scan && auditor) {
        const audit = await insertQueuedAudit(trx, { organizationId: scan.organization_id, userId: auditor }, { mode: 'full', account_ids: [account.id], parent_audit_id: null });
        await jobs.send(QUEUES.audits, { audit_id: audit.id } satisfies AuditJob, trx, scan.organization_id);
        auditId = audit.id;
      }
      return finishScanRow(trx, scan.id, {
        status: failures.length > 0 ? 'partially_succeeded' : 'succeeded',
        units: [...units.values()],
        failures,
        counts: { read: result.resources.length, ...counts },
        requests: result.requests,
        audit_id: auditId,
      });
    });
    if (ended?.audit_id) jobs.wake(QUEUES.audits);
    if (ended) logger.info({ scan: scan.id, status: ended.status, resources: result.resources.length, requests: result.requests }, 'scan finished');
    // The credentials and secrets just read may hold one another: propose the links (a failure here never fails the scan).
    if (ended) await proposeCredentialLinks(db, scan.organization_id).catch((error: unknown) => logger.warn({ scan: scan.id, err: error }, 'credential link proposals failed'));
  } catch (error) {
    if (error instanceof AppError && error.code === 'quota_exceeded') return fail('quota_exceeded', error.message, { units: [...units.values()], requests: result.requests });
    throw error;
  }
}

/** Ends a scan whose job ran out of attempts as failed. */
export async function failAbandonedScan(db: Db, scanId: string): Promise<void> {
  const scan = await findScanById(db, scanId);
  if (!scan) return;
  await finishScanRow(db, scan.id, { status: 'failed', error_code: 'worker_lost', error_message: 'The scan did not finish after several attempts.' });
}
