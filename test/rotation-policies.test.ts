import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import request, { type Response } from 'supertest';
import { newId } from '../src/ids';
import { insertResources } from '../src/resources/resources.repository';
import { checkRotationPolicies } from '../src/rotation-policies/rotation-policy-check';
import { rotationSettings } from '../src/workers';
import { as, TEST_SECRET, useTestApp } from './support/app';
import { azureEndpoints, startAzureStandIn, type AzureStandIn } from './support/azure-stand-in';
import { expectError } from './support/expectations';

const SECRETS_KEY = 'rotation-policy-test-secrets-key-0123456789';
const DAY_MS = 86_400_000;
let cloud: AzureStandIn;

beforeAll(async () => {
  cloud = startAzureStandIn();
});
afterAll(async () => cloud.close());

const t = useTestApp(() => ({ SECRETS_KEY, ROTATION_VERIFY_SECONDS: '0', ...azureEndpoints(cloud.url) }), { workers: true });

const bodies: string[] = [];
function seen(response: Response): Response {
  bodies.push(response.text);
  return response;
}

const PRIMARY = 'https://payments-kv.vault.azure.net/secrets/payments-api-client-secret';
const ORIGINAL = 'original-client-secret-value-policy-0123';
const DUE_KEY = '0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b';
const EXCLUDED_KEY = '1a9e8d7c-6b5a-4938-8271-605f4e3d2c1b';
const LATER_KEY = '2b9e8d7c-6b5a-4938-8271-605f4e3d2c1b';
let owner: string;
let accountId: string;
let organizationId: string;

const setPlan = (plan: 'starter' | 'pro') => t.db.updateTable('organizations').set({ plan }).where('id', '=', organizationId).execute();
const check = (now = new Date()) => checkRotationPolicies(t.db, { ...rotationSettings(t.config, TEST_SECRET), jobs: t.jobs, now: () => now });

/**
 * The inventory a scan of the Entra ID tenant and the vault gives (Terraform's resource types and
 * attribute names): three application passwords (one due, one excluded by name, one expiring
 * later) and the Key Vault secret whose tag names the due one.
 */
async function seedInventory(now: number): Promise<void> {
  const row = (type: string, name: string, nativeId: string, tags: Record<string, string>, attributes: Record<string, unknown>) => ({
    id: newId('res'),
    organization_id: organizationId,
    account_id: accountId,
    provider: 'azure' as const,
    type,
    native_id: nativeId,
    region: null,
    name,
    tags,
    attributes,
    relationships: [],
    content_hash: createHash('sha256').update(nativeId).digest('hex'),
    version: 1,
    first_seen_at: new Date(now),
    last_seen_at: new Date(now),
    status: 'active' as const,
  });
  const password = (name: string, keyId: string, days: number) =>
    row('azuread_application_password', name, `/applications/${cloud.application.id}/password/${keyId}`, {}, {
      application_id: `/applications/${cloud.application.id}`,
      key_id: keyId,
      display_name: name,
      end_date: new Date(now + days * DAY_MS).toISOString(),
    });
  await insertResources(t.db, [
    password('payments-api', DUE_KEY, 10),
    password('payments-break-glass', EXCLUDED_KEY, 10),
    password('payments-batch', LATER_KEY, 90),
    row('azurerm_key_vault_secret', 'payments-api-client-secret', `${PRIMARY}/0123456789abcdef0123456789abcdef`, { 'fourfold-credential': DUE_KEY }, { versionless_id: PRIMARY, name: 'payments-api-client-secret' }),
  ]);
}

