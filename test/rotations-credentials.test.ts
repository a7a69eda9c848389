import { sql } from 'kysely';
import request, { type Response } from 'supertest';
import { checkRotationPolicies } from '../src/rotation-policies/rotation-policy-check';
import { revokeDueRotations } from '../src/rotations/rotations.service';
import { rotationSettings } from '../src/workers';
import { as, TEST_SECRET, useTestApp } from './support/app';
import { azureEndpoints, startAzureStandIn, type AzureStandIn } from './support/azure-stand-in';
import { startAwsRotationStandIn, startGcpRotationStandIn, type AwsRotationStandIn, type GcpRotationStandIn } from './support/cloud-stand-ins';
import { expectError } from './support/expectations';

let aws: AwsRotationStandIn;
let gcp: GcpRotationStandIn;
let azure: AzureStandIn;

beforeAll(async () => {
  [aws, gcp] = await Promise.all([startAwsRotationStandIn(), startGcpRotationStandIn()]);
  azure = startAzureStandIn();
});
afterAll(async () => {
  azure.close();
  await Promise.all([aws.close(), gcp.close()]);
});

const t = useTestApp(() => ({
  SECRETS_KEY: 'rotation-credentials-secrets-key-0123456789',
  ROTATION_VERIFY_SECONDS: '0',
  ROTATION_SECRET_WAIT_SECONDS: '1',
  ROTATION_SECRET_POLL_MS: '20',
  DISCOVERY_AWS_ENDPOINT: aws.url,
  DISCOVERY_GCP_ENDPOINT: gcp.url,
  ...azureEndpoints(azure.url),
}));

const bodies: string[] = [];
function seen(response: Response): Response {
  bodies.push(response.text);
  return response;
}

const USER = 'ci-deployer';
const OLD_KEY = 'AKIAOLDKEY0000000001';
const ARN_1 = 'arn:aws:secretsmanager:eu-west-1:210987654321:secret:ci/deployer-AbCdEf';
const ARN_2 = 'arn:aws:secretsmanager:us-east-2:210987654321:secret:ci/deployer-dr-XyZ123';
const SA = 'payments-api@acme-rotate.iam.gserviceaccount.com';
const OLD_GCP_KEY = '0123456789abcdef0123456789abcdef01234567';
const GCP_SECRET = 'projects/acme-rotate/secrets/payments-sa-key';
const DB_ARN = 'arn:aws:secretsmanager:eu-west-1:210987654321:secret:orders/db-password-Zx9Yw8';
const ENTRA_KEY = '0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b';
const ENTRA_SECRETS = { aws: 'arn:aws:secretsmanager:eu-west-1:210987654321:secret:payments/client-secret-QwErTy', gcp: 'projects/acme-rotate/secrets/payments-client-secret' };

let owner: string;
const ids: Record<string, string> = {};
const accounts: Record<string, string> = {};

type Native = { type: string; native_id: string; name: string; attributes: Record<string, unknown> };

async function account(provider: string, externalId: string, connection: object, resources: Native[]): Promise<void> {
  const made = await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider, external_id: externalId, name: provider }).expect(201);
  accounts[provider] = made.body.id as string;
  await request(t.app).put(`/v1/accounts/${made.body.id as string}/connection`).set(as(owner)).send({ ...connection, audit_after_scan: false }).expect(200);
  const body = { resources: resources.map((r) => ({ provider, region: null, relationships: [], tags: {}, ...r })) };
  await request(t.app).post(`/v1/accounts/${made.body.id as string}/imports?format=native`).set(as(owner)).send(body).expect(201);
  const listed = await request(t.app).get(`/v1/resources?account_id=${made.body.id as string}&limit=200`).set(as(owner)).expect(200);
  for (const r of listed.body.data as { id: string; name: string }[]) ids[r.name] = r.id;
}

async function link(credential: string, store: string): Promise<void> {
  await request(t.app).post('/v1/credential-links').set(as(owner)).send({ credential_resource_id: ids[credential], store_resource_id: ids[store] }).expect(201);
}

async function rotate(credential: string, body: object = {}, query = ''): Promise<Response> {
  return seen(await request(t.app).post(`/v1/rotations${query}`).set(as(owner)).send({ credential_id: ids[credential], ...body }));
}

