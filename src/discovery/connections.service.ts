import { randomBytes } from 'node:crypto';
import type { Db } from '../db/database';
import type { AccountConnectionRow, AccountRow, ConnectionKind, ConnectionSettings } from '../db/schema';
import { AppError } from '../errors';
import type { Schemas } from '../http/contract';
import type { Principal } from '../http/principal';
import { requireAccount } from '../accounts/accounts.service';
import { assertPlanLimit, type PlanSettings } from '../plans/plans.service';
import type { AwsCredentials, AzureCredentials, GcpCredentials, GcpScope } from './collector';
import { fingerprintOf, type SecretsKeyring } from './connection-secrets';
import { nextScanTime, scheduleProblems } from './scan-schedule';
import {
  connectionsNotUnderKey,
  deleteConnection,
  findAwsExternalId,
  findConnection,
  insertAwsExternalId,
  updateConnectionSecret,
  upsertConnection,
} from './connections.repository';

export { connectedAccountIds, findConnection } from './connections.repository';

type ConnectionPut = Schemas['ConnectionPut'];

/** Which fields each kind takes; the secret field is stored encrypted, the others as settings. */
const KINDS: Record<ConnectionKind, { provider: AccountRow['provider']; required: (keyof ConnectionPut)[]; optional: (keyof ConnectionPut)[]; secrets: (keyof ConnectionPut)[] }> = {
  aws_role: { provider: 'aws', required: ['role_arn'], optional: ['regions'], secrets: [] },
  aws_access_key: { provider: 'aws', required: ['access_key_id', 'secret_access_key'], optional: ['regions'], secrets: ['secret_access_key'] },
  azure_service_principal: { provider: 'azure', required: ['tenant_id', 'client_id'], optional: [], secrets: ['client_secret', 'client_certificate_pem'] },
  gcp_service_account: { provider: 'gcp', required: ['service_account_key'], optional: ['gcp_scope'], secrets: ['service_account_key'] },
};
const COMMON: (keyof ConnectionPut)[] = ['kind', 'scan_schedule', 'audit_after_scan'];

/** What a collector is given: the connection with its secret decrypted. Never logged, never answered. */
export type ConnectionCredentials =
  | { provider: 'aws'; aws: AwsCredentials }
  | { provider: 'azure'; azure: AzureCredentials; subscriptionId: string }
  | { provider: 'gcp'; gcp: GcpCredentials; scope: GcpScope };

export interface ConnectionView {
  row: AccountConnectionRow;
  externalId: string | null;
}

export async function getConnection(db: Db, principal: Principal, accountId: string): Promise<ConnectionView> {
  const account = await requireAccount(db, principal, accountId);
  const row = await findConnection(db, principal.organizationId, account.id);
  if (!row) throw new AppError('not_found', `Account ${account.id} has no connection.`);
  return { row, externalId: row.kind === 'aws_role' ? await awsExternalId(db, principal.organizationId) : null };
}

/** Sets the account's connection; a secret field left out keeps the stored secret of the same kind. */
export async function putConnection(db: Db, keyring: SecretsKeyring, plans: PlanSettings, principal: Principal, accountId: string, input: ConnectionPut): Promise<ConnectionView> {
  const account = await requireAccount(db, principal, accountId);
  const spec = KINDS[input.kind];
  if (spec.provider !== account.provider) {
    throw new AppError('validation_failed', `A ${input.kind} connection is for ${spec.provider} accounts; account ${account.id} is ${account.provider}.`, [
      { field: 'body.kind', issue: `not a ${account.provider} connection kind` },
    ]);
  }
  const existing = await findConnection(db, principal.organizationId, account.id);
  const keepSecret = existing !== undefined && existing.kind === input.kind && existing.secret_encrypted !== null;
  const allowed = new Set([...COMMON, ...spec.required, ...spec.optional, ...spec.secrets]);
  const problems = Object.keys(input)
    .filter((field) => !allowed.has(field as keyof ConnectionPut))
    .map((field) => ({ field: `body.${field}`, issue: `not a field of a ${input.kind} connection` }));
  for (const field of spec.required) {
    if (input[field] === undefined && !(keepSecret && spec.secrets.includes(field))) problems.push({ field: `body.${field}`, issue: `required for a ${input.kind} connection` });
  }
  const givenSecrets = spec.secrets.filter((field) => input[field] !== undefined);
  if (input.kind === 'azure_service_principal' && givenSecrets.length !== 1 && !(givenSecrets.length === 0 && keepSecret)) {
    problems.push({ field: 'body.client_secret', issue: 'give exactly one of client_secret and client_certificate_pem' });
  }
  if (input.role_arn !== undefined && input.role_arn.split(':')[4] !== account.external_id) {
    problems.push({ field: 'body.role_arn', issue: `the role must be in the account ${account.external_id}` });
  }
  if (input.service_account_key !== undefined && !isServiceAccountKey(input.service_account_key)) {
    problems.push({ field: 'body.service_account_key', issue: 'not a service-account key file (JSON with type service_account, client_email and private_key)' });
  }
  if (input.scan_schedule) problems.push(...scheduleProblems(input.scan_schedule));
  if (problems.length > 0) throw new AppError('validation_failed', `The ${input.kind} connection is not valid: ${problems.map((p) => `${p.field} ${p.issue}`).join('; ')}.`, problems);

  const settings: ConnectionSettings = {};
  if (input.role_arn !== undefined) settings.role_arn = input.role_arn;
  if (input.access_key_id !== undefined) settings.access_key_id = input.access_key_id;
  if (spec.provider === 'aws') settings.regions = input.regions ?? null;
  if (input.tenant_id !== undefined) settings.tenant_id = input.tenant_id.toLowerCase();
  if (input.client_id !== undefined) settings.client_id = input.client_id.toLowerCase();
  if (spec.provider === 'gcp') settings.gcp_scope = input.gcp_scope ?? null;

  let secret: { encrypted: string; keyId: string; fingerprint: string; field: string } | null = null;
  const field = givenSecrets[0];
  if (field !== undefined) {
    const value = input[field] as string;
    const { encrypted, keyId } = keyring.encrypt(JSON.stringify({ [field]: value }));
    secret = { encrypted, keyId, fingerprint: fingerprintOf(value), field };
  }
  const now = new Date();
  // A schedule given anew is due next from now, and its scans' audits are the caller's; left out, it stays as it was.
  const schedule =
    input.scan_schedule !== undefined
      ? { next_scan_at: input.scan_schedule && nextScanTime(input.scan_schedule, now), scan_schedule_set_by: input.scan_schedule ? principal.userId : null }
      : { next_scan_at: existing?.next_scan_at ?? null, scan_schedule_set_by: existing?.scan_schedule_set_by ?? null };
  const row = await db.transaction().execute(async (trx) => {
    // A new connection counts against the plan's connected accounts; changing one does not.
    if (!existing) await assertPlanLimit(trx, plans, principal.organizationId, 'connected_accounts');
    return upsertConnection(trx, {
    account_id: account.id,
    organization_id: principal.organizationId,
    kind: input.kind,
    settings: JSON.stringify(settings),
    secret_encrypted: secret ? secret.encrypted : keepSecret ? existing.secret_encrypted : null,
    secret_key_id: secret ? secret.keyId : keepSecret ? existing.secret_key_id : null,
    secret_fingerprint: secret ? `${secret.field}:${secret.fingerprint}` : keepSecret ? existing.secret_fingerprint : null,
    scan_schedule: input.scan_schedule ? JSON.stringify(input.scan_schedule) : input.scan_schedule === null ? null : existing?.scan_schedule ? JSON.stringify(existing.scan_schedule) : null,
    ...schedule,
    audit_after_scan: input.audit_after_scan ?? existing?.audit_after_scan ?? true,
      created_at: existing?.created_at ?? now,
      updated_at: now,
    });
  });
  return { row, externalId: row.kind === 'aws_role' ? await awsExternalId(db, principal.organizationId) : null };
}