beforeAll(async () => {
  owner = await t.ownerToken();
  organizationId = (await request(t.app).get('/v1/me').set(as(owner))).body.organization.id;
  const account = await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'azure', external_id: '8f2a6b1c-3d4e-4f5a-9b6c-7d8e9f0a1b2c', name: 'payments' }).expect(201);
  accountId = account.body.id as string;
  await request(t.app)
    .put(`/v1/accounts/${accountId}/connection`)
    .set(as(owner))
    .send({ kind: 'azure_service_principal', tenant_id: cloud.tenantId, client_id: cloud.connection.clientId, client_secret: cloud.connection.clientSecret, audit_after_scan: false })
    .expect(200);
  for (const keyId of [DUE_KEY, EXCLUDED_KEY, LATER_KEY]) cloud.application.passwords.set(keyId, ORIGINAL);
  cloud.setSecret('payments-kv', 'payments-api-client-secret', { value: ORIGINAL, exp: 1_800_000_000, contentType: 'text/plain', tags: { 'fourfold-credential': DUE_KEY } });
  await seedInventory(Date.now());
});

const policyBody = () => ({ name: 'Payments app secrets', selector: { account_ids: [accountId], name_pattern: 'payments-*' }, exclusions: ['*break-glass*'], days_before_expiry: 30, overlap_hours: 0 });