function resetAws(): void {
  aws.fail.clear();
  aws.users.clear();
  aws.users.set(USER, new Map([[OLD_KEY, { secret: 'old-secret-access-key-value', status: 'Active' }]]));
  aws.users.set('payments', new Map());
  aws.secrets.clear();
  for (const arn of [ARN_1, ARN_2, ENTRA_SECRETS.aws, DB_ARN]) aws.secrets.set(arn, { versions: new Map([['v-original', 'original-value']]), current: 'v-original', previous: null });
  aws.secrets.get(DB_ARN)!.rotation = 'succeeds';
}

function resetGcp(): void {
  gcp.fail.clear();
  gcp.serviceAccounts.clear();
  gcp.serviceAccounts.set(SA, new Map([[OLD_GCP_KEY, 'not-a-key']]));
  gcp.secrets.clear();
  gcp.secrets.set(GCP_SECRET, [{ value: 'original-key-json', state: 'ENABLED' }]);
  gcp.secrets.set(ENTRA_SECRETS.gcp, [{ value: 'original-client-secret', state: 'ENABLED' }]);
}

const steps = (body: { steps: { name: string; target: string; outcome: string; rollback_status: string | null }[] }) => body.steps.map((s) => [s.name, s.target, s.outcome, s.rollback_status]);

beforeAll(async () => {
  owner = await t.ownerToken();
  await t.db.updateTable('organizations').set({ plan: 'pro' }).execute();
  await account('aws', aws.accountId, { kind: 'aws_access_key', access_key_id: aws.connection.accessKeyId, secret_access_key: aws.connection.secretAccessKey }, [
    { type: 'aws_iam_access_key', native_id: OLD_KEY, name: 'ci-deployer-key', attributes: { id: OLD_KEY, user: USER, status: 'Active', create_date: '2026-01-02T03:04:05Z' } },
    { type: 'aws_iam_access_key', native_id: 'arn:aws:iam::210987654321:root/access_key_1', name: 'root-key', attributes: { id: 'root-access-key-1', user: '<root_account>', status: 'Active' } },
    { type: 'aws_secretsmanager_secret', native_id: ARN_1, name: 'ci/deployer', attributes: { arn: ARN_1, name: 'ci/deployer' } },
    { type: 'aws_secretsmanager_secret', native_id: ARN_2, name: 'ci/deployer-dr', attributes: { arn: ARN_2, name: 'ci/deployer-dr' } },
    { type: 'aws_secretsmanager_secret', native_id: ENTRA_SECRETS.aws, name: 'payments/client-secret', attributes: { arn: ENTRA_SECRETS.aws, name: 'payments/client-secret' } },
    {
      type: 'aws_secretsmanager_secret', native_id: DB_ARN, name: 'orders/db-password',
      attributes: { arn: DB_ARN, name: 'orders/db-password', rotation_enabled: true, rotation_lambda_arn: 'arn:aws:lambda:eu-west-1:210987654321:function:rotate-orders-db' },
    },
  ]);
  await account('gcp', gcp.projectId, { kind: 'gcp_service_account', service_account_key: gcp.connectionKeyJson }, [
    { type: 'google_service_account_key', native_id: `//iam.googleapis.com/projects/acme-rotate/serviceAccounts/${SA}/keys/${OLD_GCP_KEY}`, name: 'payments-sa-key', attributes: { key_id: OLD_GCP_KEY, service_account_id: SA, key_type: 'USER_MANAGED' } },
    { type: 'google_secret_manager_secret', native_id: `//secretmanager.googleapis.com/${GCP_SECRET}`, name: 'payments-sa-key-secret', attributes: { secret_id: 'payments-sa-key' } },
    { type: 'google_secret_manager_secret', native_id: `//secretmanager.googleapis.com/${ENTRA_SECRETS.gcp}`, name: 'payments-client-secret', attributes: { secret_id: 'payments-client-secret' } },
  ]);
  await account('azure', '8f2a6b1c-3d4e-4f5a-9b6c-7d8e9f0a1b2c', { kind: 'azure_service_principal', tenant_id: azure.tenantId, client_id: azure.connection.clientId, client_secret: azure.connection.clientSecret }, [
    {
      type: 'azuread_application_password', native_id: `/applications/${azure.application.id}/password/${ENTRA_KEY}`, name: 'payments-api-secret',
      attributes: { application_object_id: azure.application.id, application_client_id: azure.application.appId, key_id: ENTRA_KEY, end_date: '2026-12-20T00:00:00Z' },
    },
  ]);
  await link('ci-deployer-key', 'ci/deployer');
  await link('ci-deployer-key', 'ci/deployer-dr');
  await link('payments-sa-key', 'payments-sa-key-secret');
  await link('payments-api-secret', 'payments/client-secret');
  await link('payments-api-secret', 'payments-client-secret');
});

