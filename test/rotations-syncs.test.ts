import request, { type Response } from 'supertest';
import { as, useTestApp } from './support/app';
import { azureEndpoints, startAzureStandIn, type AzureStandIn } from './support/azure-stand-in';
import { testServiceAccountKey } from './support/cloud-stand-ins';
import { startAwsSyncStandIn, startGcpSyncStandIn, type AwsSyncStandIn, type GcpSyncStandIn } from './support/sync-stand-ins';

// Rotation and sync compose: a rotation that wrote a Key Vault secret a sync covers has the sync
// copy it to AWS and GCP in the same rotation, through the HTTP API and the workers.

const AWS_ACCOUNT = '123456789012';
const AWS_KEY_ID = 'AKIAROTATIONSYNC0001';
const GCP_PROJECT = 'payments-dr';
const VAULT = 'payments-kv';
const SECRET = 'payments-api-client-secret';
const SECRET_URI = `https://${VAULT}.vault.azure.net/secrets/${SECRET}`;
const COPY = `azure-${VAULT}-${SECRET}`;
const ORIGINAL = 'original-client-secret-value-5b1d7e3f9a';

let azure: AzureStandIn;
let aws: AwsSyncStandIn;
let gcp: GcpSyncStandIn;

beforeAll(async () => {
  azure = startAzureStandIn();
  [aws, gcp] = await Promise.all([startAwsSyncStandIn(AWS_ACCOUNT, AWS_KEY_ID), startGcpSyncStandIn(GCP_PROJECT)]);
});
afterAll(async () => {
  azure.close();
  await Promise.all([aws.close(), gcp.close()]);
});

const t = useTestApp(
  () => ({
    SECRETS_KEY: 'rotation-sync-test-secrets-key-0123456789',
    ROTATION_VERIFY_SECONDS: '0',
    ...azureEndpoints(azure.url),
    DISCOVERY_AWS_ENDPOINT: aws.url,
    DISCOVERY_GCP_ENDPOINT: gcp.url,
  }),
  { workers: true },
);

/** Every response body, searched for the generated secrets at the end. */
const bodies: string[] = [];
function seen(response: Response): Response {
  bodies.push(response.text);
  return response;
}

let owner: string;
const accounts: Record<'azure' | 'aws' | 'gcp', string> = { azure: '', aws: '', gcp: '' };
let syncId: string;

type Run = { id: string; status: string; trigger: string; rotation_id: string | null; only_items: string[] | null; results: { item_name: string; target_service: string; outcome: string; error: string | null }[] };
const outcomes = (run: Run) => Object.fromEntries(run.results.map((r) => [r.target_service, r.outcome]));

async function connect(provider: 'azure' | 'aws' | 'gcp', externalId: string, connection: object): Promise<void> {
  const account = seen(await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider, external_id: externalId, name: provider }).expect(201));
  accounts[provider] = account.body.id as string;
  seen(await request(t.app).put(`/v1/accounts/${accounts[provider]}/connection`).set(as(owner)).send({ ...connection, audit_after_scan: false }).expect(200));
}