describe('rotation policies', () => {
  test('need the pro plan to create or change; starter answers 403 plan_required with its details', async () => {
    await setPlan('starter');
    const refused = seen(await request(t.app).post('/v1/rotation-policies').set(as(owner)).send(policyBody()));
    expectError(refused, 403, 'plan_required');
    expect(refused.body.error.details).toEqual([expect.objectContaining({ feature: 'automatic_rotation', required_plan: 'pro', current_plan: 'starter' })]);
    expect(seen(await request(t.app).get('/v1/rotation-policies').set(as(owner)).expect(200)).body.data).toEqual([]);
  });

  test('refuses an empty selector and bad input with 422', async () => {
    await setPlan('pro');
    expectError(seen(await request(t.app).post('/v1/rotation-policies').set(as(owner)).send({ ...policyBody(), selector: { tags: null } })), 422, 'validation_failed');
    expectError(seen(await request(t.app).post('/v1/rotation-policies').set(as(owner)).send({ ...policyBody(), days_before_expiry: 0 })), 422, 'validation_failed');
    const unknownResource = 'res_01JD8X3N5W6Q2R4T7Y9ZABCDEF';
    const unknownAccount = 'acc_01JD8X3N5W6Q2R4T7Y9ZABCDEF';
    const typo = seen(await request(t.app).post('/v1/rotation-policies').set(as(owner)).send({ ...policyBody(), selector: { resource_ids: [unknownResource], account_ids: [accountId, unknownAccount] } }));
    expectError(typo, 422, 'validation_failed');
    expect(typo.body.error.details).toEqual([
      { field: 'body.selector.resource_ids.0', issue: `unknown resource ${unknownResource}` },
      { field: 'body.selector.account_ids.1', issue: `unknown account ${unknownAccount}` },
    ]);
    expectError(seen(await request(t.app).get('/v1/rotation-policies/rpol_00000000000000000000000000').set(as(owner))), 404, 'not_found');
  });

  test('rotate the covered credential that expires within the days, into the Key Vault secret whose tag names it; once', async () => {
    await setPlan('pro');
    const created = seen(await request(t.app).post('/v1/rotation-policies').set(as(owner)).send(policyBody()));
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`/v1/rotation-policies/${created.body.id as string}`);
    expect(created.body).toMatchObject({ enabled: true, lifetime_days: 180, overlap_hours: 0, paused_reason: null, last_checked_at: null, selector: { account_ids: [accountId], tags: null, resource_ids: null, name_pattern: 'payments-*' } });
    const policyId = created.body.id as string;

    const outcomes = await check();
    expect(outcomes).toEqual([expect.objectContaining({ policy_id: policyId, outcome: 'rotated' })]);
    const rotationId = (outcomes[0] as { rotation_id: string }).rotation_id;
    const rotation = seen(await request(t.app).get(`/v1/rotations/${rotationId}`).set(as(owner)).expect(200)).body;
    expect(rotation).toMatchObject({ status: 'succeeded', policy_id: policyId, created_by: null, key_id: DUE_KEY, application_id: cloud.application.id, key_vault_secrets: [PRIMARY] });
    // The excluded and the later credential are untouched; the due one is replaced.
    expect(cloud.application.passwords.has(DUE_KEY)).toBe(false);
    expect(cloud.application.passwords.has(EXCLUDED_KEY)).toBe(true);
    expect(cloud.application.passwords.has(LATER_KEY)).toBe(true);
    expect(cloud.secrets.get('payments-kv/payments-api-client-secret')!.at(-1)!.value).toBe(cloud.application.passwords.get(rotation.new_key_id as string));

    // The inventory still shows the old credential until the next scan: it is not rotated again.
    expect(await check()).toEqual([expect.objectContaining({ outcome: 'already_rotated' })]);
    expect(seen(await request(t.app).get('/v1/rotations').set(as(owner)).expect(200)).body.data).toHaveLength(1);
    // The later credential is due once the clock reaches its days, but no Key Vault secret holds it.
    expect(await check(new Date(Date.now() + 61 * DAY_MS))).toEqual(expect.arrayContaining([expect.objectContaining({ outcome: 'no_store' })]));
    const policy = seen(await request(t.app).get(`/v1/rotation-policies/${policyId}`).set(as(owner)).expect(200)).body;
    expect(policy.last_checked_at).not.toBeNull();
  });

  test('a failed rotation raises rotation_failed in the event feed, and is not retried within a day', async () => {
    await setPlan('pro');
    await t.db.deleteFrom('rotations').execute();
    cloud.application.passwords.set(DUE_KEY, ORIGINAL);
    cloud.fail.verify = true;
    const [failed] = await check();
    cloud.fail = {};
    expect(failed).toMatchObject({ outcome: 'rotation_failed' });
    expect(await check()).toEqual([expect.objectContaining({ outcome: 'recently_failed' })]);
    let events: { data: { items: { rotation: { id: string; policy_id: string; failed_step: string } }[] } }[] = [];
    for (let i = 0; i < 120 && events.length === 0; i++) {
      events = seen(await request(t.app).get('/v1/events').set(as(owner)).query({ type: 'rotation_failed' }).expect(200)).body.data;
      if (events.length === 0) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(events).toHaveLength(1);
    expect(events[0]!.data.items[0]!.rotation).toMatchObject({ id: (failed as { rotation_id: string }).rotation_id, failed_step: 'verify', policy_id: expect.stringMatching(/^rpol_/) });
  });

  test('downgraded: the policy is paused saying why, kept, and can be deleted', async () => {
    await setPlan('starter');
    const [paused] = await check();
    expect(paused).toMatchObject({ outcome: 'paused' });
    const [policy] = seen(await request(t.app).get('/v1/rotation-policies').set(as(owner)).expect(200)).body.data;
    expect(policy.paused_reason).toMatch(/needs the pro plan; this organization is on starter/);
    expectError(seen(await request(t.app).patch(`/v1/rotation-policies/${policy.id as string}`).set(as(owner)).send({ enabled: false })), 403, 'plan_required');
    await request(t.app).delete(`/v1/rotation-policies/${policy.id as string}`).set(as(owner)).expect(204);
    expect(seen(await request(t.app).get('/v1/rotation-policies').set(as(owner)).expect(200)).body.data).toEqual([]);
    // Its rotations stay.
    expect(seen(await request(t.app).get('/v1/rotations').set(as(owner)).expect(200)).body.data[0].policy_id).toBeNull();
  });

  test('no generated secret in any table, response or log', async () => {
    expect(cloud.generated.length).toBeGreaterThanOrEqual(2);
    const tables = await sql<{ schema: string; name: string }>`
      select table_schema as schema, table_name as name from information_schema.tables
      where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`.execute(t.db);
    let dump = '';
    for (const table of tables.rows) {
      const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(`${table.schema}.${table.name}`)} t`.execute(t.db);
      dump += rows.rows.map((r) => r.row).join('\n');
    }
    expect(dump).toContain(DUE_KEY);
    const logs = JSON.stringify(t.logs);
    for (const secret of cloud.generated) {
      expect(dump).not.toContain(secret);
      expect(bodies.join('\n')).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
  });
});