describe('a rotation policy', () => {
  test('rotates an access key due 90 days after its creation into its confirmed links', async () => {
    resetAws();
    const policy = seen(await request(t.app).post('/v1/rotation-policies').set(as(owner)).send({ name: 'CI keys', selector: { resource_ids: [ids['ci-deployer-key']] }, exclusions: [], days_before_expiry: 7, overlap_hours: 0 }));
    expect(policy.status).toBe(201);
    const settings = { ...rotationSettings({ ...t.config }, TEST_SECRET), jobs: t.jobs };
    // Created 2026-01-02: due 2026-04-02; a week before that it is not yet within 7 days.
    expect(await checkRotationPolicies(t.db, { ...settings, now: () => new Date('2026-03-20T00:00:00Z') })).toEqual([]);
    const outcomes = await checkRotationPolicies(t.db, { ...settings, now: () => new Date('2026-03-30T00:00:00Z') });
    expect(outcomes).toEqual([expect.objectContaining({ policy_id: policy.body.id, resource_id: ids['ci-deployer-key'], outcome: 'rotated' })]);
    const keys = [...aws.users.get(USER)!.keys()];
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toBe(OLD_KEY);
    for (const arn of [ARN_1, ARN_2]) expect(JSON.parse(aws.secrets.get(arn)!.versions.get(aws.secrets.get(arn)!.current)!).access_key_id).toBe(keys[0]);
    await request(t.app).delete(`/v1/rotation-policies/${policy.body.id as string}`).set(as(owner)).expect(204);
  });
});

