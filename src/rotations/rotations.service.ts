import type { Logger } from 'pino';
import { requireAccount } from '../accounts/accounts.service';
import { recordAuditLogEntry } from '../audit-log/audit-log.service';
import type { Db } from '../db/database';
import type { AccountRow, RotationRow, RotationStepData } from '../db/schema';
import { connectionCredentials, findConnection } from '../discovery/connections.service';
import type { SecretsKeyring } from '../discovery/connection-secrets';
import type { AzureCredentials } from '../discovery/collector';
import { AppError } from '../errors';
import type { Schemas } from '../http/contract';
import type { Principal } from '../http/principal';
import { newId } from '../ids';
import { QUEUES, type JobQueue } from '../jobs/job-queue';
import { assertPlanLimit, type PlanSettings } from '../plans/plans.service';
import { syncRotatedSecrets } from '../syncs/rotated-secrets-sync';
import { EntraSession, GRAPH_SCOPE, requestToken, type EntraEndpoints, type VaultSecretVersion } from './entra-rotation-client';
import { claimDueRevoke, claimInterruptedRotation, dueRevokeIds, interruptedRotationIds, findActiveRotation, findRotation, findRotationAccount, findRotationById, insertRotation, updateRotation } from './rotations.repository';

export interface RotationSettings {
  keyring: SecretsKeyring;
  endpoints: EntraEndpoints;
  plans: PlanSettings;
  /** The server key audit-log entries of automated actions are signed with (the JWT signing secret). */
  auditSecret: string;
  /** Where the old password's removal is scheduled; absent, only the periodic sweep removes it. */
  jobs?: JobQueue;
  logger?: Logger;
  /** The clock (tests move it). */
  now?: () => Date;
  /** Waits before each further verification attempt: Entra ID takes a few seconds to accept a new password everywhere. */
  verifyRetryDelaysMs?: readonly number[];
}

export interface RotationJob {
  /** Absent: every rotation whose overlap has passed. */
  rotation_id?: string;
}

/** Every few minutes, in case a revoke job was lost. */
export const ROTATION_SWEEP_CRON = '*/5 * * * *';

/** Waits between verification attempts, doubling from a second, within `seconds` in all. */
export function verifyDelays(seconds: number): number[] {
  const delays: number[] = [];
  let total = 0;
  for (let delay = 1000; total + delay <= seconds * 1000; delay *= 2) {
    delays.push(delay);
    total += delay;
  }
  if (total < seconds * 1000) delays.push(seconds * 1000 - total);
  return delays;
}
const DEFAULT_VERIFY_DELAYS_MS = verifyDelays(40);

type RotationCreate = Schemas['RotationCreate'];
type Step = RotationStepData;

function clockOf(settings: RotationSettings): () => Date {
  return settings.now ?? settings.plans.now ?? (() => new Date());
}

export interface Normalized {
  account_id: string;
  application_id: string;
  key_id: string;
  key_vault_secrets: string[];
  lifetime_days: number;
  overlap_hours: number;
}

function normalize(input: RotationCreate): Normalized {
  return {
    account_id: input.account_id,
    application_id: input.application_id.toLowerCase(),
    key_id: input.key_id.toLowerCase(),
    key_vault_secrets: input.key_vault_secrets.map((uri) => uri.replace(/\/+$/, '')),
    lifetime_days: input.lifetime_days ?? 180,
    overlap_hours: input.overlap_hours ?? 24,
  };
}

/** The account's Azure connection, decrypted; 404 for an account not the caller's, 422 for one that cannot rotate. */
async function azureConnection(db: Db, keyring: SecretsKeyring, account: AccountRow): Promise<AzureCredentials> {
  if (account.provider !== 'azure') {
    throw new AppError('validation_failed', `Account ${account.id} is ${account.provider}: Entra ID secrets are rotated through an Azure account's connection.`, [
      { field: 'body.account_id', issue: 'not an Azure account' },
    ]);
  }
  const connection = await findConnection(db, account.organization_id, account.id);
  if (!connection) throw new AppError('not_connected', `Account ${account.id} has no connection; PUT /v1/accounts/${account.id}/connection first.`);
  const credentials = await connectionCredentials(db, keyring, account, connection);
  if (credentials.provider !== 'azure') throw new Error(`account ${account.id}'s connection is not an Azure one`);
  return credentials.azure;
}

