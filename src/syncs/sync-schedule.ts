import type { Logger } from 'pino';
import { recordAuditLogEntry } from '../audit-log/audit-log.service';
import type { OrganizationLimits } from '../config';
import type { Db } from '../db/database';
import { nextScanTime } from '../discovery/scan-schedule';
import { AppError } from '../errors';
import { QUEUES, type JobQueue } from '../jobs/job-queue';
import { organizationPlan, planRequired, type PlanSettings } from '../plans/plans.service';
import { planIncludes } from '../plans/plan-catalogue';
import { insertSyncRunRow } from './syncs.service';
import { claimScheduledSync, dueScheduledSyncs, findActiveSyncRun } from './syncs.repository';

export interface ScheduledSyncSettings {
  /** The clock schedules fall due by (tests move it). */
  now: () => Date;
  limits: OrganizationLimits;
  plans: PlanSettings;
  /** The secret the audit log's HMACs are keyed by: each scheduled run is an entry by the system. */
  auditLogSecret: string;
  logger: Pick<Logger, 'error'>;
}

/** What one check of the schedules did to one due sync. */
export type ScheduledSyncOutcome =
  | { sync_id: string; outcome: 'started' | 'run_in_progress'; sync_run_id: string }
  | { sync_id: string; outcome: 'paused'; reason: string }
  | { sync_id: string; outcome: 'quota_exceeded' | 'organization_suspended' };

/** How many due schedules one check takes on; the rest wait for the next check, a minute later. */
const SCHEDULED_BATCH = 200;

/**
 * Starts a run of every sync whose `schedule` is due, as `POST /v1/syncs/{id}/run` would (same
 * quota; a time at which a run is still queued or running is skipped), and moves each schedule on
 * to its next time after now, so a time missed while no worker ran is run once. When the
 * organization's plan no longer includes `sync` the schedule waits, saying why, and moves on:
 * nothing is deleted, and it runs again at its next time once the plan has `sync` again. Each
 * schedule is moved by a compare-and-set in the transaction that queues its run, so that of
 * processes checking at once exactly one starts it.
 */
export async function startScheduledSyncRuns(db: Db, jobs: JobQueue, settings: ScheduledSyncSettings): Promise<ScheduledSyncOutcome[]> {
  const now = settings.now();
  const due = await dueScheduledSyncs(db, now, SCHEDULED_BATCH);
  if (due.length === 0) return [];
  await jobs.start();
  const outcomes: ScheduledSyncOutcome[] = [];
  for (const sync of due) {
    const next = sync.schedule ? nextScanTime(sync.schedule, now) : null;
    const plan = await organizationPlan(db, { ...settings.plans, now: () => now }, sync.organization_id);
    const paused = planIncludes(plan.plan, 'sync') ? null : `Paused: ${planRequired('sync', plan).message} Nothing was deleted; the schedule runs again once the plan includes sync.`;
    const outcome = await db
      .transaction()
      .execute(async (trx): Promise<ScheduledSyncOutcome | null> => {
        if (!(await claimScheduledSync(trx, sync.id, sync.next_run_at!, next, paused))) return null;
        if (paused) return { sync_id: sync.id, outcome: 'paused', reason: paused };
        if (sync.organization_status !== 'active') return { sync_id: sync.id, outcome: 'organization_suspended' };
        const running = await findActiveSyncRun(trx, sync.id);
        if (running) return { sync_id: sync.id, outcome: 'run_in_progress', sync_run_id: running.id };
        try {
          const run = await insertSyncRunRow(trx, jobs, { organizationId: sync.organization_id, userId: null, trigger: 'schedule' }, sync.id, settings.limits, now);
          return { sync_id: sync.id, outcome: 'started', sync_run_id: run.id };
        } catch (error) {
          if (error instanceof AppError && error.code === 'quota_exceeded') return { sync_id: sync.id, outcome: 'quota_exceeded' };
          throw error;
        }
      })
      .catch((error: unknown) => {
        // A run requested at the same moment took the sync's one place: this time is skipped.
        if ((error as { code?: string }).code === '23505') return null;
        throw error;
      });
    if (!outcome) continue;
    outcomes.push(outcome);
    if (outcome.outcome === 'started') {
      await recordAuditLogEntry(db, settings.auditLogSecret, {
        organizationId: sync.organization_id,
        actorType: 'system',
        actorId: null,
        userId: null,
        action: 'startSyncRun',
        targetId: sync.id,
        outcome: 202,
        requestId: null,
        ip: null,
        detail: { sync_run_id: outcome.sync_run_id, trigger: 'schedule' },
        occurredAt: now,
      }).catch((error: unknown) => settings.logger.error({ err: error, sync_run: outcome.sync_run_id }, 'could not write the audit-log entry of a scheduled sync run'));
    }
  }
  if (outcomes.some((outcome) => outcome.outcome === 'started')) jobs.wake(QUEUES.syncs);
  return outcomes;
}