describe('AWS IAM access keys', () => {
  test('a dry run answers the exact steps from the confirmed links', async () => {
    resetAws();
    const created = aws.hits.CreateAccessKey ?? 0;
    const plan = await rotate('ci-deployer-key', {}, '?dry_run=true');
    expect(plan.status).toBe(200);
    expect(plan.body).toMatchObject({ dry_run: true, credential_type: 'aws_iam_access_key', credential_id: ids['ci-deployer-key'], account_id: accounts.aws, application_id: USER, key_id: OLD_KEY, key_vault_secrets: [], lifetime_days: 180, overlap_hours: 24 });
    expect(plan.body.stores).toEqual([
      { type: 'aws_secretsmanager_secret', resource_id: ids['ci/deployer'], account_id: accounts.aws, target: ARN_1 },
      { type: 'aws_secretsmanager_secret', resource_id: ids['ci/deployer-dr'], account_id: accounts.aws, target: ARN_2 },
    ]);
    expect(plan.body.steps.map((s: { name: string; target: string }) => [s.name, s.target])).toEqual([['create', USER], ['write', ARN_1], ['write', ARN_2], ['verify', USER], ['revoke', OLD_KEY]]);
    expect(aws.hits.CreateAccessKey ?? 0).toBe(created);
  });

  test('creates a key, writes both secrets, verifies with STS, and revokes the old key after the overlap', async () => {
    resetAws();
    const deactivations = aws.hits.UpdateAccessKey ?? 0;
    const response = await rotate('ci-deployer-key', { overlap_hours: 24 });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ status: 'revoke_scheduled', credential_type: 'aws_iam_access_key', key_id: OLD_KEY, error: null });
    const newKey = response.body.new_key_id as string;
    expect(newKey).toMatch(/^AKIA/);
    const keys = aws.users.get(USER)!;
    expect([...keys.keys()].sort()).toEqual([OLD_KEY, newKey].sort());
    for (const arn of [ARN_1, ARN_2]) {
      const secret = aws.secrets.get(arn)!;
      expect(secret.previous).toBe('v-original');
      expect(JSON.parse(secret.versions.get(secret.current)!)).toEqual({ access_key_id: newKey, secret_access_key: keys.get(newKey)!.secret });
    }
    expect(aws.hits.GetCallerIdentity).toBeGreaterThanOrEqual(1);

    expectError(seen(await rotate('ci-deployer-key')), 409, 'conflict');

    const settings = rotationSettings({ ...t.config }, TEST_SECRET);
    expect(await revokeDueRotations(t.db, { ...settings, now: () => new Date(Date.now() + 23 * 3_600_000) })).toEqual([]);
    expect(keys.get(OLD_KEY)?.status).toBe('Active');
    const [revoked] = await revokeDueRotations(t.db, { ...settings, now: () => new Date(Date.now() + 25 * 3_600_000) }, { rotation_id: response.body.id as string });
    expect(revoked?.status).toBe('succeeded');
    expect([...keys.keys()]).toEqual([newKey]);
    expect(aws.hits.UpdateAccessKey).toBe(deactivations + 1);

    const history = seen(await request(t.app).get(`/v1/rotations/${response.body.id as string}`).set(as(owner)).expect(200));
    expect(steps(history.body)).toEqual([
      ['create', newKey, 'succeeded', null],
      ['write', ARN_1, 'succeeded', null],
      ['write', ARN_2, 'succeeded', null],
      ['verify', USER, 'succeeded', null],
      ['revoke', OLD_KEY, 'succeeded', null],
    ]);
    expect(history.body.steps.every((s: { started_at: string | null; finished_at: string | null }) => s.started_at !== null && s.finished_at !== null)).toBe(true);
  });

  test('a failure writing the second secret deletes the new key and moves AWSCURRENT back on the first', async () => {
    resetAws();
    aws.fail.add(`PutSecretValue:${ARN_2}`);
    const response = await rotate('ci-deployer-key', { overlap_hours: 0 });
    expect(response.status).toBe(201);
    expect(response.body.status).toBe('failed');
    expect(response.body.error).toEqual({ step: 'write', message: expect.stringContaining('AccessDeniedException') });
    expect(steps(response.body)).toEqual([
      ['create', response.body.new_key_id, 'succeeded', 'rolled_back'],
      ['write', ARN_1, 'succeeded', 'rolled_back'],
      ['write', ARN_2, 'failed', 'nothing_to_roll_back'],
      ['verify', USER, 'skipped', null],
      ['revoke', OLD_KEY, 'skipped', null],
    ]);
    expect([...aws.users.get(USER)!.keys()]).toEqual([OLD_KEY]);
    expect(aws.secrets.get(ARN_1)!.current).toBe('v-original');
    expect(aws.secrets.get(ARN_2)!.current).toBe('v-original');
    expect(aws.hits.UpdateSecretVersionStage).toBeGreaterThanOrEqual(1);
  });

  test('a user holding two keys already: a clear failure, nothing written', async () => {
    resetAws();
    aws.users.get(USER)!.set('AKIASECONDKEY0000001', { secret: 'x', status: 'Active' });
    const response = await rotate('ci-deployer-key', { overlap_hours: 0 });
    expect(response.body.status).toBe('failed');
    expect(response.body.error.step).toBe('create');
    expect(response.body.error.message).toMatch(/two access keys already.*LimitExceeded/);
    expect(response.body.steps[0].rollback_status).toBe('nothing_to_roll_back');
    expect(aws.secrets.get(ARN_1)!.versions.size).toBe(1);
  });

  test('an old key IAM no longer lists: the create step fails before any key is made', async () => {
    resetAws();
    aws.users.get(USER)!.clear();
    const created = aws.hits.CreateAccessKey ?? 0;
    const response = await rotate('ci-deployer-key', { overlap_hours: 0 });
    expect(response.status).toBe(201);
    expect(response.body.status).toBe('failed');
    expect(response.body.error).toEqual({ step: 'create', message: `IAM user ${USER} has no access key ${OLD_KEY}` });
    expect(aws.hits.CreateAccessKey ?? 0).toBe(created);
    expect(aws.users.get(USER)!.size).toBe(0);
    expect(aws.secrets.get(ARN_1)!.versions.size).toBe(1);
  });
});

