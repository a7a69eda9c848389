import { sql } from 'kysely';
import request, { type Response } from 'supertest';
import { insertOrganizationWithOwner } from '../src/organizations/organizations.service';
import { revokeDueRotations, verifyDelays } from '../src/rotations/rotations.service';
import { rotationSettings } from '../src/workers';
import { as, logInAs, TEST_SECRET, useTestApp } from './support/app';
import { azureEndpoints, startAzureStandIn, type AzureStandIn } from './support/azure-stand-in';
import { expectError } from './support/expectations';

const SECRETS_KEY = 'rotation-test-secrets-key-0123456789abcdef';
let cloud: AzureStandIn;

beforeAll(async () => {
  cloud = startAzureStandIn();
});
afterAll(async () => cloud.close());

const t = useTestApp(() => ({ SECRETS_KEY, ROTATION_VERIFY_SECONDS: '0', ...azureEndpoints(cloud.url) }));

/** Every response body of the file, searched for secrets at the end. */
const bodies: string[] = [];
function seen(response: Response): Response {
  bodies.push(response.text);
  return response;
}

const PRIMARY = 'https://payments-kv.vault.azure.net/secrets/payments-api-client-secret';
const DR = 'https://payments-dr-kv.vault.azure.net/secrets/payments-api-client-secret';
const ORIGINAL = 'original-client-secret-value-0123456789';
let owner: string;
let accountId: string;

function resetCloud(): string {
  cloud.fail = {};
  cloud.application.passwords.clear();
  const keyId = '0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b';
  cloud.application.passwords.set(keyId, ORIGINAL);
  cloud.secrets.clear();
  for (const vault of ['payments-kv', 'payments-dr-kv']) {
    cloud.setSecret(vault, 'payments-api-client-secret', { value: ORIGINAL, exp: 1_800_000_000, contentType: 'text/plain', tags: { app: 'payments' } });
  }
  return keyId;
}

async function setPlan(plan: 'starter' | 'pro'): Promise<void> {
  await t.db.updateTable('organizations').set({ plan }).execute();
}

async function rotate(body: object, query = ''): Promise<Response> {
  return seen(await request(t.app).post(`/v1/rotations${query}`).set(as(owner)).send({ account_id: accountId, application_id: cloud.application.id, ...body }));
}

beforeAll(async () => {
  owner = await t.ownerToken();
  const account = await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'azure', external_id: '8f2a6b1c-3d4e-4f5a-9b6c-7d8e9f0a1b2c', name: 'payments' }).expect(201);
  accountId = account.body.id as string;
  await request(t.app)
    .put(`/v1/accounts/${accountId}/connection`)
    .set(as(owner))
    .send({ kind: 'azure_service_principal', tenant_id: cloud.tenantId, client_id: cloud.connection.clientId, client_secret: cloud.connection.clientSecret })
    .expect(200);
});

describe('a dry run', () => {
  test('answers the exact steps and changes nothing', async () => {
    const keyId = resetCloud();
    const response = await rotate({ key_id: keyId, key_vault_secrets: [PRIMARY, DR], overlap_hours: 0 }, '?dry_run=true');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ dry_run: true, lifetime_days: 180, overlap_hours: 0 });
    expect(response.body.steps.map((s: { name: string; target: string }) => [s.name, s.target])).toEqual([
      ['create', cloud.application.id],
      ['write', PRIMARY],
      ['write', DR],
      ['verify', cloud.application.id],
      ['revoke', keyId],
    ]);
    expect(cloud.hits.addPassword ?? 0).toBe(0);
    expect(cloud.hits.setSecret ?? 0).toBe(0);
    const list = seen(await request(t.app).get('/v1/rotations').set(as(owner)).expect(200));
    expect(list.body.data).toEqual([]);
  });
});