export function plannedSteps(input: Normalized): Schemas['RotationPlannedStep'][] {
  return [
    { name: 'create', target: input.application_id, description: `Add a password to application ${input.application_id} valid for ${input.lifetime_days} days.` },
    ...input.key_vault_secrets.map((uri) => ({ name: 'write' as const, target: uri, description: 'Write the new secret as a new version of this Key Vault secret, with the new expiry.' })),
    { name: 'verify', target: input.application_id, description: 'Request a token with the new secret (client credentials).' },
    {
      name: 'revoke',
      target: input.key_id,
      description: input.overlap_hours === 0 ? 'Remove the old password at once.' : `Remove the old password ${input.overlap_hours} hours after the rotation.`,
    },
  ];
}

function pendingStep(name: Step['name'], target: string): Step {
  return { name, target, outcome: 'pending', started_at: null, finished_at: null, error: null, rollback_status: null, rollback_error: null };
}

export type CreateRotationResult = { dryRun: true; plan: Schemas['RotationPlan'] } | { dryRun: false; rotation: RotationRow };

/**
 * Rotates a password credential of an Entra ID app registration: create → write each Key Vault
 * secret → verify, in this request (the new secret lives in this process's memory only, so it
 * cannot wait for a worker), then the old password's removal after the overlap.
 */
export async function createRotation(db: Db, settings: RotationSettings, principal: Principal, input: RotationCreate, dryRun: boolean): Promise<CreateRotationResult> {
  const request = normalize(input);
  const account = await requireAccount(db, principal, request.account_id);
  const credentials = await azureConnection(db, settings.keyring, account);
  if (dryRun) return { dryRun: true, plan: { dry_run: true, ...request, steps: plannedSteps(request) } };
  return { dryRun: false, rotation: await startRotation(db, settings, { organizationId: principal.organizationId, userId: principal.userId, policyId: null }, account, credentials, request) };
}

/** Who starts a rotation: a person, or a rotation policy (no user). */
export interface RotationStarter {
  organizationId: string;
  userId: string | null;
  policyId: string | null;
}

/** Records the rotation (409 while another of the credential runs; the plan's monthly limit) and runs it. */
async function startRotation(db: Db, settings: RotationSettings, starter: RotationStarter, account: AccountRow, credentials: AzureCredentials, request: Normalized): Promise<RotationRow> {
  const now = clockOf(settings);
  const conflict = (id: string) =>
    new AppError('conflict', `Credential ${request.key_id} of application ${request.application_id} is being rotated by ${id}; wait for it to end.`, [
      { field: 'body.key_id', issue: `rotation ${id} is in progress` },
    ]);
  let row: RotationRow;
  try {
    row = await db.transaction().execute(async (trx) => {
      await assertPlanLimit(trx, { ...settings.plans, now }, starter.organizationId, 'rotations_per_month');
      const active = await findActiveRotation(trx, starter.organizationId, request.application_id, request.key_id);
      if (active) throw conflict(active.id);
      const steps = plannedSteps(request).map((step) => pendingStep(step.name, step.target));
      return insertRotation(trx, {
        id: newId('rot'),
        organization_id: starter.organizationId,
        account_id: account.id,
        application_id: request.application_id,
        key_id: request.key_id,
        key_vault_secrets: JSON.stringify(request.key_vault_secrets),
        lifetime_days: request.lifetime_days,
        overlap_hours: request.overlap_hours,
        status: 'running',
        steps: JSON.stringify(steps),
        created_by: starter.userId,
        policy_id: starter.policyId,
        created_at: now(),
      });
    });
  } catch (error) {
    if ((error as { code?: string }).code !== '23505') throw error;
    const active = await findActiveRotation(db, starter.organizationId, request.application_id, request.key_id);
    throw conflict(active?.id ?? 'another rotation');
  }
  return runRotation(db, settings, row, credentials);
}