describe('a Secrets Manager secret with its own rotation function', () => {
  test('a dry run plans rotate then verify, with no link needed', async () => {
    resetAws();
    const plan = await rotate('orders/db-password', {}, '?dry_run=true');
    expect(plan.status).toBe(200);
    expect(plan.body).toMatchObject({ credential_type: 'aws_secretsmanager_secret', application_id: DB_ARN, key_id: DB_ARN, stores: [] });
    expect(plan.body.steps.map((s: { name: string; target: string }) => [s.name, s.target])).toEqual([['rotate', DB_ARN], ['verify', DB_ARN]]);
    expect(aws.hits.RotateSecret ?? 0).toBe(0);
  });

  test('RotateSecret runs the function; the rotation succeeds once AWSCURRENT moved and no AWSPENDING is left', async () => {
    resetAws();
    const described = aws.hits.DescribeSecret ?? 0;
    const response = await rotate('orders/db-password');
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ status: 'succeeded', credential_type: 'aws_secretsmanager_secret', error: null, revoke_at: null, new_expires_at: null });
    const secret = aws.secrets.get(DB_ARN)!;
    expect(response.body.new_key_id).toBe(secret.current);
    expect(secret.current).not.toBe('v-original');
    expect(secret.previous).toBe('v-original');
    expect(secret.pending).toBeNull();
    expect(steps(response.body)).toEqual([
      ['rotate', secret.current, 'succeeded', null],
      ['verify', DB_ARN, 'succeeded', null],
    ]);
    // Described before RotateSecret, then polled until the function ended (on the second description).
    expect((aws.hits.DescribeSecret ?? 0) - described).toBeGreaterThanOrEqual(3);
    expect(aws.hits.GetSecretValue).toBeUndefined();
    expect(response.text).not.toContain(secret.versions.get(secret.current)!);
  });

  test('a rotation function that fails: failed at verify with the stages, AWSPENDING removed, AWSCURRENT untouched', async () => {
    resetAws();
    aws.secrets.get(DB_ARN)!.rotation = 'fails';
    const response = await rotate('orders/db-password');
    expect(response.body.status).toBe('failed');
    const secret = aws.secrets.get(DB_ARN)!;
    const version = response.body.new_key_id as string;
    expect(secret.versions.has(version)).toBe(true);
    expect(response.body.error).toEqual({ step: 'verify', message: `the rotation function of ${DB_ARN} did not finish within 1 seconds: AWSCURRENT is on version v-original (unchanged), AWSPENDING on ${version} (see the function's CloudWatch logs)` });
    expect(steps(response.body)).toEqual([
      ['rotate', version, 'succeeded', 'rolled_back'],
      ['verify', DB_ARN, 'failed', 'nothing_to_roll_back'],
    ]);
    expect(secret.current).toBe('v-original');
    expect(secret.pending).toBeNull();
    // The stages are clean again: the next rotation can start.
    secret.rotation = 'succeeds';
    expect((await rotate('orders/db-password')).body.status).toBe('succeeded');
  });

  test('a function that moved AWSCURRENT and then failed: verify fails, the rollback moves AWSCURRENT back and removes AWSPENDING', async () => {
    resetAws();
    aws.secrets.get(DB_ARN)!.rotation = 'moves_then_fails';
    const moves = aws.hits.UpdateSecretVersionStage ?? 0;
    const response = await rotate('orders/db-password');
    expect(response.body.status).toBe('failed');
    const version = response.body.new_key_id as string;
    expect(response.body.error).toEqual({ step: 'verify', message: `the rotation function of ${DB_ARN} did not finish within 1 seconds: AWSCURRENT is on version ${version}, AWSPENDING on ${version} (see the function's CloudWatch logs)` });
    expect(steps(response.body)).toEqual([
      ['rotate', version, 'succeeded', 'rolled_back'],
      ['verify', DB_ARN, 'failed', 'nothing_to_roll_back'],
    ]);
    const secret = aws.secrets.get(DB_ARN)!;
    // UpdateSecretVersionStage twice: AWSCURRENT back to the version that held it, then AWSPENDING off.
    expect((aws.hits.UpdateSecretVersionStage ?? 0) - moves).toBe(2);
    expect(secret.current).toBe('v-original');
    expect(secret.previous).toBe(version);
    expect(secret.pending).toBeNull();
  });

  test('when Secrets Manager refuses the stage moves: both are tried, and rollback_failed names both', async () => {
    resetAws();
    const secret = aws.secrets.get(DB_ARN)!;
    secret.rotation = 'moves_then_fails';
    const moves = aws.hits.UpdateSecretVersionStage ?? 0;
    aws.fail.add(`UpdateSecretVersionStage:${DB_ARN}`);
    const response = await rotate('orders/db-password');
    aws.fail.clear();
    const version = response.body.new_key_id as string;
    expect(steps(response.body)).toEqual([
      ['rotate', version, 'succeeded', 'rollback_failed'],
      ['verify', DB_ARN, 'failed', 'nothing_to_roll_back'],
    ]);
    const rollbackError = response.body.steps[0].rollback_error as string;
    expect(rollbackError).toContain(`AWSCURRENT not moved back to v-original: Secrets Manager (UpdateSecretVersionStage ${DB_ARN}) answered AccessDeniedException`);
    expect(rollbackError).toContain(`AWSPENDING not removed from ${version}`);
    expect((aws.hits.UpdateSecretVersionStage ?? 0) - moves).toBe(2);
    // Nothing moved: the new version stays current, for a person to decide.
    expect(secret.current).toBe(version);
    expect(secret.pending).toBe(version);
  });

  test('RotateSecret refused: failed at rotate, nothing to roll back; a secret without rotation: 422', async () => {
    resetAws();
    aws.fail.add('RotateSecret');
    const response = await rotate('orders/db-password');
    expect(response.body.status).toBe('failed');
    expect(response.body.error).toEqual({ step: 'rotate', message: expect.stringContaining('AccessDeniedException') });
    expect(steps(response.body)).toEqual([
      ['rotate', DB_ARN, 'failed', 'nothing_to_roll_back'],
      ['verify', DB_ARN, 'skipped', null],
    ]);
    expect(aws.secrets.get(DB_ARN)!.current).toBe('v-original');
    const refused = seen(await rotate('ci/deployer'));
    expectError(refused, 422, 'credential_not_rotatable');
    expect(refused.body.error.message).toContain('rotation is not enabled');
  });
});