describe('must show 2: a secret in two Key Vault secrets, rotated with an overlap', () => {
  test('creates, writes both with the new expiry, verifies, and removes the old password once the clock passes the overlap', async () => {
    await setPlan('pro');
    const oldKeyId = resetCloud();
    const before = Date.now();
    const response = await rotate({ key_id: oldKeyId, key_vault_secrets: [PRIMARY, DR], lifetime_days: 90, overlap_hours: 24 });
    expect(response.status).toBe(201);
    expect(response.headers.location).toBe(`/v1/rotations/${response.body.id as string}`);
    const rotation = response.body;
    expect(rotation).toMatchObject({ status: 'revoke_scheduled', key_id: oldKeyId, error: null, finished_at: null });
    expect(rotation.steps.map((s: { name: string; outcome: string }) => `${s.name}:${s.outcome}`)).toEqual(['create:succeeded', 'write:succeeded', 'write:succeeded', 'verify:succeeded', 'revoke:pending']);
    const newKeyId = rotation.new_key_id as string;
    const newSecret = cloud.application.passwords.get(newKeyId);
    expect(newSecret).toBeDefined();
    // Both passwords live during the overlap; both vault entries hold the new one, expiring with it.
    expect([...cloud.application.passwords.keys()].sort()).toEqual([oldKeyId, newKeyId].sort());
    const expiry = Date.parse(rotation.new_expires_at as string);
    expect(expiry - before).toBeGreaterThanOrEqual(90 * 86_400_000 - 1000);
    expect(expiry - before).toBeLessThan(90 * 86_400_000 + 60_000);
    for (const key of ['payments-kv/payments-api-client-secret', 'payments-dr-kv/payments-api-client-secret']) {
      const versions = cloud.secrets.get(key)!;
      expect(versions).toHaveLength(2);
      expect(versions.at(-1)).toMatchObject({ value: newSecret, exp: Math.floor(expiry / 1000), contentType: 'text/plain', tags: { app: 'payments' } });
    }
    expect(cloud.hits.verify).toBeGreaterThanOrEqual(1);
    expect(Date.parse(rotation.revoke_at as string) - Date.parse(rotation.steps[3].finished_at as string)).toBeGreaterThanOrEqual(24 * 3_600_000 - 1000);

    // The removal is a pg-boss job due at the end of the overlap.
    const jobs = await sql<{ start_after: Date }>`select start_after from pgboss.job where name = 'rotation-revokes' and data->>'rotation_id' = ${rotation.id as string}`.execute(t.db);
    expect(jobs.rows).toHaveLength(1);
    expect(new Date(jobs.rows[0]!.start_after).getTime()).toBeGreaterThan(Date.now() + 23 * 3_600_000);

    // One rotation of a credential at a time.
    const busy = seen(await rotate({ key_id: oldKeyId, key_vault_secrets: [PRIMARY] }));
    expectError(busy, 409, 'conflict');
    expect(busy.body.error.message).toContain(rotation.id as string);

    const settings = { ...rotationSettings({ ...t.config }, TEST_SECRET) };
    expect(await revokeDueRotations(t.db, { ...settings, now: () => new Date(Date.now() + 23 * 3_600_000) })).toEqual([]);
    expect(cloud.application.passwords.has(oldKeyId)).toBe(true);
    const [revoked] = await revokeDueRotations(t.db, { ...settings, now: () => new Date(Date.now() + 25 * 3_600_000) }, { rotation_id: rotation.id as string });
    expect(revoked?.status).toBe('succeeded');
    expect([...cloud.application.passwords.keys()]).toEqual([newKeyId]);

    const history = seen(await request(t.app).get(`/v1/rotations/${rotation.id as string}`).set(as(owner)).expect(200));
    expect(history.body.status).toBe('succeeded');
    expect(history.body.steps).toEqual([
      expect.objectContaining({ name: 'create', target: newKeyId, outcome: 'succeeded', error: null, rollback_status: null }),
      expect.objectContaining({ name: 'write', target: PRIMARY, outcome: 'succeeded' }),
      expect.objectContaining({ name: 'write', target: DR, outcome: 'succeeded' }),
      expect.objectContaining({ name: 'verify', outcome: 'succeeded' }),
      expect.objectContaining({ name: 'revoke', target: oldKeyId, outcome: 'succeeded', started_at: expect.any(String), finished_at: expect.any(String) }),
    ]);
    const log = seen(await request(t.app).get('/v1/audit-log').set(as(owner)).expect(200));
    const actions = (log.body.data as { action: string; target_id: string | null; actor: { type: string } }[]).filter((e) => e.target_id === rotation.id);
    expect(actions.map((e) => `${e.actor.type}:${e.action}`).sort()).toEqual(['system:rotation.revoke', 'user:createRotation']);
  });
});

