import type { OrganizationLimits } from '../config';
import type { Db, Trx } from '../db/database';
import type { SyncRow, SyncRunRow, SyncScheduleData, SyncSourceData, SyncTargetData } from '../db/schema';
import { findConnection } from '../discovery/connections.service';
import { cronProblem, nextScanTime } from '../discovery/scan-schedule';
import { AppError, type ErrorDetail } from '../errors';
import type { Schemas } from '../http/contract';
import type { Principal } from '../http/principal';
import { newId } from '../ids';
import { QUEUES, type JobQueue } from '../jobs/job-queue';
import { assertQueuedJobQuota } from '../quotas/quotas.service';
import {
  deleteSyncRow,
  findActiveSyncRun,
  findOrganizationAccount,
  findSync,
  findSyncRun,
  insertSync,
  insertSyncRun,
  updateSyncRow,
} from './syncs.repository';

export interface SyncJob {
  sync_run_id: string;
}

type SyncCreate = Schemas['SyncCreate'];
type SyncUpdate = Schemas['SyncUpdate'];

const SERVICE_PROVIDER: Record<SyncTargetData['service'], 'aws' | 'gcp'> = {
  aws_secrets_manager: 'aws',
  aws_ssm_parameter_store: 'aws',
  aws_acm: 'aws',
  gcp_secret_manager: 'gcp',
  gcp_certificate_manager: 'gcp',
};

export async function requireSync(db: Db, principal: Principal, id: string): Promise<SyncRow> {
  const sync = await findSync(db, principal.organizationId, id);
  if (!sync) throw new AppError('not_found', `No sync ${id} in this organization.`);
  return sync;
}

export async function requireSyncRun(db: Db, principal: Principal, syncId: string, id: string): Promise<SyncRunRow> {
  const run = await findSyncRun(db, principal.organizationId, syncId, id);
  if (!run) throw new AppError('not_found', `No run ${id} of sync ${syncId} in this organization.`);
  return run;
}

/** Checks that the source and every target are this organization's connected accounts of the right cloud; another organization's account is 404. */
async function checkAccounts(db: Db, organizationId: string, source: SyncSourceData, targets: SyncTargetData[]): Promise<void> {
  const problems: ErrorDetail[] = [];
  const notConnected: string[] = [];
  const account = async (id: string, field: string) => {
    const row = await findOrganizationAccount(db, organizationId, id);
    if (!row) throw new AppError('not_found', `No account ${id} in this organization (${field}).`, [{ field, issue: 'no such account' }]);
    if (!(await findConnection(db, organizationId, id))) notConnected.push(id);
    return row;
  };
  const sourceAccount = await account(source.account_id, 'body.source.account_id');
  if (sourceAccount.provider !== 'azure') problems.push({ field: 'body.source.account_id', issue: `a sync reads an Azure account's Key Vault; this account is ${sourceAccount.provider}` });
  const seen = new Set<string>();
  for (const [index, target] of targets.entries()) {
    const row = await account(target.account_id, `body.targets.${index}.account_id`);
    const provider = SERVICE_PROVIDER[target.service];
    if (row.provider !== provider) problems.push({ field: `body.targets.${index}.service`, issue: `${target.service} is for ${provider} accounts; this account is ${row.provider}` });
    if (provider === 'aws' && target.region === null) problems.push({ field: `body.targets.${index}.region`, issue: 'required for an AWS target' });
    if (provider === 'gcp' && target.region !== null) problems.push({ field: `body.targets.${index}.region`, issue: 'must be null for a GCP target' });
    const key = `${target.account_id}/${target.service}`;
    if (seen.has(key)) problems.push({ field: `body.targets.${index}`, issue: 'the same account and service twice' });
    seen.add(key);
  }
  if (problems.length > 0) throw new AppError('validation_failed', `The sync is not valid: ${problems.map((p) => `${p.field} ${p.issue}`).join('; ')}.`, problems);
  if (notConnected.length > 0) {
    throw new AppError('not_connected', `Account${notConnected.length > 1 ? 's' : ''} ${notConnected.join(', ')} ha${notConnected.length > 1 ? 've' : 's'} no connection; PUT /v1/accounts/{id}/connection first.`);
  }
}

function checkFields(template: string, schedule: SyncScheduleData | null): void {
  const problems: ErrorDetail[] = [];
  if (!template.includes('{name}')) problems.push({ field: 'body.naming_template', issue: 'must contain {name}, or every item would be written to the same target' });
  if (schedule) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: schedule.time_zone });
    } catch {
      problems.push({ field: 'body.schedule.time_zone', issue: 'not an IANA time zone' });
    }
    const problem = cronProblem(schedule.cron);
    if (problem) problems.push({ field: 'body.schedule.cron', issue: problem });
    else if (problems.length === 0 && nextScanTime(schedule, new Date()) === null) problems.push({ field: 'body.schedule.cron', issue: 'names no time in the coming years' });
  }
  if (problems.length > 0) throw new AppError('validation_failed', `The sync is not valid: ${problems.map((p) => `${p.field} ${p.issue}`).join('; ')}.`, problems);
}

function sourceOf(input: SyncCreate['source']): SyncSourceData {
  return {
    account_id: input.account_id,
    vault_name: input.vault_name.toLowerCase(),
    name_pattern: input.name_pattern ?? null,
    tag_filter: input.tag_filter ?? null,
    kinds: input.kinds ?? ['secret', 'certificate'],
  };
}