describe('GCP service-account keys', () => {
  test('an old key IAM answers 404 for: the create step fails before any key is made', async () => {
    resetGcp();
    gcp.serviceAccounts.get(SA)!.clear();
    const created = gcp.hits.createKey ?? 0;
    const response = await rotate('payments-sa-key', { overlap_hours: 0 });
    expect(response.status).toBe(201);
    expect(response.body.status).toBe('failed');
    expect(response.body.error).toEqual({ step: 'create', message: `service account ${SA} has no key ${OLD_GCP_KEY}` });
    expect(gcp.hits.createKey ?? 0).toBe(created);
    expect(gcp.secrets.get(GCP_SECRET)).toHaveLength(1);
  });

  test('creates a key, adds a version holding its key file, verifies by a token exchange, deletes the old key at once', async () => {
    resetGcp();
    const response = await rotate('payments-sa-key', { overlap_hours: 0 });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ status: 'succeeded', credential_type: 'google_service_account_key', application_id: SA, key_id: OLD_GCP_KEY });
    const newKey = response.body.new_key_id as string;
    expect([...gcp.serviceAccounts.get(SA)!.keys()]).toEqual([newKey]);
    const versions = gcp.secrets.get(GCP_SECRET)!;
    expect(versions).toHaveLength(2);
    expect(JSON.parse(versions[1]!.value)).toMatchObject({ type: 'service_account', client_email: SA, private_key_id: newKey });
    expect(gcp.hits.token).toBeGreaterThanOrEqual(1);
    expect(steps(response.body)).toEqual([
      ['create', newKey, 'succeeded', null],
      ['write', GCP_SECRET, 'succeeded', null],
      ['verify', SA, 'succeeded', null],
      ['revoke', OLD_GCP_KEY, 'succeeded', null],
    ]);
  });

  test('a refused token exchange disables the new version and deletes the new key', async () => {
    resetGcp();
    gcp.fail.add('token');
    const response = await rotate('payments-sa-key', { overlap_hours: 0 });
    expect(response.body.status).toBe('failed');
    expect(response.body.error).toEqual({ step: 'verify', message: expect.stringContaining('invalid_grant') });
    expect(response.body.steps.map((s: { rollback_status: string | null }) => s.rollback_status)).toEqual(['rolled_back', 'rolled_back', 'nothing_to_roll_back', null]);
    expect([...gcp.serviceAccounts.get(SA)!.keys()]).toEqual([OLD_GCP_KEY]);
    expect(gcp.secrets.get(GCP_SECRET)!.map((v) => v.state)).toEqual(['ENABLED', 'DISABLED']);
  });
});

describe('an Entra ID password linked to AWS and GCP stores', () => {
  test('is written into both, verified, and the old password removed', async () => {
    resetAws();
    resetGcp();
    azure.fail = {};
    azure.application.passwords.clear();
    azure.application.passwords.set(ENTRA_KEY, 'original-entra-secret');
    const response = await rotate('payments-api-secret', { overlap_hours: 0 });
    expect(response.status).toBe(201);
    expect(response.body.status).toBe('succeeded');
    const newKey = response.body.new_key_id as string;
    const secret = azure.application.passwords.get(newKey)!;
    expect([...azure.application.passwords.keys()]).toEqual([newKey]);
    const stored = aws.secrets.get(ENTRA_SECRETS.aws)!;
    expect(stored.versions.get(stored.current)).toBe(secret);
    expect(gcp.secrets.get(ENTRA_SECRETS.gcp)!.at(-1)).toEqual({ value: secret, state: 'ENABLED' });
    expect(steps(response.body).map((s) => s.slice(0, 3))).toEqual([
      ['create', newKey, 'succeeded'],
      ['write', ENTRA_SECRETS.aws, 'succeeded'],
      ['write', ENTRA_SECRETS.gcp, 'succeeded'],
      ['verify', azure.application.id, 'succeeded'],
      ['revoke', ENTRA_KEY, 'succeeded'],
    ]);
  });
});

