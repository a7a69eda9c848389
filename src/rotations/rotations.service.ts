import type { Logger } from 'pino';
import { requireAccount } from '../accounts/accounts.service';
import { recordAuditLogEntry } from '../audit-log/audit-log.service';
import type { Db } from '../db/database';
import type { AccountRow, RotationCredentialType, RotationRow, RotationStepData, RotationStoreData } from '../db/schema';
import { connectionCredentials, findConnection, type ConnectionCredentials } from '../discovery/connections.service';
import type { SecretsKeyring } from '../discovery/connection-secrets';
import type { CloudEndpoints } from '../discovery/collector';
import { AppError } from '../errors';
import type { Schemas } from '../http/contract';
import type { Principal } from '../http/principal';
import { newId } from '../ids';
import { QUEUES, type JobQueue } from '../jobs/job-queue';
import { assertPlanLimit, type PlanSettings } from '../plans/plans.service';
import { syncRotatedSecrets } from '../syncs/rotated-secrets-sync';
import { confirmedStoresOf } from '../credential-links/credential-links.service';
import { requireResource } from '../resources/resources.service';
import { credentialCalls, storeWrite, undoStoreWrite, type CredentialCalls, type SecretRotationWait } from './rotation-clouds';
import { CREDENTIAL_PROVIDER, rotationCredential, rotationStore, type TargetResource } from './rotation-targets';
import { claimDueRevoke, claimInterruptedRotation, dueRevokeIds, interruptedRotationIds, findActiveRotation, findRotation, findRotationAccount, findRotationById, insertRotation, updateRotation } from './rotations.repository';

