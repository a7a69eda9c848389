import type { Logger } from 'pino';
import type { Db } from '../db/database';
import { reopenExpiredRiskAcceptances } from '../findings/findings.service';
import { applyQueuedImport, type ImportJob } from '../imports/imports.service';
import { QUEUES, type JobQueue } from './job-queue';

/** Risk acceptances end to the minute: the expiry job runs every minute (an indexed query when nothing is due). */
export const EXPIRY_CRON = '* * * * *';

/** Works every queue in this process (the API's by default; `npm run worker` for a worker alone). */
export async function startWorkers(jobs: JobQueue, db: Db, logger: Logger): Promise<void> {
  await jobs.work<ImportJob>(QUEUES.imports, async (job) => {
    const log = logger.child({ job: job.id, import: job.data.import_id, attempt: job.retryCount + 1 });
    try {
      await applyQueuedImport(db, job.data.import_id, job.retryCount >= job.retryLimit);
      log.info('import written');
    } catch (error) {
      log.error({ err: error }, 'import failed');
      throw error;
    }
  });

  await jobs.work(QUEUES.findingExpiry, async (job) => {
    const reopened = await reopenExpiredRiskAcceptances(db, new Date());
    if (reopened > 0) logger.info({ job: job.id, reopened }, 'expired risk acceptances reopened');
  });
  await jobs.schedule(QUEUES.findingExpiry, EXPIRY_CRON);
}