/** A rotation a policy starts, through the account's connection (the policy's check has no caller). */
export async function startPolicyRotation(db: Db, settings: RotationSettings, starter: RotationStarter, account: AccountRow, request: Normalized): Promise<RotationRow> {
  return startRotation(db, settings, starter, account, await azureConnection(db, settings.keyring, account), request);
}

async function runRotation(db: Db, settings: RotationSettings, row: RotationRow, credentials: AzureCredentials): Promise<RotationRow> {
  const now = clockOf(settings);
  const session = new EntraSession(settings.endpoints, credentials);
  const steps = row.steps.map((step) => ({ ...step }));
  const save = (change: Parameters<typeof updateRotation>[2] = {}) => updateRotation(db, row.id, { steps, ...change });
  const begin = (index: number) => {
    steps[index]!.started_at = now().toISOString();
  };
  const succeed = (index: number, target?: string) => {
    Object.assign(steps[index]!, { outcome: 'succeeded', finished_at: now().toISOString(), ...(target ? { target } : {}) });
  };

  // The new secret: this function's memory only, dropped when it returns.
  let secret: string | undefined;
  let newKeyId: string | undefined;
  const written: { index: number; uri: string; previous: VaultSecretVersion }[] = [];
  const expiresAt = new Date(now().getTime() + row.lifetime_days * 86_400_000);
  let index = 0;
  try {
    begin(index);
    const application = await session.getApplication(row.application_id);
    if (!application.passwordKeyIds.includes(row.key_id)) throw new Error(`application ${row.application_id} has no password credential ${row.key_id}`);
    const created = await session.addPassword(row.application_id, `fourfold ${row.id}`, expiresAt);
    secret = created.secretText;
    newKeyId = created.keyId;
    succeed(index, newKeyId);
    await save({ new_key_id: newKeyId, new_expires_at: expiresAt });

    for (const uri of row.key_vault_secrets) {
      index += 1;
      begin(index);
      const previous = await session.getSecret(uri);
      await session.setSecret(uri, { value: secret, contentType: previous.contentType, tags: previous.tags, expires: Math.floor(expiresAt.getTime() / 1000) });
      written.push({ index, uri, previous });
      succeed(index);
      await save();
    }

    index += 1;
    begin(index);
    await verifySecret(settings, credentials.tenant_id, application.appId, secret);
    succeed(index);
  } catch (error) {
    return rollBack(db, settings, row, session, steps, index, error, newKeyId, written);
  }
  await syncRotatedSecrets(db, settings, row);

  if (row.overlap_hours === 0) {
    const claimed = await save({ status: 'running', revoke_at: now() });
    return revoke(db, settings, claimed, session);
  }
  const revokeAt = new Date(now().getTime() + row.overlap_hours * 3_600_000);
  const scheduled = await save({ status: 'revoke_scheduled', revoke_at: revokeAt });
  await settings.jobs?.sendLater(QUEUES.rotationRevokes, { rotation_id: row.id } satisfies RotationJob, row.overlap_hours * 3600).catch((error: unknown) => {
    // The periodic sweep removes it all the same.
    settings.logger?.warn({ err: error, rotation: row.id }, 'could not schedule the removal of a rotated password');
  });
  return scheduled;
}

