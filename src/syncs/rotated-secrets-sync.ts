import type { Logger } from 'pino';
import { recordAuditLogEntry } from '../audit-log/audit-log.service';
import type { Db } from '../db/database';
import type { SyncRow } from '../db/schema';
import { QUEUES, type JobQueue } from '../jobs/job-queue';
import { organizationPlan, type PlanSettings } from '../plans/plans.service';
import { planIncludes } from '../plans/plan-catalogue';
import { wanted } from './sync-runner';
import { insertSyncRunRow } from './syncs.service';
import { findActiveSyncRun, findSyncById, syncsOfVault, widenQueuedSyncRun } from './syncs.repository';

export interface RotatedSecretsSettings {
  plans: PlanSettings;
  /** The server key audit-log entries of automated actions are signed with. */
  auditSecret: string;
  /** Absent: no queue to run syncs on, nothing is started. */
  jobs?: JobQueue;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
  now?: () => Date;
}

/** What a rotation wrote: the Key Vault secret URIs (`https://<vault>.vault.azure.net/secrets/<name>`). */
export interface RotatedSecrets {
  id: string;
  organization_id: string;
  created_by: string | null;
  key_vault_secrets: string[];
}

/** A rotation's run of one sync that waits for the sync's running run to end. */
export interface RotationFollowUpJob {
  rotation_follow_up: { rotation_id: string; organization_id: string; created_by: string | null; sync_id: string; names: string[]; attempt: number };
}

export type RotationSyncOutcome =
  | { sync_id: string; outcome: 'started' | 'covered_by_queued_run' | 'deferred'; sync_run_id: string }
  | { sync_id: null; outcome: 'plan_lacks_sync' | 'no_queue' };

/** How long a deferred run waits before trying again, and how often it tries (an hour in all). */
const FOLLOW_UP_DELAY_SECONDS = 30;
const FOLLOW_UP_ATTEMPTS = 120;

/** The vault and secret name of a Key Vault secret URI; null when it is not one. */
export function keyVaultSecretOf(uri: string): { vault: string; name: string } | null {
  try {
    const url = new URL(uri);
    const [collection, name] = url.pathname.split('/').filter(Boolean);
    const vault = url.hostname.split('.')[0];
    if (collection !== 'secrets' || !name || !vault) return null;
    return { vault: vault.toLowerCase(), name: decodeURIComponent(name) };
  } catch {
    return null;
  }
}

/** The rotated secret names a sync covers: its vault, secrets among its kinds, its name pattern and exclusions (its tag filter is applied when the run reads them). */
function coveredNames(sync: SyncRow, names: string[]): string[] {
  if (!sync.source.kinds.includes('secret')) return [];
  const byName = { source: { ...sync.source, tag_filter: null }, exclusions: sync.exclusions };
  return names.filter((name) => wanted(byName, name, {}));
}

/**
 * Rotation and sync compose: after a rotation wrote its new secret into Key Vault, each sync of
 * the organization that covers some of those secrets gets a run restricted to them (`trigger`
 * `rotation`), so the copies in AWS and GCP follow in the same rotation. A queued run of the sync
 * covers them already (widened when it is restricted itself); behind a running one, the run is
 * queued once that one ends. Nothing here fails the rotation: problems are logged.
 */
