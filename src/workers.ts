import type { Logger } from 'pino';
import { DEFAULT_ORGANIZATION_LIMITS, type OrganizationLimits } from './config';
import type { Db } from './db/database';
import { raiseJobAlerts, raiseScheduledAlerts, type AlertJob, type AlertRunSettings } from './alerts/alert-runner';
import type { Config } from './config';
import { attemptDelivery, RETRY_DELAYS_SECONDS, type DeliveryJob, type DeliverySettings } from './deliveries/deliveries.service';
import { failAbandonedAudit, runAudit, type AuditRunSettings } from './audits/audit-runner';
import type { AuditJob } from './audits/audits.service';
import { reopenExpiredRiskAcceptances } from './findings/findings.service';
import { enabledPolicies } from './policies/policies.service';
import { applyQueuedImport, failAbandonedImport, type ImportJob } from './imports/imports.service';
import { failAbandonedReport, generateReport, type ReportJob, type ReportSettings } from './reports/reports.service';
import { loadCatalogue } from './rules/catalogue';
import { QUEUES, type JobQueue } from './jobs/job-queue';
import { failAbandonedScan, runScan, type ScanRunSettings } from './discovery/scan-runner';
import { startScheduledScans, type ScanJob } from './discovery/scans.service';
import { secretsKeyring } from './discovery/connection-secrets';
import { followUpRotationSync, type RotationFollowUpJob } from './syncs/rotated-secrets-sync';
import { failAbandonedSyncRun, runSync } from './syncs/sync-runner';
import type { SyncJob } from './syncs/syncs.service';
import { startScheduledSyncRuns } from './syncs/sync-schedule';
import { checkRotationPolicies, ROTATION_POLICY_CRON } from './rotation-policies/rotation-policy-check';
import { revokeDueRotations, ROTATION_SWEEP_CRON, verifyDelays, type RotationJob, type RotationSettings } from './rotations/rotations.service';

/** Risk acceptances end to the minute: the expiry job runs every minute (an indexed query when nothing is due). */
export const EXPIRY_CRON = '* * * * *';
/** Connections' scan schedules name minutes: they are checked every minute (an indexed query when nothing is due). */
export const SCAN_SCHEDULE_CRON = '* * * * *';
/** Syncs' schedules name minutes: they are checked every minute (an indexed query when nothing is due). */
export const SYNC_SCHEDULE_CRON = '* * * * *';
/** Expiry alerts are checked every hour besides after each audit (each stage notifies once, however often it is checked). */
export const ALERTS_CRON = '7 * * * *';

export interface WorkerDeps {
  jobs: JobQueue;
  db: Db;
  logger: Logger;
  /** Tests only: the catalogue and clock audits run with instead of the built-in one and the real clock. */
  audits?: Partial<AuditRunSettings>;
  /** Where report files go; undefined keeps them in the database. */
  reportsDir?: string;
  /** The organizations' limits where a platform operator set none (a queued import checks `resources`); default: the built-in ones. */
  limits?: OrganizationLimits;
  /** How alerts are raised and delivered (see `alertSettings`; default: no email); tests change the clock and the retry delays. */
  alerts?: Partial<AlertRunSettings & DeliverySettings>;
  /** How scans run (see `scanSettings`); default: secrets under a key no deployment uses, real endpoints. */
  scans?: Partial<ScanRunSettings>;
  /** How rotations' old passwords are removed (see `rotationSettings`); default: secrets under a key no deployment uses, real endpoints. */
  rotations?: Partial<RotationSettings>;
}

/** Discovery settings of workers started without a configuration (tests): config's defaults, no secrets key. */
const DEFAULT_DISCOVERY: Config['discovery'] = { secretsKey: undefined, previousSecretsKeys: [], scanTimeoutSeconds: 600, scanConcurrency: 8, rotationVerifySeconds: 40, rotationSecretWait: { seconds: 300, pollMs: 5000 }, endpoints: {} };

/** The rotation settings of a configuration. */
export function rotationSettings(config: Pick<Config, 'discovery' | 'license'>, signingSecret: string): Omit<RotationSettings, 'jobs' | 'logger'> {
  return {
    keyring: secretsKeyring(config.discovery, signingSecret),
    endpoints: config.discovery.endpoints,
    plans: { license: config.license },
    auditSecret: signingSecret,
    verifyRetryDelaysMs: verifyDelays(config.discovery.rotationVerifySeconds),
    secretRotationWait: config.discovery.rotationSecretWait,
  };
}

/** The scan settings of a configuration. */
export function scanSettings(config: Pick<Config, 'discovery' | 'organizationLimits'>, signingSecret: string): ScanRunSettings {
  return {
    keyring: secretsKeyring(config.discovery, signingSecret),
    endpoints: config.discovery.endpoints,
    timeoutSeconds: config.discovery.scanTimeoutSeconds,
    concurrency: config.discovery.scanConcurrency,
    limits: config.organizationLimits,
    progressEveryMs: 1000,
    auditLogSecret: signingSecret,
  };
}