describe('must show 3: writing the second Key Vault secret fails', () => {
  test('the new password is removed, the first entry is back on its previous value, each step says how it was rolled back', async () => {
    await setPlan('pro');
    const oldKeyId = resetCloud();
    cloud.fail.setSecret = new Set(['payments-dr-kv/payments-api-client-secret']);
    const response = await rotate({ key_id: oldKeyId, key_vault_secrets: [PRIMARY, DR], overlap_hours: 0 });
    expect(response.status).toBe(201);
    expect(response.body.status).toBe('failed');
    expect(response.body.error).toEqual({ step: 'write', message: expect.stringContaining('403') });
    expect(response.body.steps.map((s: { name: string; outcome: string; rollback_status: string | null }) => [s.name, s.outcome, s.rollback_status])).toEqual([
      ['create', 'succeeded', 'rolled_back'],
      ['write', 'succeeded', 'rolled_back'],
      ['write', 'failed', 'nothing_to_roll_back'],
      ['verify', 'skipped', null],
      ['revoke', 'skipped', null],
    ]);
    expect(response.body.steps[2].error).toMatch(/Forbidden/);
    // Only the old password is left; the first vault entry's current value is the previous one again.
    expect([...cloud.application.passwords.keys()]).toEqual([oldKeyId]);
    const primary = cloud.secrets.get('payments-kv/payments-api-client-secret')!;
    expect(primary.map((v) => v.value)).toEqual([ORIGINAL, cloud.generated.at(-1), ORIGINAL]);
    expect(primary.at(-1)).toMatchObject({ value: ORIGINAL, exp: 1_800_000_000, contentType: 'text/plain', tags: { app: 'payments' } });
    expect(cloud.secrets.get('payments-dr-kv/payments-api-client-secret')!.map((v) => v.value)).toEqual([ORIGINAL]);
    // A failed rotation frees the credential for another.
    cloud.fail = {};
    const again = await rotate({ key_id: oldKeyId, key_vault_secrets: [PRIMARY], overlap_hours: 0 });
    expect(again.status).toBe(201);
    expect(again.body.status).toBe('succeeded');
  });

  test('a failed verification rolls back every write and the new password', async () => {
    await setPlan('pro');
    const oldKeyId = resetCloud();
    cloud.fail.verify = true;
    const verifications = cloud.hits.verify ?? 0;
    const response = await rotate({ key_id: oldKeyId, key_vault_secrets: [PRIMARY, DR], overlap_hours: 0 });
    expect(response.body.status).toBe('failed');
    expect(response.body.error).toEqual({ step: 'verify', message: expect.stringContaining('AADSTS7000215') });
    // ROTATION_VERIFY_SECONDS=0: one attempt.
    expect(cloud.hits.verify).toBe(verifications + 1);
    expect(response.body.steps.map((s: { rollback_status: string | null }) => s.rollback_status)).toEqual(['rolled_back', 'rolled_back', 'rolled_back', 'nothing_to_roll_back', null]);
    expect([...cloud.application.passwords.keys()]).toEqual([oldKeyId]);
    for (const versions of cloud.secrets.values()) expect(versions.at(-1)?.value).toBe(ORIGINAL);
  });

  test('verification retries double from a second within ROTATION_VERIFY_SECONDS', () => {
    expect(verifyDelays(40)).toEqual([1000, 2000, 4000, 8000, 16000, 9000]);
    expect(verifyDelays(0)).toEqual([]);
  });
});