export interface RotationSettings {
  keyring: SecretsKeyring;
  endpoints: CloudEndpoints;
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
  /** How long a Secrets Manager rotation function is waited for (default 300 s, described every 5 s). */
  secretRotationWait?: SecretRotationWait;
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
const DEFAULT_SECRET_WAIT: SecretRotationWait = { seconds: 300, pollMs: 5000 };

type RotationCreate = Schemas['RotationCreate'];
type Step = RotationStepData;

function clockOf(settings: RotationSettings): () => Date {
  return settings.now ?? settings.plans.now ?? (() => new Date());
}

/** A rotation as asked, before it is recorded: the credential, its account, the store entries. */
export interface Normalized {
  credential_type: RotationCredentialType;
  credential_resource_id: string | null;
  account_id: string;
  application_id: string;
  key_id: string;
  stores: RotationStoreData[];
  lifetime_days: number;
  overlap_hours: number;
}

const EXPLICIT_FIELDS = ['account_id', 'application_id', 'key_id', 'key_vault_secrets'] as const;
/** The spec's bound on a rotation's store entries (and steps). */
const MAX_STORES = 20;

/** The explicit Entra ID form (Key Vault secrets named in the request), through the account's connection. */
function normalizeExplicit(input: RotationCreate): Normalized {
  const missing = EXPLICIT_FIELDS.filter((field) => input[field] === undefined);
  if (missing.length > 0) {
    throw new AppError(
      'validation_failed',
      'Name the credential to rotate: `credential_id`, or all of account_id, application_id, key_id and key_vault_secrets (an Entra ID password).',
      missing.map((field) => ({ field: `body.${field}`, issue: 'required without credential_id' })),
    );
  }
  const accountId = input.account_id!;
  return {
    credential_type: 'azuread_application_password',
    credential_resource_id: null,
    account_id: accountId,
    application_id: input.application_id!.toLowerCase(),
    key_id: input.key_id!.toLowerCase(),
    stores: input.key_vault_secrets!.map((uri) => ({ type: 'azurerm_key_vault_secret', resource_id: null, account_id: accountId, target: uri.replace(/\/+$/, '') })),
    lifetime_days: input.lifetime_days ?? 180,
    overlap_hours: input.overlap_hours ?? 24,
  };
}

/** A credential of the inventory, written into the store entries of its confirmed credential links. */
async function normalizeCredential(db: Db, organizationId: string, input: RotationCreate & { credential_id: string }): Promise<Normalized> {
  const mixed = EXPLICIT_FIELDS.filter((field) => input[field] !== undefined);
  if (mixed.length > 0) {
    throw new AppError('validation_failed', 'With credential_id, the stores are its confirmed credential links: leave out the explicit Entra ID fields.', mixed.map((field) => ({ field: `body.${field}`, issue: 'not allowed with credential_id' })));
  }
  const resource = await requireResource(db, organizationId, input.credential_id);
  return rotationOfCredential(db, organizationId, resource, { lifetime_days: input.lifetime_days ?? 180, overlap_hours: input.overlap_hours ?? 24 });
}

/**
 * The rotation of a credential resource into the store entries of its confirmed credential links:
 * 422 `credential_not_rotatable` for a resource that is not one, `no_confirmed_store` without links.
 */
export async function rotationOfCredential(db: Db, organizationId: string, resource: TargetResource, timing: { lifetime_days: number; overlap_hours: number }): Promise<Normalized> {
  const credential = rotationCredential(resource);
  const stores: RotationStoreData[] = [];
  if (credential.type === 'aws_secretsmanager_secret') {
    // Its rotation function writes the secret itself: no store entries, no links.
    return { credential_type: credential.type, credential_resource_id: resource.id, account_id: resource.account_id, application_id: credential.owner, key_id: credential.keyId, stores, ...timing };
  }
  for (const store of await confirmedStoresOf(db, organizationId, resource.id)) {
    const target = rotationStore(store);
    if (target === null) throw new AppError('no_confirmed_store', `Store entry ${store.id} (${store.type}) does not say where it is: rescan its account, or reject its link.`, [{ field: 'body.credential_id', issue: `store ${store.id} has no address` }]);
    stores.push(target);
  }
  if (stores.length === 0) {
    throw new AppError('no_confirmed_store', `Credential ${resource.id} has no confirmed credential link to a store entry: confirm a proposed link (PATCH /v1/credential-links/{id}) or add one (POST /v1/credential-links) first.`, [
      { field: 'body.credential_id', issue: 'no confirmed credential link' },
    ]);
  }
  if (stores.length > MAX_STORES) {
    // Writing some and leaving others would rotate it half-way.
    throw new AppError('validation_failed', `Credential ${resource.id} has ${stores.length} confirmed store entries; a rotation writes at most ${MAX_STORES}: reject the links not in use.`, [
      { field: 'body.credential_id', issue: `more than ${MAX_STORES} confirmed store entries` },
    ]);
  }
  return {
    credential_type: credential.type,
    credential_resource_id: resource.id,
    account_id: resource.account_id,
    application_id: credential.owner,
    key_id: credential.keyId,
    stores,
    ...timing,
  };
}

/** The account's connection, decrypted; 422 for an account of another cloud or without a connection. */
async function accountConnection(db: Db, keyring: SecretsKeyring, account: AccountRow, provider: 'azure' | 'aws' | 'gcp', field: string): Promise<ConnectionCredentials> {
  if (account.provider !== provider) {
    throw new AppError('validation_failed', `Account ${account.id} is ${account.provider}: this is done through a ${provider} account's connection.`, [{ field, issue: `not a ${provider} account` }]);
  }
  const connection = await findConnection(db, account.organization_id, account.id);
  if (!connection) throw new AppError('not_connected', `Account ${account.id} has no connection; PUT /v1/accounts/${account.id}/connection first.`);
  return connectionCredentials(db, keyring, account, connection);
}

const STORE_PROVIDER: Record<RotationStoreData['type'], 'azure' | 'aws' | 'gcp'> = {
  azurerm_key_vault_secret: 'azure',
  aws_secretsmanager_secret: 'aws',
  google_secret_manager_secret: 'gcp',
};

/** The connections a rotation uses, by account id: the credential's, and each store entry's (checked before anything changes). */
async function rotationConnections(db: Db, settings: RotationSettings, organizationId: string, request: Normalized): Promise<Map<string, ConnectionCredentials>> {
  const connections = new Map<string, ConnectionCredentials>();
  const need = async (accountId: string, provider: 'azure' | 'aws' | 'gcp', field: string) => {
    if (connections.has(accountId)) return;
    const account = await findRotationAccount(db, organizationId, accountId);
    if (!account) throw new AppError('not_found', `No account ${accountId} in this organization.`);
    connections.set(accountId, await accountConnection(db, settings.keyring, account, provider, field));
  };
  await need(request.account_id, CREDENTIAL_PROVIDER[request.credential_type], request.credential_resource_id === null ? 'body.account_id' : 'body.credential_id');
  for (const store of request.stores) await need(store.account_id, STORE_PROVIDER[store.type], request.credential_resource_id === null ? 'body.account_id' : 'body.credential_id');
  return connections;
}

const KIND_WORDS: Record<Exclude<RotationCredentialType, 'aws_secretsmanager_secret'>, { create: (r: Normalized) => string; verify: string; revoke: (r: Normalized) => string }> = {
  azuread_application_password: {
    create: (r) => `Add a password to application ${r.application_id} valid for ${r.lifetime_days} days.`,
    verify: 'Request a token with the new secret (client credentials).',
    revoke: () => 'Remove the old password',
  },
  aws_iam_access_key: {
    create: (r) => `Create an access key for IAM user ${r.application_id} (CreateAccessKey; IAM allows two per user).`,
    verify: 'Call sts:GetCallerIdentity signed with the new key.',
    revoke: () => 'Deactivate, then delete, the old access key',
  },
  google_service_account_key: {
    create: (r) => `Create a key for service account ${r.application_id} (IAM keys.create).`,
    verify: 'Exchange a JWT signed with the new key for a token (JWT bearer grant).',
    revoke: () => 'Delete the old key (DeleteServiceAccountKey)',
  },
};

const STORE_WORDS: Record<RotationStoreData['type'], string> = {
  azurerm_key_vault_secret: 'Write the new secret as a new version of this Key Vault secret, with the new expiry.',
  aws_secretsmanager_secret: 'Write {"access_key_id", "secret_access_key"} (or the secret) as a new AWSCURRENT version of this Secrets Manager secret (PutSecretValue).',
  google_secret_manager_secret: 'Add a version holding the new credential to this Secret Manager secret (AddSecretVersion).',
};

export function plannedSteps(input: Normalized): Schemas['RotationPlannedStep'][] {
  if (input.credential_type === 'aws_secretsmanager_secret') {
    return [
      { name: 'rotate', target: input.application_id, description: "Run the secret's own rotation function now (RotateSecret with RotateImmediately)." },
      { name: 'verify', target: input.application_id, description: 'Describe the secret until AWSCURRENT is on a new version and no AWSPENDING is left (DescribeSecret; no value is read).' },
    ];
  }
  const words = KIND_WORDS[input.credential_type];
  return [
    { name: 'create', target: input.application_id, description: words.create(input) },
    ...input.stores.map((store) => ({ name: 'write' as const, target: store.target, description: STORE_WORDS[store.type] })),
    { name: 'verify', target: input.application_id, description: words.verify },
    {
      name: 'revoke',
      target: input.key_id,
      description: input.overlap_hours === 0 ? `${words.revoke(input)} at once.` : `${words.revoke(input)} ${input.overlap_hours} hours after the rotation.`,
    },
  ];
}

function keyVaultSecretsOf(stores: RotationStoreData[]): string[] {
  return stores.filter((store) => store.type === 'azurerm_key_vault_secret').map((store) => store.target);
}

function pendingStep(name: Step['name'], target: string): Step {
  return { name, target, outcome: 'pending', started_at: null, finished_at: null, error: null, rollback_status: null, rollback_error: null };
}

export type CreateRotationResult = { dryRun: true; plan: Schemas['RotationPlan'] } | { dryRun: false; rotation: RotationRow };

/**
 * Rotates a credential: create → write each store entry → verify, in this request (the new
 * secret lives in this process's memory only, so it cannot wait for a worker), then the old
 * credential's revocation after the overlap.
 */
export async function createRotation(db: Db, settings: RotationSettings, principal: Principal, input: RotationCreate, dryRun: boolean): Promise<CreateRotationResult> {
  const request = input.credential_id !== undefined ? await normalizeCredential(db, principal.organizationId, { ...input, credential_id: input.credential_id }) : normalizeExplicit(input);
  await requireAccount(db, principal, request.account_id);
  const connections = await rotationConnections(db, settings, principal.organizationId, request);
  if (dryRun) {
    const { credential_resource_id: credentialId, ...rest } = request;
    return { dryRun: true, plan: { dry_run: true, ...rest, credential_id: credentialId, key_vault_secrets: keyVaultSecretsOf(request.stores), steps: plannedSteps(request) } };
  }
  return { dryRun: false, rotation: await startRotation(db, settings, { organizationId: principal.organizationId, userId: principal.userId, policyId: null }, connections, request) };
}

/** Who starts a rotation: a person, or a rotation policy (no user). */
export interface RotationStarter {
  organizationId: string;
  userId: string | null;
  policyId: string | null;
}

/** Records the rotation (409 while another of the credential runs; the plan's monthly limit) and runs it. */
async function startRotation(db: Db, settings: RotationSettings, starter: RotationStarter, connections: Map<string, ConnectionCredentials>, request: Normalized): Promise<RotationRow> {
  const now = clockOf(settings);
  const field = request.credential_resource_id === null ? 'body.key_id' : 'body.credential_id';
  const conflict = (id: string) =>
    new AppError('conflict', `Credential ${request.key_id} of ${request.application_id} is being rotated by ${id}; wait for it to end.`, [{ field, issue: `rotation ${id} is in progress` }]);
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
        account_id: request.account_id,
        credential_type: request.credential_type,
        credential_resource_id: request.credential_resource_id,
        application_id: request.application_id,
        key_id: request.key_id,
        stores: JSON.stringify(request.stores),
        key_vault_secrets: JSON.stringify(keyVaultSecretsOf(request.stores)),
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
  return runRotation(db, settings, row, connections);
}

/** A rotation a policy starts, through the accounts' connections (the policy's check has no caller). */
export async function startPolicyRotation(db: Db, settings: RotationSettings, starter: RotationStarter, request: Normalized): Promise<RotationRow> {
  return startRotation(db, settings, starter, await rotationConnections(db, settings, starter.organizationId, request), request);
}

function callsOf(settings: RotationSettings, row: RotationRow, connections: Map<string, ConnectionCredentials>): CredentialCalls {
  const connection = connections.get(row.account_id);
  if (!connection) throw new Error(`no connection of account ${row.account_id}`);
  return credentialCalls(row.credential_type, row.application_id, row.key_id, connection, settings.endpoints, settings.verifyRetryDelaysMs ?? DEFAULT_VERIFY_DELAYS_MS, settings.secretRotationWait ?? DEFAULT_SECRET_WAIT);
}

/** What a rollback undoes: the written store entries, newest last. */
interface Written {
  index: number;
  undo: () => Promise<void>;
}

async function runRotation(db: Db, settings: RotationSettings, row: RotationRow, connections: Map<string, ConnectionCredentials>): Promise<RotationRow> {
  const now = clockOf(settings);
  const calls = callsOf(settings, row, connections);
  const steps = row.steps.map((step) => ({ ...step }));
  const save = (change: Parameters<typeof updateRotation>[2] = {}) => updateRotation(db, row.id, { steps, ...change });
  const begin = (index: number) => {
    steps[index]!.started_at = now().toISOString();
  };
  const succeed = (index: number, target?: string) => {
    Object.assign(steps[index]!, { outcome: 'succeeded', finished_at: now().toISOString(), ...(target ? { target } : {}) });
  };

  // The new secret: this function's memory only, dropped when it returns.
  let value: string | undefined;
  let newKeyId: string | undefined;
  const written: Written[] = [];
  const expiresAt = new Date(now().getTime() + row.lifetime_days * 86_400_000);
  let index = 0;
  try {
    begin(index);
    const created = await calls.create(expiresAt, `fourfold ${row.id}`);
    value = created.value;
    newKeyId = created.keyId;
    succeed(index, newKeyId);
    // A rotation function's new version has no expiry fourfold knows of.
    await save({ new_key_id: newKeyId, new_expires_at: row.credential_type === 'aws_secretsmanager_secret' ? null : expiresAt });

    for (const store of row.stores) {
      index += 1;
      begin(index);
      const connection = connections.get(store.account_id);
      if (!connection) throw new Error(`no connection of account ${store.account_id}`);
      const write = await storeWrite(store, connection, settings.endpoints)(value, expiresAt);
      written.push({ index, undo: write.undo });
      succeed(index);
      // Recorded so that the sweep can return the entry should this process stop.
      if (write.version !== null) steps[index]!.written_version = write.version;
      await save();
    }

    index += 1;
    begin(index);
    await calls.verify();
    succeed(index);
  } catch (error) {
    return rollBack(db, settings, row, calls, steps, index, error, newKeyId, written);
  }
  if (row.credential_type === 'aws_secretsmanager_secret') {
    // Nothing to revoke: the rotation function retired the old version itself (AWSPREVIOUS).
    return save({ status: 'succeeded', finished_at: now() });
  }
  // The new secret reaches the syncs' copies before the old one is revoked.
  await syncRotatedSecrets(db, settings, row);

  if (row.overlap_hours === 0) {
    const claimed = await save({ status: 'running', revoke_at: now() });
    return revoke(db, settings, claimed, calls);
  }
  const revokeAt = new Date(now().getTime() + row.overlap_hours * 3_600_000);
  const scheduled = await save({ status: 'revoke_scheduled', revoke_at: revokeAt });
  await settings.jobs?.sendLater(QUEUES.rotationRevokes, { rotation_id: row.id } satisfies RotationJob, row.overlap_hours * 3600).catch((error: unknown) => {
    // The periodic sweep revokes it all the same.
    settings.logger?.warn({ err: error, rotation: row.id }, 'could not schedule the revocation of a rotated credential');
  });
  return scheduled;
}

/** Undoes what the steps before `failedIndex` did, newest first, each saying how it went. */
async function rollBack(
  db: Db,
  settings: RotationSettings,
  row: RotationRow,
  calls: CredentialCalls,
  steps: Step[],
  failedIndex: number,
  error: unknown,
  newKeyId: string | undefined,
  written: Written[],
): Promise<RotationRow> {
  const now = clockOf(settings);
  const message = errorText(error);
  Object.assign(steps[failedIndex]!, { outcome: 'failed', finished_at: now().toISOString(), error: message, rollback_status: 'nothing_to_roll_back' });
  for (const step of steps.slice(failedIndex + 1)) step.outcome = 'skipped';
  for (const entry of [...written].reverse()) {
    try {
      await entry.undo();
      steps[entry.index]!.rollback_status = 'rolled_back';
    } catch (rollbackError) {
      Object.assign(steps[entry.index]!, { rollback_status: 'rollback_failed', rollback_error: errorText(rollbackError) });
    }
  }
  written.length = 0;
  if (newKeyId !== undefined) {
    try {
      await calls.discard(newKeyId);
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

/** Revokes the old credential of a rotation whose overlap has passed (already claimed: status `running`). */
async function revoke(db: Db, settings: RotationSettings, row: RotationRow, calls: CredentialCalls): Promise<RotationRow> {
  const now = clockOf(settings);
  const steps = row.steps.map((step) => ({ ...step }));
  const index = steps.length - 1;
  steps[index]!.started_at = now().toISOString();
  try {
    await calls.revoke(row.key_id);
  } catch (error) {
    // The new credential stays: it is in place and verified. The old one stays valid until revoked by hand.
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

/** The credential's calls of a rotation the worker picks up (no request, so no connections yet). */
async function workerCalls(db: Db, settings: RotationSettings, row: RotationRow): Promise<CredentialCalls> {
  const account = await findRotationAccount(db, row.organization_id, row.account_id);
  if (!account) throw new Error('the account is gone');
  const connection = await accountConnection(db, settings.keyring, account, CREDENTIAL_PROVIDER[row.credential_type], 'account_id');
  return callsOf(settings, row, new Map([[row.account_id, connection]]));
}

/** A rotation still `running` this long after it started (or was due to revoke) was interrupted: its process stopped. */
const INTERRUPTED_AFTER_MS = 15 * 60_000;

/** The connection of a store entry's account, for the sweep (no request, so none yet). */
async function storeConnection(db: Db, settings: RotationSettings, row: RotationRow, store: RotationStoreData): Promise<ConnectionCredentials> {
  const account = await findRotationAccount(db, row.organization_id, store.account_id);
  if (!account) throw new Error(`the account ${store.account_id} is gone`);
  return accountConnection(db, settings.keyring, account, STORE_PROVIDER[store.type], 'stores');
}

/**
 * Ends rotations whose process stopped mid-way. The new secret was in that process's memory
 * only, so a rotation cannot be finished: it is rolled back as far as what was recorded allows.
 * Secrets Manager and Secret Manager entries it wrote are returned by the version their step
 * recorded; a Key Vault secret cannot be (its previous value was in that memory too) and says
 * `rollback_failed`. The new credential is removed when no store entry holds it any more, and
 * otherwise stays (it is what they hold), for a person to finish. A removal of the old password
 * that was interrupted is scheduled again.
 */
async function endInterruptedRotations(db: Db, settings: RotationSettings, now: Date): Promise<RotationRow[]> {
  const staleBefore = new Date(now.getTime() - INTERRUPTED_AFTER_MS);
  const ended: RotationRow[] = [];
  for (const id of await interruptedRotationIds(db, staleBefore)) {
    const row = await claimInterruptedRotation(db, id, staleBefore);
    if (!row || row.status !== 'failed') continue;
    const steps = row.steps.map((step) => ({ ...step }));
    const message = 'the process running this rotation stopped before it ended';
    for (const step of steps) {
      if (step.outcome === 'pending') step.outcome = step.started_at === null ? 'skipped' : 'failed';
      if (step.outcome === 'failed') Object.assign(step, { finished_at: now.toISOString(), error: message, rollback_status: 'nothing_to_roll_back' });
    }
    // Steps are create, one write per store entry in order, verify, revoke; undone newest first.
    let holding = 0;
    for (let index = row.stores.length; index >= 1; index -= 1) {
      const step = steps[index]!;
      if (step.name !== 'write' || step.outcome !== 'succeeded') continue;
      const store = row.stores[index - 1]!;
      try {
        await undoStoreWrite(store, step.written_version, await storeConnection(db, settings, row, store), settings.endpoints);
        step.rollback_status = 'rolled_back';
      } catch (error) {
        Object.assign(step, { rollback_status: 'rollback_failed', rollback_error: errorText(error) });
        holding += 1;
      }
    }
    const create = steps[0]!;
    if (create.outcome === 'succeeded' && row.new_key_id !== null) {
      if (holding > 0) {
        Object.assign(create, { rollback_status: 'rollback_failed', rollback_error: 'kept: store entries hold the new credential' });
      } else {
        try {
          await (await workerCalls(db, settings, row)).discard(row.new_key_id);
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
    try {
      results.push(await revoke(db, settings, row, await workerCalls(db, settings, row)));
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