async function verifySecret(settings: RotationSettings, tenantId: string, appId: string, secret: string): Promise<void> {
  const delays = settings.verifyRetryDelaysMs ?? DEFAULT_VERIFY_DELAYS_MS;
  for (let attempt = 0; ; attempt += 1) {
    try {
      await requestToken(settings.endpoints, tenantId, appId, secret, GRAPH_SCOPE);
      return;
    } catch (error) {
      const delay = delays[attempt];
      if (delay === undefined) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** Undoes what the steps before `failedIndex` did, newest first, each saying how it went. */
async function rollBack(
  db: Db,
  settings: RotationSettings,
  row: RotationRow,
  session: EntraSession,
  steps: Step[],
  failedIndex: number,
  error: unknown,
  newKeyId: string | undefined,
  written: { index: number; uri: string; previous: VaultSecretVersion }[],
): Promise<RotationRow> {
  const now = clockOf(settings);
  const message = errorText(error);
  Object.assign(steps[failedIndex]!, { outcome: 'failed', finished_at: now().toISOString(), error: message, rollback_status: 'nothing_to_roll_back' });
  for (const step of steps.slice(failedIndex + 1)) step.outcome = 'skipped';
  for (const entry of [...written].reverse()) {
    try {
      await session.setSecret(entry.uri, entry.previous);
      steps[entry.index]!.rollback_status = 'rolled_back';
    } catch (rollbackError) {
      Object.assign(steps[entry.index]!, { rollback_status: 'rollback_failed', rollback_error: errorText(rollbackError) });
    }
  }
  written.length = 0;
  if (newKeyId !== undefined) {
    try {
      await session.removePassword(row.application_id, newKeyId);
      steps[0]!.rollback_status = 'rolled_back';
    } catch (rollbackError) {
      Object.assign(steps[0]!, { rollback_status: 'rollback_failed', rollback_error: errorText(rollbackError) });
    }
  }
  const failed = await updateRotation(db, row.id, { steps, status: 'failed', error: { step: steps[failedIndex]!.name, message }, finished_at: now() });
  settings.logger?.warn({ rotation: row.id, step: steps[failedIndex]!.name, error: message }, 'rotation failed and was rolled back');
  await recordAutomated(settings, db, failed, 'rotation.rollback', 500, { failed_step: steps[failedIndex]!.name });
  await announceFailure(settings, failed);
  return failed;
}

/** Removes the old password of a rotation whose overlap has passed (already claimed: status `running`). */
async function revoke(db: Db, settings: RotationSettings, row: RotationRow, session: EntraSession): Promise<RotationRow> {
  const now = clockOf(settings);
  const steps = row.steps.map((step) => ({ ...step }));
  const index = steps.length - 1;
  steps[index]!.started_at = now().toISOString();
  try {
    await session.removePassword(row.application_id, row.key_id);
  } catch (error) {
    // The new secret stays: it is in place and verified. The old one stays valid until removed by hand.
    const message = errorText(error);
    Object.assign(steps[index]!, { outcome: 'failed', finished_at: now().toISOString(), error: message, rollback_status: 'nothing_to_roll_back' });
    const failed = await updateRotation(db, row.id, { steps, status: 'failed', error: { step: 'revoke', message }, finished_at: now() });
    await recordAutomated(settings, db, failed, 'rotation.revoke', 500, { key_id: row.key_id });
    await announceFailure(settings, failed);
    return failed;
  }
  Object.assign(steps[index]!, { outcome: 'succeeded', finished_at: now().toISOString() });
  const done = await updateRotation(db, row.id, { steps, status: 'succeeded', finished_at: now() });
  await recordAutomated(settings, db, done, 'rotation.revoke', 200, { key_id: row.key_id });
  return done;
}

/** A rotation still `running` this long after it started (or was due to revoke) was interrupted: its process stopped. */
const INTERRUPTED_AFTER_MS = 15 * 60_000;

/**
 * Ends rotations whose process stopped mid-way. The new secret and the Key Vault secrets'
 * previous values were in that process's memory only, so a creation cannot be finished: when
 * no Key Vault secret was written yet the new password is removed; when some were, it stays (it
 * is what they hold now) and those steps say `rollback_failed`, for a person to finish. A
 * removal of the old password that was interrupted is scheduled again.
 */
async function endInterruptedRotations(db: Db, settings: RotationSettings, now: Date): Promise<RotationRow[]> {
  const staleBefore = new Date(now.getTime() - INTERRUPTED_AFTER_MS);
  const ended: RotationRow[] = [];
  for (const id of await interruptedRotationIds(db, staleBefore)) {
    const row = await claimInterruptedRotation(db, id, staleBefore);
    if (!row || row.status !== 'failed') continue;
    const steps = row.steps.map((step) => ({ ...step }));
    const message = 'the process running this rotation stopped before it ended';
    const wrote = steps.some((step) => step.name === 'write' && step.outcome === 'succeeded');
    for (const step of steps) {
      if (step.outcome === 'pending') step.outcome = step.started_at === null ? 'skipped' : 'failed';
      if (step.outcome === 'failed') Object.assign(step, { finished_at: now.toISOString(), error: message, rollback_status: 'nothing_to_roll_back' });
      if (step.name === 'write' && step.outcome === 'succeeded') {
        Object.assign(step, { rollback_status: 'rollback_failed', rollback_error: "the secret's previous value was held by the stopped process only: set it again by hand, or rotate again" });
      }
    }
    const create = steps[0]!;
    if (create.outcome === 'succeeded' && row.new_key_id !== null) {
      if (wrote) {
        Object.assign(create, { rollback_status: 'rollback_failed', rollback_error: 'kept: Key Vault secrets hold the new password' });
      } else {
        try {
          const account = await findRotationAccount(db, row.organization_id, row.account_id);
          if (!account) throw new Error('the account is gone');
          await new EntraSession(settings.endpoints, await azureConnection(db, settings.keyring, account)).removePassword(row.application_id, row.new_key_id);
          create.rollback_status = 'rolled_back';
        } catch (error) {
          Object.assign(create, { rollback_status: 'rollback_failed', rollback_error: errorText(error) });
        }
      }
    }
    const failedStep = steps.find((step) => step.outcome === 'failed')?.name ?? 'create';
    const failed = await updateRotation(db, row.id, { steps, error: { step: failedStep, message }, finished_at: now });
    await recordAutomated(settings, db, failed, 'rotation.rollback', 500, { failed_step: failedStep });
    await announceFailure(settings, failed);
    ended.push(failed);
  }
  return ended;
}

/** The job: removes the old password of one rotation (or of every one) whose overlap has passed; the sweep also ends interrupted ones. */
export async function revokeDueRotations(db: Db, settings: RotationSettings, job: RotationJob = {}): Promise<RotationRow[]> {
  const now = clockOf(settings)();
  const interrupted = job.rotation_id === undefined ? await endInterruptedRotations(db, settings, now) : [];
  const ids = job.rotation_id !== undefined ? [job.rotation_id] : await dueRevokeIds(db, now);
  const results: RotationRow[] = [];
  for (const id of ids) {
    const row = await claimDueRevoke(db, id, now);
    if (!row) continue;
    const account = await findRotationAccount(db, row.organization_id, row.account_id);
    try {
      if (!account) throw new Error('the account is gone');
      const credentials = await azureConnection(db, settings.keyring, account);
      results.push(await revoke(db, settings, row, new EntraSession(settings.endpoints, credentials)));
    } catch (error) {
      const steps = row.steps.map((step) => ({ ...step }));
      Object.assign(steps[steps.length - 1]!, { outcome: 'failed', finished_at: now.toISOString(), error: errorText(error), rollback_status: 'nothing_to_roll_back' });
      const failed = await updateRotation(db, row.id, { steps, status: 'failed', error: { step: 'revoke', message: errorText(error) }, finished_at: now });
      await announceFailure(settings, failed);
      results.push(failed);
    }
  }
  return [...interrupted, ...results];
}

export async function requireRotation(db: Db, principal: Principal, id: string): Promise<RotationRow> {
  const row = await findRotation(db, principal.organizationId, id);
  if (!row) throw new AppError('not_found', `No rotation ${id} in this organization.`);
  return row;
}

export { findRotationById };

async function recordAutomated(settings: RotationSettings, db: Db, row: RotationRow, action: string, outcome: number, detail: Record<string, string>): Promise<void> {
  await recordAuditLogEntry(db, settings.auditSecret, {
    organizationId: row.organization_id,
    actorType: 'system',
    actorId: null,
    userId: null,
    action,
    targetId: row.id,
    outcome,
    requestId: null,
    ip: null,
    detail,
  }).catch((error: unknown) => settings.logger?.error({ err: error, rotation: row.id }, 'could not write the audit-log entry of a rotation'));
}

/** Queues the `rotation_failed` event of a rotation that ended failed (an alerts job, as for scans). */
async function announceFailure(settings: RotationSettings, row: RotationRow): Promise<void> {
  await settings.jobs?.send(QUEUES.alerts, { rotation_id: row.id }).catch((error: unknown) => settings.logger?.error({ err: error, rotation: row.id }, 'could not queue the rotation_failed event'));
}

function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 2000);
}