describe('a rotation whose process stopped after writing AWS and GCP stores', () => {
  /** Rotates the Entra ID password, then makes the row look as if its process had stopped while verifying, an hour ago. */
  async function interruptedAfterWrites(): Promise<{ id: string; newKey: string; steps: { written_version?: string }[] }> {
    resetAws();
    resetGcp();
    azure.fail = {};
    azure.application.passwords.clear();
    azure.application.passwords.set(ENTRA_KEY, 'original-entra-secret');
    const made = await rotate('payments-api-secret', { overlap_hours: 24 });
    expect(made.body.status).toBe('revoke_scheduled');
    const interrupted = (made.body.steps as { name: string }[]).map((step) => (step.name === 'verify' || step.name === 'revoke' ? { ...step, outcome: 'pending', finished_at: null, ...(step.name === 'revoke' ? { started_at: null } : {}) } : step));
    await t.db
      .updateTable('rotations')
      .set({ status: 'running', revoke_at: null, steps: JSON.stringify(interrupted), created_at: new Date(Date.now() - 3_600_000) })
      .where('id', '=', made.body.id as string)
      .execute();
    return { id: made.body.id as string, newKey: made.body.new_key_id as string, steps: made.body.steps as { written_version?: string }[] };
  }

  test('the sweep returns both entries by the versions their steps recorded, then removes the new password', async () => {
    const { id, newKey, steps: written } = await interruptedAfterWrites();
    const awsVersion = aws.secrets.get(ENTRA_SECRETS.aws)!.current;
    expect(written[1]!.written_version).toBe(awsVersion);
    expect(written[2]!.written_version).toBe(`${ENTRA_SECRETS.gcp}/versions/2`);
    const [ended] = await revokeDueRotations(t.db, rotationSettings({ ...t.config }, TEST_SECRET));
    expect(ended?.id).toBe(id);
    const after = seen(await request(t.app).get(`/v1/rotations/${id}`).set(as(owner)).expect(200));
    expect(after.body).toMatchObject({ status: 'failed', error: { step: 'verify', message: 'the process running this rotation stopped before it ended' } });
    expect(steps(after.body)).toEqual([
      ['create', newKey, 'succeeded', 'rolled_back'],
      ['write', ENTRA_SECRETS.aws, 'succeeded', 'rolled_back'],
      ['write', ENTRA_SECRETS.gcp, 'succeeded', 'rolled_back'],
      ['verify', azure.application.id, 'failed', 'nothing_to_roll_back'],
      ['revoke', ENTRA_KEY, 'skipped', null],
    ]);
    const stored = aws.secrets.get(ENTRA_SECRETS.aws)!;
    expect(stored.current).toBe('v-original');
    expect(gcp.secrets.get(ENTRA_SECRETS.gcp)!.map((v) => v.state)).toEqual(['ENABLED', 'DISABLED']);
    expect([...azure.application.passwords.keys()]).toEqual([ENTRA_KEY]);
  });

  test('a Secrets Manager secret written again since is left alone: rollback_failed saying so, and the new password kept', async () => {
    const { id, newKey } = await interruptedAfterWrites();
    const stored = aws.secrets.get(ENTRA_SECRETS.aws)!;
    const ours = stored.current;
    stored.versions.set('v-by-hand', 'set-by-hand');
    Object.assign(stored, { previous: ours, current: 'v-by-hand' });
    await revokeDueRotations(t.db, rotationSettings({ ...t.config }, TEST_SECRET));
    const after = seen(await request(t.app).get(`/v1/rotations/${id}`).set(as(owner)).expect(200));
    expect(steps(after.body)).toEqual([
      ['create', newKey, 'succeeded', 'rollback_failed'],
      ['write', ENTRA_SECRETS.aws, 'succeeded', 'rollback_failed'],
      ['write', ENTRA_SECRETS.gcp, 'succeeded', 'rolled_back'],
      ['verify', azure.application.id, 'failed', 'nothing_to_roll_back'],
      ['revoke', ENTRA_KEY, 'skipped', null],
    ]);
    expect(after.body.steps[1].rollback_error).toBe(`AWSCURRENT of ${ENTRA_SECRETS.aws} is on version v-by-hand, no longer the one this rotation wrote (${ours}): left as it is`);
    expect(after.body.steps[0].rollback_error).toBe('kept: store entries hold the new credential');
    expect(stored.current).toBe('v-by-hand');
    expect(azure.application.passwords.has(newKey)).toBe(true);
  });
});