/** The sync's run a rotation started, once it ended. */
async function rotationRun(rotationId: string): Promise<Run> {
  for (let i = 0; i < 240; i++) {
    const runs = seen(await request(t.app).get(`/v1/syncs/${syncId}/runs`).set(as(owner)).expect(200));
    const run = (runs.body.data as Run[]).find((r) => r.rotation_id === rotationId);
    if (run === undefined) throw new Error(`rotation ${rotationId} started no run of the sync`);
    if (!['queued', 'running'].includes(run.status)) return run;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('the sync run did not end');
}

async function rotate(keyId: string): Promise<Response> {
  return seen(
    await request(t.app)
      .post('/v1/rotations')
      .set(as(owner))
      .send({ account_id: accounts.azure, application_id: azure.application.id, key_id: keyId, key_vault_secrets: [SECRET_URI], overlap_hours: 24 }),
  );
}

beforeAll(async () => {
  owner = await t.ownerToken();
  await t.db.updateTable('organizations').set({ plan: 'pro' }).execute();
  await connect('azure', '8f2a6b1c-3d4e-4f5a-9b6c-7d8e9f0a1b2c', { kind: 'azure_service_principal', tenant_id: azure.tenantId, client_id: azure.connection.clientId, client_secret: azure.connection.clientSecret });
  await connect('aws', AWS_ACCOUNT, { kind: 'aws_access_key', access_key_id: AWS_KEY_ID, secret_access_key: 'aws-secret-access-key-for-rotation-sync' });
  await connect('gcp', GCP_PROJECT, { kind: 'gcp_service_account', service_account_key: testServiceAccountKey(GCP_PROJECT).keyJson });
  azure.setSecret(VAULT, SECRET, { value: ORIGINAL, contentType: 'text/plain', exp: 1_800_000_000 });
  const sync = seen(
    await request(t.app)
      .post('/v1/syncs')
      .set(as(owner))
      .send({
        name: 'Payments client secret to AWS and GCP',
        source: { account_id: accounts.azure, vault_name: VAULT, name_pattern: 'payments-*', kinds: ['secret'] },
        targets: [
          { account_id: accounts.aws, service: 'aws_secrets_manager', region: 'eu-central-1' },
          { account_id: accounts.gcp, service: 'gcp_secret_manager', region: null },
        ],
        naming_template: 'azure-{vault}-{name}',
      })
      .expect(201),
  );
  syncId = sync.body.id as string;
  // The copies exist before any rotation, holding the original secret.
  const started = seen(await request(t.app).post(`/v1/syncs/${syncId}/run`).set(as(owner)).expect(202));
  for (let i = 0; i < 240; i++) {
    const run = seen(await request(t.app).get(`/v1/syncs/${syncId}/runs/${started.body.id as string}`).set(as(owner)).expect(200));
    if (!['queued', 'running'].includes(run.body.status as string)) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  expect(aws.secrets.get(COPY)?.value).toBe(ORIGINAL);
  expect(gcp.secrets.get(COPY)?.versions).toEqual([ORIGINAL]);
  // Three connections and a sync run through the workers: longer than a test's 30 s on a loaded machine.
}, 120_000);

describe('a rotated Key Vault secret that a sync covers', () => {
  test('is copied to AWS and GCP by a run the rotation started (trigger rotation), before the old password is removed', async () => {
    const oldKeyId = '0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b';
    azure.application.passwords.set(oldKeyId, ORIGINAL);
    const response = await rotate(oldKeyId);
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ status: 'revoke_scheduled', error: null });
    const rotationId = response.body.id as string;
    const newSecret = azure.application.passwords.get(response.body.new_key_id as string)!;
    expect(azure.secrets.get(`${VAULT}/${SECRET}`)!.at(-1)!.value).toBe(newSecret);

    // The run exists as the rotation answers: no one else asked for it.
    const run = await rotationRun(rotationId);
    expect(run).toMatchObject({ trigger: 'rotation', rotation_id: rotationId, only_items: [SECRET], status: 'succeeded' });
    expect(outcomes(run)).toEqual({ aws_secrets_manager: 'updated', gcp_secret_manager: 'updated' });
    expect(aws.secrets.get(COPY)!.value).toBe(newSecret);
    expect(gcp.secrets.get(COPY)!.versions).toEqual([ORIGINAL, newSecret]);
    // The overlap has not passed: the copies carry the new secret while the old one still works.
    expect(azure.application.passwords.has(oldKeyId)).toBe(true);
    const rotation = seen(await request(t.app).get(`/v1/rotations/${rotationId}`).set(as(owner)).expect(200));
    expect(rotation.body.status).toBe('revoke_scheduled');

    const log = seen(await request(t.app).get('/v1/audit-log').set(as(owner)).query({ action: 'startSyncRun' }).expect(200));
    expect(log.body.data).toEqual(expect.arrayContaining([expect.objectContaining({ target_id: syncId, actor: expect.objectContaining({ type: 'system' }) })]));
  });

  test('a target that refuses the copy: the rotation stands (revoke_scheduled), the run is partially_succeeded naming the target, and a run by hand repairs it', async () => {
    const oldKeyId = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
    azure.application.passwords.set(oldKeyId, ORIGINAL);
    const before = aws.secrets.get(COPY)!.value;
    aws.failing.add('PutSecretValue');
    let newSecret: string;
    try {
      const response = await rotate(oldKeyId);
      expect(response.status).toBe(201);
      // The new secret is in Key Vault and verified: a copy elsewhere failing does not undo that.
      expect(response.body).toMatchObject({ status: 'revoke_scheduled', error: null });
      expect(response.body.steps.map((s: { name: string; outcome: string }) => `${s.name}:${s.outcome}`)).toEqual(['create:succeeded', 'write:succeeded', 'verify:succeeded', 'revoke:pending']);
      newSecret = azure.application.passwords.get(response.body.new_key_id as string)!;
      const run = await rotationRun(response.body.id as string);
      expect(run).toMatchObject({ trigger: 'rotation', status: 'partially_succeeded' });
      expect(outcomes(run)).toEqual({ aws_secrets_manager: 'failed', gcp_secret_manager: 'updated' });
      expect(run.results.find((r) => r.target_service === 'aws_secrets_manager')!.error).toMatch(/InvalidRequestException: PutSecretValue failed/);
      expect(aws.secrets.get(COPY)!.value).toBe(before);
      expect(gcp.secrets.get(COPY)!.versions.at(-1)).toBe(newSecret);
    } finally {
      aws.failing.delete('PutSecretValue');
    }
    const again = seen(await request(t.app).post(`/v1/syncs/${syncId}/run`).set(as(owner)).expect(202));
    let repaired: Run | undefined;
    for (let i = 0; i < 240; i++) {
      repaired = seen(await request(t.app).get(`/v1/syncs/${syncId}/runs/${again.body.id as string}`).set(as(owner)).expect(200)).body as Run;
      if (!['queued', 'running'].includes(repaired.status)) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(outcomes(repaired!)).toEqual({ aws_secrets_manager: 'updated', gcp_secret_manager: 'unchanged' });
    expect(aws.secrets.get(COPY)!.value).toBe(newSecret);
  });

  test('the generated secrets are in no response and no log line', () => {
    expect(azure.generated.length).toBeGreaterThanOrEqual(2);
    const answered = bodies.join('\n');
    const logs = JSON.stringify(t.logs);
    expect(answered).toContain(COPY);
    for (const secret of azure.generated) {
      expect(answered).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
  });
});