export async function createSync(db: Db, principal: Principal, input: SyncCreate): Promise<SyncRow> {
  const source = sourceOf(input.source);
  const targets: SyncTargetData[] = input.targets.map((t) => ({ account_id: t.account_id, service: t.service, region: t.region }));
  const template = input.naming_template ?? '{name}';
  const schedule = input.schedule ?? null;
  checkFields(template, schedule);
  await checkAccounts(db, principal.organizationId, source, targets);
  const now = new Date();
  return insertSync(db, {
    id: newId('syn'),
    organization_id: principal.organizationId,
    name: input.name,
    source: JSON.stringify(source),
    targets: JSON.stringify(targets),
    naming_template: template,
    copy_tags: input.copy_tags ?? true,
    exclusions: JSON.stringify(input.exclusions ?? []),
    on_conflict: input.on_conflict ?? 'skip',
    schedule: schedule ? JSON.stringify(schedule) : null,
    next_run_at: schedule && nextScanTime(schedule, now),
    schedule_set_by: schedule ? principal.userId : null,
    created_by: principal.userId,
    created_at: now,
    updated_at: now,
  });
}

export async function updateSync(db: Db, principal: Principal, id: string, input: SyncUpdate): Promise<SyncRow> {
  const sync = await requireSync(db, principal, id);
  const source = input.source ? sourceOf(input.source) : sync.source;
  const targets: SyncTargetData[] = input.targets ? input.targets.map((t) => ({ account_id: t.account_id, service: t.service, region: t.region })) : sync.targets;
  const template = input.naming_template ?? sync.naming_template;
  const schedule = input.schedule === undefined ? sync.schedule : input.schedule;
  checkFields(template, schedule);
  if (input.source || input.targets) await checkAccounts(db, principal.organizationId, source, targets);
  // A schedule given anew is due next from now, and its runs are the caller's; left out, it stays as it was.
  const now = new Date();
  const scheduling =
    input.schedule !== undefined ? { next_run_at: schedule && nextScanTime(schedule, now), schedule_set_by: schedule ? principal.userId : null, schedule_paused_reason: null } : {};
  const updated = await updateSyncRow(db, principal.organizationId, sync.id, {
    ...scheduling,
    ...(input.name !== undefined ? { name: input.name } : {}),
    source: JSON.stringify(source),
    targets: JSON.stringify(targets),
    naming_template: template,
    ...(input.copy_tags !== undefined ? { copy_tags: input.copy_tags } : {}),
    ...(input.exclusions !== undefined ? { exclusions: JSON.stringify(input.exclusions) } : {}),
    ...(input.on_conflict !== undefined ? { on_conflict: input.on_conflict } : {}),
    schedule: schedule ? JSON.stringify(schedule) : null,
    updated_at: now,
  });
  if (!updated) throw new AppError('not_found', `No sync ${id} in this organization.`);
  return updated;
}

export async function deleteSync(db: Db, principal: Principal, id: string): Promise<void> {
  if (!(await deleteSyncRow(db, principal.organizationId, id))) throw new AppError('not_found', `No sync ${id} in this organization.`);
}

/** Queues a run of the sync; 409 `conflict` naming the one queued or running. */
export async function startSyncRun(db: Db, jobs: JobQueue, principal: Principal, id: string, limits: OrganizationLimits): Promise<SyncRunRow> {
  const sync = await requireSync(db, principal, id);
  await jobs.start();
  try {
    const run = await db.transaction().execute(async (trx) => {
      return insertSyncRunRow(trx, jobs, { organizationId: principal.organizationId, userId: principal.userId, trigger: 'api' }, sync.id, limits, new Date());
    });
    jobs.wake(QUEUES.syncs);
    return run;
  } catch (error) {
    // The unique index on a sync's queued or running run: one is under way.
    if ((error as { code?: string }).code !== '23505') throw error;
    const running = await findActiveSyncRun(db, sync.id);
    if (!running) throw error;
    throw new AppError('conflict', `Sync ${sync.id} already has run ${running.id} ${running.status}; wait for it to end.`, [{ field: null, issue: `running sync run ${running.id}` }]);
  }
}

/** Who starts a run: a request, a schedule, or a rotation (restricted to the secrets it wrote). */
export interface SyncRunStarter {
  organizationId: string;
  userId: string | null;
  trigger: SyncRunRow['trigger'];
  rotationId?: string;
  onlyItems?: string[];
}

/**
 * Queues a run in the caller's transaction (the queue started), within the organization's
 * queued-job quota; `limits` null for a rotation's run, which follows work already done.
 */
export async function insertSyncRunRow(trx: Trx, jobs: JobQueue, starter: SyncRunStarter, syncId: string, limits: OrganizationLimits | null, now: Date): Promise<SyncRunRow> {
  if (limits) await assertQueuedJobQuota(trx, starter.organizationId, limits);
  const row = await insertSyncRun(trx, {
    id: newId('synr'),
    organization_id: starter.organizationId,
    sync_id: syncId,
    trigger: starter.trigger,
    rotation_id: starter.rotationId ?? null,
    only_items: starter.onlyItems ? JSON.stringify(starter.onlyItems) : null,
    status: 'queued',
    error_code: null,
    error_message: null,
    created_by: starter.userId,
    created_at: now,
    started_at: null,
    finished_at: null,
  });
  await jobs.send(QUEUES.syncs, { sync_run_id: row.id } satisfies SyncJob, trx, starter.organizationId);
  return row;
}