export async function removeConnection(db: Db, principal: Principal, accountId: string): Promise<void> {
  const account = await requireAccount(db, principal, accountId);
  if (!(await deleteConnection(db, principal.organizationId, account.id))) throw new AppError('not_found', `Account ${account.id} has no connection.`);
}

/** The organization's AWS external id, made on first use. */
export async function awsExternalId(db: Db, organizationId: string): Promise<string> {
  return (await findAwsExternalId(db, organizationId)) ?? insertAwsExternalId(db, organizationId, `ffx_${randomBytes(15).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, '0')}`);
}

/** The connection with its secret decrypted, for a collector; throws a plain Error (never naming the secret) when it cannot be read. */
export async function connectionCredentials(db: Db, keyring: SecretsKeyring, account: AccountRow, row: AccountConnectionRow): Promise<ConnectionCredentials> {
  let secret: Record<string, string> = {};
  if (row.secret_encrypted !== null) {
    const plaintext = keyring.decrypt(row.secret_encrypted, row.secret_key_id ?? '');
    if (plaintext === undefined) throw new Error(`the connection's secret of account ${account.id} is encrypted under key ${row.secret_key_id}, which is not configured`);
    secret = JSON.parse(plaintext) as Record<string, string>;
  }
  const settings = row.settings;
  switch (row.kind) {
    case 'aws_role':
      return {
        provider: 'aws',
        aws: { account_id: account.external_id, role_arn: settings.role_arn!, external_id: await awsExternalId(db, account.organization_id), regions: settings.regions ?? null },
      };
    case 'aws_access_key':
      return {
        provider: 'aws',
        aws: { account_id: account.external_id, access_key_id: settings.access_key_id!, secret_access_key: secret.secret_access_key!, regions: settings.regions ?? null },
      };
    case 'azure_service_principal':
      return {
        provider: 'azure',
        subscriptionId: account.external_id,
        azure: {
          tenant_id: settings.tenant_id!,
          client_id: settings.client_id!,
          ...(secret.client_secret !== undefined ? { client_secret: secret.client_secret } : {}),
          ...(secret.client_certificate_pem !== undefined ? { client_certificate_pem: secret.client_certificate_pem } : {}),
        },
      };
    case 'gcp_service_account':
      return { provider: 'gcp', gcp: { service_account_key: secret.service_account_key! }, scope: settings.gcp_scope ?? { project_id: account.external_id } };
  }
}

/** Re-encrypts every connection secret under the keyring's current key; answers how many it moved and any it could not read. */
export async function reEncryptSecrets(db: Db, keyring: SecretsKeyring): Promise<{ reEncrypted: number; unreadable: string[] }> {
  const rows = await connectionsNotUnderKey(db, keyring.currentKeyId);
  const unreadable: string[] = [];
  let reEncrypted = 0;
  for (const row of rows) {
    const plaintext = keyring.decrypt(row.secret_encrypted!, row.secret_key_id ?? '');
    if (plaintext === undefined) {
      unreadable.push(row.account_id);
      continue;
    }
    const { encrypted, keyId } = keyring.encrypt(plaintext);
    await updateConnectionSecret(db, row.account_id, encrypted, keyId);
    reEncrypted++;
  }
  return { reEncrypted, unreadable };
}

function isServiceAccountKey(text: string): boolean {
  try {
    const key = JSON.parse(text) as Record<string, unknown>;
    return key.type === 'service_account' && typeof key.client_email === 'string' && typeof key.private_key === 'string';
  } catch {
    return false;
  }
}