describe('a rotation whose process stopped', () => {
  test('is ended by the sweep: failed, the new password removed when no Key Vault secret holds it yet', async () => {
    await setPlan('pro');
    const oldKeyId = resetCloud();
    const made = await rotate({ key_id: oldKeyId, key_vault_secrets: [PRIMARY], overlap_hours: 24 });
    expect(made.body.status).toBe('revoke_scheduled');
    const newKeyId = made.body.new_key_id as string;
    // As if the process had stopped while writing: the row still running, started an hour ago.
    const steps = (made.body.steps as { outcome: string; started_at: string | null }[]).map((step, i) => (i === 0 ? step : { ...step, outcome: 'pending', started_at: i === 1 ? step.started_at : null, finished_at: null }));
    await t.db
      .updateTable('rotations')
      .set({ status: 'running', revoke_at: null, steps: JSON.stringify(steps), created_at: new Date(Date.now() - 3_600_000) })
      .where('id', '=', made.body.id as string)
      .execute();
    const settings = rotationSettings({ ...t.config }, TEST_SECRET);
    const [ended] = await revokeDueRotations(t.db, settings);
    expect(ended?.id).toBe(made.body.id);
    const after = seen(await request(t.app).get(`/v1/rotations/${made.body.id as string}`).set(as(owner)).expect(200));
    expect(after.body.status).toBe('failed');
    expect(after.body.steps.map((s: { outcome: string; rollback_status: string | null }) => [s.outcome, s.rollback_status])).toEqual([
      ['succeeded', 'rolled_back'],
      ['failed', 'nothing_to_roll_back'],
      ['skipped', null],
      ['skipped', null],
    ]);
    expect(cloud.application.passwords.has(newKeyId)).toBe(false);
    expect(cloud.application.passwords.has(oldKeyId)).toBe(true);
  });

  test('after a Key Vault secret was written: that step says rollback_failed with why, and the new password stays (the secret holds it)', async () => {
    await setPlan('pro');
    const oldKeyId = resetCloud();
    const made = await rotate({ key_id: oldKeyId, key_vault_secrets: [PRIMARY], overlap_hours: 24 });
    const newKeyId = made.body.new_key_id as string;
    // Stopped while verifying: create and write done.
    const steps = (made.body.steps as { name: string }[]).map((step) => (step.name === 'verify' ? { ...step, outcome: 'pending', finished_at: null } : step.name === 'revoke' ? { ...step, outcome: 'pending', started_at: null, finished_at: null } : step));
    await t.db
      .updateTable('rotations')
      .set({ status: 'running', revoke_at: null, steps: JSON.stringify(steps), created_at: new Date(Date.now() - 3_600_000) })
      .where('id', '=', made.body.id as string)
      .execute();
    await revokeDueRotations(t.db, rotationSettings({ ...t.config }, TEST_SECRET));
    const after = seen(await request(t.app).get(`/v1/rotations/${made.body.id as string}`).set(as(owner)).expect(200));
    expect(after.body.steps.map((s: { outcome: string; rollback_status: string | null; rollback_error: string | null }) => [s.outcome, s.rollback_status, s.rollback_error])).toEqual([
      ['succeeded', 'rollback_failed', 'kept: store entries hold the new credential'],
      ['succeeded', 'rollback_failed', "the secret's previous value was held by the stopped process only: set it again by hand, or rotate again"],
      ['failed', 'nothing_to_roll_back', null],
      ['skipped', null, null],
    ]);
    expect(cloud.application.passwords.has(newKeyId)).toBe(true);
    expect(cloud.secrets.get('payments-kv/payments-api-client-secret')!.at(-1)!.value).toBe(cloud.application.passwords.get(newKeyId));
  });
});

describe('bad input and other tenants', () => {
  test('answers 4xx in the error shape', async () => {
    const keyId = resetCloud();
    expectError(seen(await rotate({ key_id: keyId, key_vault_secrets: ['https://kv.example.com/keys/x'] })), 422, 'validation_failed');
    expectError(seen(await rotate({ key_id: 'not-a-guid', key_vault_secrets: [PRIMARY] })), 422, 'validation_failed');
    expectError(seen(await rotate({ key_id: keyId, key_vault_secrets: [PRIMARY], overlap_hours: -1 })), 422, 'validation_failed');
    const aws = await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: '123456789012', name: 'aws' }).expect(201);
    expectError(seen(await rotate({ account_id: aws.body.id, key_id: keyId, key_vault_secrets: [PRIMARY] })), 422, 'validation_failed');
    const bare = await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'azure', external_id: '1f2a6b1c-3d4e-4f5a-9b6c-7d8e9f0a1b2c', name: 'bare' }).expect(201);
    expectError(seen(await rotate({ account_id: bare.body.id, key_id: keyId, key_vault_secrets: [PRIMARY] })), 422, 'not_connected');
    expectError(seen(await request(t.app).get('/v1/rotations/rot_00000000000000000000000000').set(as(owner))), 404, 'not_found');

    const [existing] = (await request(t.app).get('/v1/rotations?limit=1').set(as(owner)).expect(200)).body.data as { id: string }[];
    await t.db.transaction().execute((trx) => insertOrganizationWithOwner(trx, { name: 'Other', username: 'rot-other', password: 'other-password-123' }));
    const other = await logInAs(t.app, 'rot-other', 'other-password-123');
    expectError(seen(await request(t.app).get(`/v1/rotations/${existing!.id}`).set(as(other))), 404, 'not_found');
    expectError(seen(await request(t.app).post('/v1/rotations').set(as(other)).send({ account_id: accountId, application_id: cloud.application.id, key_id: keyId, key_vault_secrets: [PRIMARY] })), 404, 'not_found');
    expect((await request(t.app).get('/v1/rotations').set(as(other)).expect(200)).body.data).toEqual([]);
  });

  test('lists newest first with a cursor', async () => {
    const first = seen(await request(t.app).get('/v1/rotations?limit=2').set(as(owner)).expect(200));
    expect(first.body.has_more).toBe(true);
    const second = seen(await request(t.app).get(`/v1/rotations?limit=2&cursor=${first.body.next_cursor as string}`).set(as(owner)).expect(200));
    expect(second.body.data[0].id < first.body.data[1].id).toBe(true);
    const failed = seen(await request(t.app).get('/v1/rotations?status=failed').set(as(owner)).expect(200));
    expect(failed.body.data.length).toBeGreaterThanOrEqual(2);
    expect(failed.body.data.every((r: { status: string }) => r.status === 'failed')).toBe(true);
  });
});