export async function syncRotatedSecrets(db: Db, settings: RotatedSecretsSettings, rotation: RotatedSecrets): Promise<RotationSyncOutcome[]> {
  try {
    const jobs = settings.jobs;
    if (!jobs) return [{ sync_id: null, outcome: 'no_queue' }];
    const now = settings.now ?? (() => new Date());
    const plan = await organizationPlan(db, { ...settings.plans, now }, rotation.organization_id);
    if (!planIncludes(plan.plan, 'sync')) return [{ sync_id: null, outcome: 'plan_lacks_sync' }];
    const byVault = new Map<string, string[]>();
    for (const secret of rotation.key_vault_secrets.map(keyVaultSecretOf)) {
      if (secret) byVault.set(secret.vault, [...(byVault.get(secret.vault) ?? []), secret.name]);
    }
    const outcomes: RotationSyncOutcome[] = [];
    for (const [vault, names] of byVault) {
      for (const sync of await syncsOfVault(db, rotation.organization_id, vault)) {
        const covered = coveredNames(sync, names);
        if (covered.length === 0) continue;
        const request = { rotation_id: rotation.id, organization_id: rotation.organization_id, created_by: rotation.created_by, sync_id: sync.id, names: covered, attempt: 1 };
        outcomes.push(await queueRotationRun(db, jobs, settings, request));
      }
    }
    return outcomes;
  } catch (error) {
    settings.logger?.error({ err: error, rotation: rotation.id }, 'could not start the sync runs of a rotation');
    return [];
  }
}

/** The job of a deferred rotation run: tries again to queue it. */
export async function followUpRotationSync(db: Db, jobs: JobQueue, settings: RotatedSecretsSettings, job: RotationFollowUpJob): Promise<RotationSyncOutcome | null> {
  const request = job.rotation_follow_up;
  if (!(await findSyncById(db, request.sync_id))) return null;
  return queueRotationRun(db, jobs, settings, request);
}

async function queueRotationRun(db: Db, jobs: JobQueue, settings: RotatedSecretsSettings, request: RotationFollowUpJob['rotation_follow_up']): Promise<RotationSyncOutcome> {
  const now = (settings.now ?? (() => new Date()))();
  await jobs.start();
  try {
    const run = await db.transaction().execute((trx) =>
      insertSyncRunRow(trx, jobs, { organizationId: request.organization_id, userId: request.created_by, trigger: 'rotation', rotationId: request.rotation_id, onlyItems: request.names }, request.sync_id, null, now),
    );
    jobs.wake(QUEUES.syncs);
    await recordAuditLogEntry(db, settings.auditSecret, {
      organizationId: request.organization_id,
      actorType: 'system',
      actorId: null,
      userId: null,
      action: 'startSyncRun',
      targetId: request.sync_id,
      outcome: 202,
      requestId: null,
      ip: null,
      detail: { sync_run_id: run.id, trigger: 'rotation', rotation_id: request.rotation_id },
      occurredAt: now,
    }).catch((error: unknown) => settings.logger?.error({ err: error, sync_run: run.id }, 'could not write the audit-log entry of a rotation sync run'));
    settings.logger?.info({ rotation: request.rotation_id, sync: request.sync_id, sync_run: run.id }, 'rotation sync run queued');
    return { sync_id: request.sync_id, outcome: 'started', sync_run_id: run.id };
  } catch (error) {
    // The unique index on a sync's queued or running run: one is under way.
    if ((error as { code?: string }).code !== '23505') throw error;
  }
  const active = await findActiveSyncRun(db, request.sync_id);
  // A queued run reads the vault when it starts: it copies the new versions too.
  if (active?.status === 'queued' && (active.only_items === null || (await widenQueuedSyncRun(db, active.id, request.names)))) {
    return { sync_id: request.sync_id, outcome: 'covered_by_queued_run', sync_run_id: active.id };
  }
  if (request.attempt >= FOLLOW_UP_ATTEMPTS) {
    settings.logger?.warn({ rotation: request.rotation_id, sync: request.sync_id }, 'gave up queuing the sync run of a rotation: the sync stayed busy');
    return { sync_id: request.sync_id, outcome: 'deferred', sync_run_id: active?.id ?? '' };
  }
  await jobs.sendLater(QUEUES.syncs, { rotation_follow_up: { ...request, attempt: request.attempt + 1 } } satisfies RotationFollowUpJob, FOLLOW_UP_DELAY_SECONDS);
  return { sync_id: request.sync_id, outcome: 'deferred', sync_run_id: active?.id ?? '' };
}