/** The alert settings of a configuration, on the real clock. */
export function alertSettings(
  config: Pick<Config, 'smtpUrl' | 'alertsFrom' | 'publicUrl' | 'webhookAllowedHosts' | 'pagerdutyEventsUrl'>,
  /** The secret webhook signing secrets are encrypted under: the JWT signing secret. */
  encryptionSecret: string,
): AlertRunSettings & DeliverySettings {
  return {
    now: () => new Date(),
    smtpUrl: config.smtpUrl,
    from: config.alertsFrom,
    publicUrl: config.publicUrl,
    retryDelaysSeconds: RETRY_DELAYS_SECONDS,
    webhooks: { allowedHosts: config.webhookAllowedHosts, encryptionSecret, pagerdutyEventsUrl: config.pagerdutyEventsUrl },
  };
}

/**
 * Works every queue in this process (the API's by default; `npm run worker` for a worker alone).
 * Imports, audits and reports are worked fairly between organizations (`JobQueue.workFairly`).
 */
export async function startWorkers({ jobs, db, logger, reportsDir, limits = DEFAULT_ORGANIZATION_LIMITS, ...options }: WorkerDeps): Promise<void> {
  const audits: AuditRunSettings = { ...DEFAULT_AUDIT_SETTINGS, ...options.audits };
  const reports: ReportSettings = { reportsDir };
  // Without settings (tests of other features): no email, and no webhook secret readable.
  const alerts = { ...alertSettings({ smtpUrl: undefined, alertsFrom: 'fourfold <alerts@fourfold.invalid>', publicUrl: undefined, webhookAllowedHosts: [], pagerdutyEventsUrl: 'https://events.pagerduty.com/v2/enqueue' }, ''), ...options.alerts };
  await jobs.workFairly<ImportJob>(QUEUES.imports, async (job) => {
    const log = logger.child({ job: job.id, import: job.data.import_id, attempt: job.retryCount + 1 });
    try {
      await applyQueuedImport(db, job.data.import_id, limits);
      log.info('import written');
    } catch (error) {
      log.error({ err: error }, 'import attempt failed');
      throw error;
    }
  });
  await jobs.work<ImportJob>(QUEUES.abandonedImports, async (job) => {
    logger.error({ import: job.data.import_id }, 'import abandoned after its last attempt');
    await failAbandonedImport(db, job.data.import_id);
  });
  await jobs.workFairly<AuditJob>(QUEUES.audits, async (job) => {
    const log = logger.child({ job: job.id, audit: job.data.audit_id, attempt: job.retryCount + 1 });
    try {
      await runAudit(db, job.data.audit_id, audits);
      log.info('audit finished');
      // A separate job, so that raising and delivering alerts never holds up or fails an audit.
      await jobs.send(QUEUES.alerts, { audit_id: job.data.audit_id } satisfies AlertJob);
    } catch (error) {
      log.error({ err: error }, 'audit attempt failed');
      throw error;
    }
  });
  await jobs.work<AuditJob>(QUEUES.abandonedAudits, async (job) => {
    logger.error({ audit: job.data.audit_id }, 'audit abandoned after its last attempt');
    await failAbandonedAudit(db, job.data.audit_id);
    await jobs.send(QUEUES.alerts, { audit_id: job.data.audit_id } satisfies AlertJob);
  });
  await jobs.workFairly<ReportJob>(QUEUES.reports, async (job) => {
    await generateReport(db, job.data.report_id, reports, logger.child({ job: job.id, attempt: job.retryCount + 1 }));
    logger.info({ job: job.id, report: job.data.report_id }, 'report generation ended');
  });
  await jobs.work<ReportJob>(QUEUES.abandonedReports, async (job) => {
    logger.error({ report: job.data.report_id }, 'report abandoned after its last attempt');
    await failAbandonedReport(db, job.data.report_id);
  });

  const scans: ScanRunSettings = { ...scanSettings({ discovery: DEFAULT_DISCOVERY, organizationLimits: limits }, ''), ...options.scans };
  await jobs.workFairly<ScanJob>(QUEUES.scans, async (job) => {
    const log = logger.child({ job: job.id, scan: job.data.scan_id, attempt: job.retryCount + 1 });
    try {
      await runScan(db, jobs, job.data.scan_id, scans, log);
      // A separate job, as for audits: raising scan events never holds up or fails a scan.
      await jobs.send(QUEUES.alerts, { scan_id: job.data.scan_id } satisfies AlertJob);
    } catch (error) {
      log.error({ err: error }, 'scan attempt failed');
      throw error;
    }
  });
  await jobs.work<ScanJob>(QUEUES.abandonedScans, async (job) => {
    logger.error({ scan: job.data.scan_id }, 'scan abandoned after its last attempt');
    await failAbandonedScan(db, job.data.scan_id);
    await jobs.send(QUEUES.alerts, { scan_id: job.data.scan_id } satisfies AlertJob);
  });
  await jobs.work(QUEUES.scanSchedule, async (job) => {
    for (const outcome of await startScheduledScans(db, jobs, { now: scans.now ?? (() => new Date()), limits: scans.limits, auditLogSecret: scans.auditLogSecret, logger })) {
      if (outcome.outcome === 'started') logger.info({ job: job.id, ...outcome }, 'scheduled scan started');
      else logger.warn({ job: job.id, ...outcome }, 'scheduled scan skipped');
    }
  });
  await jobs.schedule(QUEUES.scanSchedule, SCAN_SCHEDULE_CRON);

  const rotations: RotationSettings = {
    ...rotationSettings({ discovery: DEFAULT_DISCOVERY, license: undefined }, ''),
    ...options.rotations,
    jobs,
    logger,
  };

  // Syncs read and write through the same connections and endpoint overrides as scans.
  const syncs = { keyring: scans.keyring, endpoints: scans.endpoints };
  await jobs.workFairly<SyncJob | RotationFollowUpJob>(QUEUES.syncs, async (job) => {
    if ('rotation_follow_up' in job.data) {
      const outcome = await followUpRotationSync(db, jobs, rotations, job.data);
      logger.info({ job: job.id, rotation: job.data.rotation_follow_up.rotation_id, ...outcome }, 'rotation sync run follow-up');
      return;
    }
    const log = logger.child({ job: job.id, sync_run: job.data.sync_run_id, attempt: job.retryCount + 1 });
    try {
      await runSync(db, job.data.sync_run_id, syncs, log);
      await jobs.send(QUEUES.alerts, { sync_run_id: job.data.sync_run_id } satisfies AlertJob);
    } catch (error) {
      log.error({ err: error }, 'sync run attempt failed');
      throw error;
    }
  });
  await jobs.work<SyncJob | RotationFollowUpJob>(QUEUES.abandonedSyncs, async (job) => {
    if ('rotation_follow_up' in job.data) return logger.error({ ...job.data.rotation_follow_up }, 'could not queue the sync run of a rotation');
    logger.error({ sync_run: job.data.sync_run_id }, 'sync run abandoned after its last attempt');
    await failAbandonedSyncRun(db, job.data.sync_run_id);
    await jobs.send(QUEUES.alerts, { sync_run_id: job.data.sync_run_id } satisfies AlertJob);
  });
  await jobs.work(QUEUES.syncSchedule, async (job) => {
    const settings = { now: scans.now ?? (() => new Date()), limits: scans.limits, plans: rotations.plans, auditLogSecret: scans.auditLogSecret, logger };
    for (const outcome of await startScheduledSyncRuns(db, jobs, settings)) {
      if (outcome.outcome === 'started') logger.info({ job: job.id, ...outcome }, 'scheduled sync run started');
      else logger.warn({ job: job.id, ...outcome }, 'scheduled sync run skipped');
    }
  });
  await jobs.schedule(QUEUES.syncSchedule, SYNC_SCHEDULE_CRON);

  await jobs.work<RotationJob>(QUEUES.rotationRevokes, async (job) => {
    const revoked = await revokeDueRotations(db, rotations, job.data);
    for (const row of revoked) logger.info({ job: job.id, rotation: row.id, status: row.status }, 'rotated password removal ran');
  });
  await jobs.schedule(QUEUES.rotationRevokes, ROTATION_SWEEP_CRON);
  await jobs.work(QUEUES.rotationPolicies, async (job) => {
    for (const outcome of await checkRotationPolicies(db, rotations, logger)) {
      if (outcome.outcome !== 'already_rotated') logger.info({ job: job.id, ...outcome }, 'rotation policy checked a credential');
    }
  });
  await jobs.schedule(QUEUES.rotationPolicies, ROTATION_POLICY_CRON);

  await jobs.work(QUEUES.findingExpiry, async (job) => {
    const reopened = await reopenExpiredRiskAcceptances(db, new Date());
    if (reopened > 0) logger.info({ job: job.id, reopened }, 'expired risk acceptances reopened');
  });
  await jobs.schedule(QUEUES.findingExpiry, EXPIRY_CRON);

  await jobs.work<AlertJob>(QUEUES.alerts, async (job) => {
    const queued = await raiseJobAlerts(db, jobs, job.data, alerts);
    if (queued > 0) logger.info({ job: job.id, ...job.data, deliveries: queued }, 'alerts raised');
  });
  await jobs.work(QUEUES.alertsSchedule, async (job) => {
    const queued = await raiseScheduledAlerts(db, jobs, alerts);
    if (queued > 0) logger.info({ job: job.id, deliveries: queued }, 'scheduled alerts raised');
  });
  await jobs.schedule(QUEUES.alertsSchedule, ALERTS_CRON);
  await jobs.work<DeliveryJob>(QUEUES.deliveries, async (job) => {
    const delivery = await attemptDelivery(db, jobs, job.data.delivery_id, alerts);
    if (delivery) logger.info({ job: job.id, delivery: delivery.id, status: delivery.status, attempt: delivery.attempt_count }, 'delivery attempted');
  });
}

const DEFAULT_AUDIT_SETTINGS: AuditRunSettings = { catalogue: loadCatalogue, policies: enabledPolicies, now: () => new Date() };