describe('must show 1: starter allows 3 rotations a calendar month', () => {
  test('the fourth answers 403 plan_limit_reached; on pro it succeeds; entitlements count them', async () => {
    await setPlan('starter');
    await t.db.deleteFrom('rotations').execute();
    let keyId = resetCloud();
    for (let i = 0; i < 3; i += 1) {
      const response = await rotate({ key_id: keyId, key_vault_secrets: [PRIMARY], overlap_hours: 0 });
      expect(response.status).toBe(201);
      expect(response.body.status).toBe('succeeded');
      keyId = response.body.new_key_id as string;
    }
    const entitlements = seen(await request(t.app).get('/v1/organization/entitlements').set(as(owner)).expect(200));
    expect(entitlements.body.limits.rotations_per_month).toEqual({ limit: 3, usage: 3 });
    const refused = await rotate({ key_id: keyId, key_vault_secrets: [PRIMARY], overlap_hours: 0 });
    expectError(refused, 403, 'plan_limit_reached');
    expect(refused.body.error.details[0]).toMatchObject({ plan_limit: 'rotations_per_month', limit: 3, usage: 3, current_plan: 'starter' });
    // A dry run is not a rotation: it is not counted nor refused.
    expect((await rotate({ key_id: keyId, key_vault_secrets: [PRIMARY] }, '?dry_run=true')).status).toBe(200);
    await setPlan('pro');
    const allowed = await rotate({ key_id: keyId, key_vault_secrets: [PRIMARY], overlap_hours: 0 });
    expect(allowed.status).toBe(201);
    const pro = seen(await request(t.app).get('/v1/organization/entitlements').set(as(owner)).expect(200));
    expect(pro.body.limits.rotations_per_month).toEqual({ limit: null, usage: 4 });
  });
});

describe('must show 5: the generated secrets are nowhere', () => {
  test('not in any table of the database, the logs or any response', async () => {
    expect(cloud.generated.length).toBeGreaterThanOrEqual(6);
    const tables = await sql<{ schema: string; name: string }>`
      select table_schema as schema, table_name as name from information_schema.tables
      where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`.execute(t.db);
    expect(tables.rows.map((r) => r.name)).toEqual(expect.arrayContaining(['rotations', 'audit_log', 'job']));
    let dump = '';
    for (const table of tables.rows) {
      const rows = await sql`select * from ${sql.id(table.schema, table.name)}`.execute(t.db);
      dump += JSON.stringify(rows.rows, (_key, value: unknown) => (Buffer.isBuffer(value) ? value.toString('latin1') : value));
    }
    expect(dump).toContain(cloud.application.id);
    const logs = JSON.stringify(t.logs);
    const responses = bodies.join('\n');
    for (const secret of cloud.generated) {
      expect(dump).not.toContain(secret);
      expect(logs).not.toContain(secret);
      expect(responses).not.toContain(secret);
    }
  });
});