describe('refusals', () => {
  test('no confirmed link, a credential that cannot be rotated, a mixed request: 422; starter past its limit: 403', async () => {
    const unlinked = await request(t.app).post('/v1/credential-links').set(as(owner)).send({ credential_resource_id: ids['root-key'], store_resource_id: ids['ci/deployer'] }).expect(201);
    expectError(seen(await rotate('root-key')), 422, 'credential_not_rotatable');
    await request(t.app).delete(`/v1/credential-links/${unlinked.body.id as string}`).set(as(owner)).expect(204);
    expectError(seen(await rotate('ci/deployer')), 422, 'credential_not_rotatable');
    const links = (await request(t.app).get(`/v1/resources/${ids['payments-sa-key']}/credential-links`).set(as(owner)).expect(200)).body.data as { id: string }[];
    await request(t.app).patch(`/v1/credential-links/${links[0]!.id}`).set(as(owner)).send({ status: 'rejected' }).expect(200);
    const none = seen(await rotate('payments-sa-key'));
    expectError(none, 422, 'no_confirmed_store');
    expect(none.body.error.message).toContain('no confirmed credential link');
    await request(t.app).patch(`/v1/credential-links/${links[0]!.id}`).set(as(owner)).send({ status: 'confirmed' }).expect(200);
    expectError(seen(await rotate('ci-deployer-key', { key_id: OLD_KEY })), 422, 'validation_failed');
    expectError(seen(await request(t.app).post('/v1/rotations').set(as(owner)).send({ lifetime_days: 30 })), 422, 'validation_failed');
    expectError(seen(await request(t.app).post('/v1/rotations').set(as(owner)).send({ credential_id: 'res_00000000000000000000000000' })), 404, 'not_found');

    await t.db.updateTable('organizations').set({ plan: 'starter' }).execute();
    const used = await sql<{ n: number }>`select count(*)::int as n from rotations where created_at >= date_trunc('month', now())`.execute(t.db);
    expect(used.rows[0]!.n).toBeGreaterThanOrEqual(3);
    resetGcp();
    const refused = seen(await rotate('payments-sa-key', { overlap_hours: 0 }));
    expectError(refused, 403, 'plan_limit_reached');
    expect(gcp.hits.createKey).toBe(2);
    await t.db.updateTable('organizations').set({ plan: 'pro' }).execute();
  });
});

describe('must show 5: the generated credentials are nowhere', () => {
  test('not in any table of the database, the logs or any response', async () => {
    const generated = [...aws.generated, ...gcp.generated, ...azure.generated];
    expect(aws.generated.length).toBeGreaterThanOrEqual(2);
    expect(gcp.generated.length).toBeGreaterThanOrEqual(4);
    const tables = await sql<{ schema: string; name: string }>`
      select table_schema as schema, table_name as name from information_schema.tables
      where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`.execute(t.db);
    let dump = '';
    for (const table of tables.rows) {
      const rows = await sql`select * from ${sql.id(table.schema, table.name)}`.execute(t.db);
      dump += JSON.stringify(rows.rows, (_key, value: unknown) => (Buffer.isBuffer(value) ? value.toString('latin1') : value));
    }
    expect(dump).toContain(SA);
    const logs = JSON.stringify(t.logs);
    const responses = bodies.join('\n');
    for (const secret of generated) {
      // A private key (alone, or in a key file where JSON escapes its newlines): look for a line of its base64 body.
      const needle = /PRIVATE KEY-----(?:\\n|\n)([A-Za-z0-9+/=]{40,})/.exec(secret)?.[1] ?? secret;
      expect(needle.length).toBeGreaterThanOrEqual(20);
      expect(dump).not.toContain(needle);
      expect(logs).not.toContain(needle);
      expect(responses).not.toContain(needle);
    }
  });
});
