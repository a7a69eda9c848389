import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import request from 'supertest';
import { followUpRotationSync, syncRotatedSecrets } from '../src/syncs/rotated-secrets-sync';
import { selfSignedCertificate, testServiceAccountKey } from './support/cloud-stand-ins';
import { startScheduledSyncRuns } from '../src/syncs/sync-schedule';
import { as, logInAs, OWNER, TEST_SECRET, useTestApp } from './support/app';
import { azureEndpoints, startAzureStandIn, type AzureStandIn } from './support/azure-stand-in';
import { startAwsSyncStandIn, startGcpSyncStandIn, type AwsSyncStandIn, type GcpSyncStandIn } from './support/sync-stand-ins';

const SUBSCRIPTION = '5f1c9a52-0000-4000-8000-000000000001';
const VAULT = 'kv-payments';
const AWS_ACCOUNT = '123456789012';
const AWS_KEY_ID = 'AKIASYNCTEST00000001';
const GCP_PROJECT = 'payments-dr';
const PASSWORD = 'tenant-password-0123456789';

// The values the clouds hold: none may appear in the database, the logs or any response.
const DB_PASSWORD = 'kv-value-db-password-7f3a9c1e5b';
const DB_PASSWORD_V2 = 'kv-value-db-password-v2-2d8e4a6f0c';
const OUT_OF_BAND = 'changed-by-hand-in-aws-91b2c3';
const certificate = selfSignedCertificate();
const PEM_BUNDLE = `${certificate.key.trim()}\n${certificate.cert.trim()}\n`;
const gcpKey = testServiceAccountKey(GCP_PROJECT);

let aws: AwsSyncStandIn;
let gcp: GcpSyncStandIn;
let azure: AzureStandIn;

beforeAll(async () => {
  aws = await startAwsSyncStandIn(AWS_ACCOUNT, AWS_KEY_ID);
  gcp = await startGcpSyncStandIn(GCP_PROJECT);
  azure = startAzureStandIn();
  azure.setSecret(VAULT, 'payments-db-password', { value: DB_PASSWORD, tags: { team: 'payments' } });
  azure.setSecret(VAULT, 'payments-db-test', { value: 'excluded-value-never-copied' });
  azure.setSecret(VAULT, 'billing-api-key', { value: 'other-pattern-value-never-copied' });
  azure.setCertificate(VAULT, 'payments-tls', { value: PEM_BUNDLE, contentType: 'application/x-pem-file' });
});
afterAll(async () => {
  azure.close();
  await aws.close();
  await gcp.close();
});

const t = useTestApp(
  () => ({ PLATFORM_ADMINS: OWNER.username, DISCOVERY_AWS_ENDPOINT: aws.url, DISCOVERY_GCP_ENDPOINT: gcp.url, ...azureEndpoints(azure.url) }),
  { workers: true },
);

const responses: string[] = [];
/** Every answer's body is kept, to search for values. */
function keep(response: request.Response): request.Response {
  responses.push(response.text);
  return response;
}

let owner: string;
let organizationId: string;
const accounts: Record<'azure' | 'aws' | 'gcp', string> = { azure: '', aws: '', gcp: '' };

async function connectAccounts(token: string) {
  const made: Record<string, string> = {};
  const create = async (provider: string, externalId: string, connection: object) => {
    const account = keep(await request(t.app).post('/v1/accounts').set(as(token)).send({ provider, external_id: externalId, name: `${provider}-sync` }));
    expect(account.status).toBe(201);
    const put = keep(await request(t.app).put(`/v1/accounts/${account.body.id}/connection`).set(as(token)).send(connection));
    expect(put.status).toBe(200);
    made[provider] = account.body.id as string;
  };
  await create('azure', SUBSCRIPTION, { kind: 'azure_service_principal', tenant_id: azure.tenantId, client_id: azure.connection.clientId, client_secret: azure.connection.clientSecret, audit_after_scan: false });
  await create('aws', AWS_ACCOUNT, { kind: 'aws_access_key', access_key_id: AWS_KEY_ID, secret_access_key: 'aws-secret-access-key-for-sync-test', audit_after_scan: false });
  await create('gcp', GCP_PROJECT, { kind: 'gcp_service_account', service_account_key: gcpKey.keyJson, audit_after_scan: false });
  return made as Record<'azure' | 'aws' | 'gcp', string>;
}

function syncBody(a: Record<'azure' | 'aws' | 'gcp', string>) {
  return {
    name: 'Payments to AWS and GCP',
    source: { account_id: a.azure, vault_name: VAULT, name_pattern: 'payments-*' },
    targets: [
      { account_id: a.aws, service: 'aws_secrets_manager', region: 'eu-central-1' },
      { account_id: a.aws, service: 'aws_acm', region: 'eu-central-1' },
      { account_id: a.gcp, service: 'gcp_secret_manager', region: null },
    ],
    naming_template: 'azure-{vault}-{name}',
    exclusions: ['*-test'],
    schedule: { cron: '0 3 * * *', time_zone: 'Europe/Berlin' },
  };
}

async function runAndWait(token: string, syncId: string) {
  const started = keep(await request(t.app).post(`/v1/syncs/${syncId}/run`).set(as(token)));
  expect(started.status).toBe(202);
  expect(started.body.status).toBe('queued');
  expect(started.headers.location).toBe(`/v1/syncs/${syncId}/runs/${started.body.id}`);
  for (let i = 0; i < 240; i++) {
    const run = keep(await request(t.app).get(started.headers.location!).set(as(token)));
    expect(run.status).toBe(200);
    if (!['queued', 'running'].includes(run.body.status)) return run.body;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('the sync run did not end');
}

/** None of `values` is in any table (a full dump), the logs or any response; `name` (an item name) is, so that the search reads real text. */
async function expectNowhere(values: string[], name: string) {
  const tables = await sql<{ schema: string; name: string }>`
    select table_schema as schema, table_name as name from information_schema.tables
    where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`.execute(t.db);
  expect(tables.rows.map((r) => r.name)).toEqual(expect.arrayContaining(['syncs', 'sync_runs', 'sync_targets_written']));
  let dump = '';
  for (const table of tables.rows) {
    const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(`${table.schema}.${table.name}`)} t`.execute(t.db);
    dump += rows.rows.map((r) => r.row).join('\n');
  }
  expect(dump).toContain(name);
  const logs = JSON.stringify(t.logs);
  expect(logs).toContain('sync run finished');
  const answered = responses.join('\n');
  expect(answered).toContain(name);
  for (const value of values) {
    expect(dump).not.toContain(value);
    expect(logs).not.toContain(value);
    expect(answered).not.toContain(value);
  }
}

type Result = { item_name: string; target_service: string; outcome: string; target_name: string; error: string | null };
const outcomes = (run: { results: Result[] }) => Object.fromEntries(run.results.map((r) => [`${r.item_name} → ${r.target_service}`, r.outcome]));

beforeAll(async () => {
  owner = await t.ownerToken();
  organizationId = (await request(t.app).get('/v1/me').set(as(owner))).body.organization.id;
  Object.assign(accounts, await connectAccounts(owner));
});

describe('the sync plan gate', () => {
  it('refuses creating a sync on starter with plan_required and its details; pro succeeds', async () => {
    const refused = keep(await request(t.app).post('/v1/syncs').set(as(owner)).send(syncBody(accounts)));
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('plan_required');
    expect(refused.body.error.details).toEqual([expect.objectContaining({ feature: 'sync', required_plan: 'pro', current_plan: 'starter' })]);
    expect((await request(t.app).get('/v1/syncs').set(as(owner))).body.data).toEqual([]);
    const entitlements = async () => (await request(t.app).get('/v1/organization/entitlements').set(as(owner))).body;
    expect(await entitlements()).toMatchObject({ plan: 'starter', features: { sync: { enabled: false, required_plan: 'pro' } } });

    const patched = await request(t.app).patch(`/v1/platform/organizations/${organizationId}`).set(as(owner)).send({ plan: { name: 'pro', expires_at: null } });
    expect(patched.status).toBe(200);
    expect(await entitlements()).toMatchObject({ plan: 'pro', features: { sync: { enabled: true, required_plan: 'pro' } } });
    const created = keep(await request(t.app).post('/v1/syncs').set(as(owner)).send(syncBody(accounts)));
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`/v1/syncs/${created.body.id}`);
    expect(created.body).toMatchObject({ on_conflict: 'skip', copy_tags: true, source: { kinds: ['secret', 'certificate'], tag_filter: null }, schedule: { cron: '0 3 * * *' } });
    const replayed = keep(await request(t.app).post('/v1/syncs').set(as(owner)).set('Idempotency-Key', 'sync-once').send(syncBody(accounts)));
    const again = keep(await request(t.app).post('/v1/syncs').set(as(owner)).set('Idempotency-Key', 'sync-once').send(syncBody(accounts)));
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.id).toBe(replayed.body.id);
    keep(await request(t.app).delete(`/v1/syncs/${created.body.id}`).set(as(owner)).expect(204));
    keep(await request(t.app).delete(`/v1/syncs/${replayed.body.id}`).set(as(owner)).expect(204));
    expect((await request(t.app).get(`/v1/syncs/${created.body.id}`).set(as(owner))).status).toBe(404);

    // Every attempt is in the audit log, the refused one too.
    const log = await request(t.app).get('/v1/audit-log').set(as(owner)).query({ action: 'createSync' });
    expect(log.status).toBe(200);
    expect(log.body.data.map((e: { outcome: number }) => e.outcome)).toEqual(expect.arrayContaining([201, 403]));
  });
});

describe('a sync to Secrets Manager, ACM and Secret Manager', () => {
  let syncId: string;

  it('first run: created everywhere it applies, a secret to ACM skipped, the exclusion and other names left out', async () => {
    const created = keep(await request(t.app).post('/v1/syncs').set(as(owner)).send(syncBody(accounts)));
    expect(created.status).toBe(201);
    syncId = created.body.id;
    const run = await runAndWait(owner, syncId);
    expect(run.status).toBe('succeeded');
    expect(outcomes(run)).toEqual({
      'payments-db-password → aws_secrets_manager': 'created',
      'payments-db-password → aws_acm': 'skipped',
      'payments-db-password → gcp_secret_manager': 'created',
      'payments-tls → aws_secrets_manager': 'created',
      'payments-tls → aws_acm': 'created',
      'payments-tls → gcp_secret_manager': 'created',
    });
    expect(run.counts).toEqual({ created: 5, updated: 0, unchanged: 0, conflict: 0, skipped: 1, failed: 0 });
    expect(aws.secrets.get('azure-kv-payments-payments-db-password')).toMatchObject({ value: DB_PASSWORD, tags: { team: 'payments' } });
    expect(gcp.secrets.get('azure-kv-payments-payments-db-password')?.versions).toEqual([DB_PASSWORD]);
    const [imported] = [...aws.certificates.values()];
    expect(imported?.certificate.trim()).toBe(certificate.cert.trim());
    expect(imported?.privateKey.trim()).toBe(certificate.key.trim());
    expect(imported?.tags.Name).toBe('azure-kv-payments-payments-tls');
    expect([...aws.secrets.keys()].sort()).toEqual(['azure-kv-payments-payments-db-password', 'azure-kv-payments-payments-tls']);
  });

  it('second run: unchanged, nothing written', async () => {
    const before = aws.secrets.get('azure-kv-payments-payments-db-password')!.versionId;
    const run = await runAndWait(owner, syncId);
    expect(run.status).toBe('succeeded');
    expect(run.counts).toEqual({ created: 0, updated: 0, unchanged: 5, conflict: 0, skipped: 1, failed: 0 });
    expect(aws.secrets.get('azure-kv-payments-payments-db-password')!.versionId).toBe(before);
    expect(gcp.secrets.get('azure-kv-payments-payments-db-password')!.versions).toHaveLength(1);
  });

  it('a target changed out of band is a conflict and stays untouched, while a new source version updates the others', async () => {
    aws.changeSecretOutOfBand('azure-kv-payments-payments-db-password', OUT_OF_BAND);
    const arn = [...aws.certificates.keys()][0]!;
    aws.reimportOutOfBand(arn);
    azure.setSecret(VAULT, 'payments-db-password', { value: DB_PASSWORD_V2, tags: { team: 'payments' } });
    const run = await runAndWait(owner, syncId);
    expect(outcomes(run)).toEqual({
      'payments-db-password → aws_secrets_manager': 'conflict',
      'payments-db-password → aws_acm': 'skipped',
      'payments-db-password → gcp_secret_manager': 'updated',
      'payments-tls → aws_secrets_manager': 'unchanged',
      'payments-tls → aws_acm': 'conflict',
      'payments-tls → gcp_secret_manager': 'unchanged',
    });
    const conflict = run.results.find((r: Result) => r.target_service === 'aws_secrets_manager' && r.item_name === 'payments-db-password');
    expect(conflict.error).toMatch(/not the one fourfold wrote/);
    expect(aws.secrets.get('azure-kv-payments-payments-db-password')!.value).toBe(OUT_OF_BAND);
    expect(gcp.secrets.get('azure-kv-payments-payments-db-password')!.versions).toEqual([DB_PASSWORD, DB_PASSWORD_V2]);

    // Until on_conflict says overwrite.
    keep(await request(t.app).patch(`/v1/syncs/${syncId}`).set(as(owner)).send({ on_conflict: 'overwrite' }).expect(200));
    const overwritten = await runAndWait(owner, syncId);
    expect(outcomes(overwritten)['payments-db-password → aws_secrets_manager']).toBe('updated');
    expect(outcomes(overwritten)['payments-tls → aws_acm']).toBe('updated');
    expect(aws.secrets.get('azure-kv-payments-payments-db-password')!.value).toBe(DB_PASSWORD_V2);
    keep(await request(t.app).patch(`/v1/syncs/${syncId}`).set(as(owner)).send({ on_conflict: 'skip' }).expect(200));
  });

  it('a failing target write is failed with the cloud error, the run partially succeeded, and the next run retries it', async () => {
    azure.setSecret(VAULT, 'payments-db-password', { value: DB_PASSWORD, tags: { team: 'payments' } });
    aws.failing.add('PutSecretValue');
    const run = await runAndWait(owner, syncId);
    aws.failing.delete('PutSecretValue');
    expect(run.status).toBe('partially_succeeded');
    const failed = run.results.find((r: Result) => r.outcome === 'failed');
    expect(failed).toMatchObject({ item_name: 'payments-db-password', target_service: 'aws_secrets_manager' });
    expect(failed.error).toMatch(/InvalidRequestException/);
    expect(outcomes(run)['payments-db-password → gcp_secret_manager']).toBe('updated');
    const retried = await runAndWait(owner, syncId);
    expect(outcomes(retried)['payments-db-password → aws_secrets_manager']).toBe('updated');
    expect(aws.secrets.get('azure-kv-payments-payments-db-password')!.value).toBe(DB_PASSWORD);
  });

  it('a vault that cannot be read fails the run with source_unreadable', async () => {
    azure.fail.listSecrets = 403;
    const run = await runAndWait(owner, syncId);
    expect(run.status).toBe('failed');
    expect(run.error.code).toBe('source_unreadable');
    expect(run.results).toEqual([]);
  });

  it('raised sync_conflict (an item per target left untouched) and sync_failed in the event feed, once per run', async () => {
    const eventsOf = async (type: string) => {
      for (let i = 0; i < 120; i++) {
        const events = keep(await request(t.app).get('/v1/events').set(as(owner)).query({ type }));
        expect(events.status).toBe(200);
        if (events.body.data.length > 0) return events.body.data;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      throw new Error(`no ${type} event`);
    };
    const [conflict, ...moreConflicts] = await eventsOf('sync_conflict');
    expect(moreConflicts).toEqual([]);
    expect(conflict.data.total).toBe(2);
    expect(conflict.data.items.map((item: { result: { item_name: string; target_service: string } }) => `${item.result.item_name} → ${item.result.target_service}`).sort()).toEqual([
      'payments-db-password → aws_secrets_manager',
      'payments-tls → aws_acm',
    ]);
    expect(conflict.data.items[0]).toMatchObject({ kind: 'sync', sync: { id: syncId, name: 'Payments to AWS and GCP' }, run: { trigger: 'api', status: 'succeeded' } });
    const [failed, ...moreFailed] = await eventsOf('sync_failed');
    expect(moreFailed).toEqual([]);
    expect(failed.data).toEqual({
      alert_rule: null,
      total: 1,
      items: [expect.objectContaining({ kind: 'sync', result: null, run: expect.objectContaining({ status: 'failed', error_code: 'source_unreadable' }) })],
    });
  });

  it('lists runs newest first and the syncs', async () => {
    const runs = keep(await request(t.app).get(`/v1/syncs/${syncId}/runs`).set(as(owner)).query({ limit: 2 }));
    expect(runs.status).toBe(200);
    expect(runs.body.data).toHaveLength(2);
    expect(runs.body.has_more).toBe(true);
    expect(runs.body.data[0].status).toBe('failed');
    const syncs = keep(await request(t.app).get('/v1/syncs').set(as(owner)));
    expect(syncs.body.data.map((s: { id: string }) => s.id)).toEqual([syncId]);
  });

  it("answers 404 to another organization for the sync, its runs and its accounts", async () => {
    const slug = 'sync-other';
    const made = await request(t.app).post('/v1/platform/organizations').set(as(owner)).send({ name: slug, slug, owner: { username: `owner-${slug}@example.com`, password: PASSWORD } });
    expect(made.status).toBe(201);
    await request(t.app).patch(`/v1/platform/organizations/${made.body.organization.id}`).set(as(owner)).send({ plan: { name: 'pro', expires_at: null } }).expect(200);
    const other = await logInAs(t.app, `owner-${slug}@example.com`, PASSWORD);
    const runId = (await request(t.app).get(`/v1/syncs/${syncId}/runs`).set(as(owner))).body.data[0].id;
    expect((await request(t.app).get(`/v1/syncs/${syncId}`).set(as(other))).status).toBe(404);
    expect((await request(t.app).patch(`/v1/syncs/${syncId}`).set(as(other)).send({ name: 'x' })).status).toBe(404);
    expect((await request(t.app).post(`/v1/syncs/${syncId}/run`).set(as(other))).status).toBe(404);
    expect((await request(t.app).get(`/v1/syncs/${syncId}/runs`).set(as(other))).status).toBe(404);
    expect((await request(t.app).get(`/v1/syncs/${syncId}/runs/${runId}`).set(as(other))).status).toBe(404);
    expect((await request(t.app).delete(`/v1/syncs/${syncId}`).set(as(other))).status).toBe(404);
    const borrowed = await request(t.app).post('/v1/syncs').set(as(other)).send(syncBody(accounts));
    expect(borrowed.status).toBe(404);
    expect(borrowed.body.error.code).toBe('not_found');
  });

  it('refuses a target of the wrong cloud and an unconnected account with 422', async () => {
    const wrong = await request(t.app).post('/v1/syncs').set(as(owner)).send({ ...syncBody(accounts), targets: [{ account_id: accounts.gcp, service: 'aws_secrets_manager', region: 'eu-central-1' }] });
    expect(wrong.status).toBe(422);
    expect(wrong.body.error.details).toEqual([expect.objectContaining({ field: 'body.targets.0.service' })]);
    const bare = (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: '210987654321', name: 'unconnected' })).body.id;
    const unconnected = await request(t.app).post('/v1/syncs').set(as(owner)).send({ ...syncBody(accounts), targets: [{ account_id: bare, service: 'aws_secrets_manager', region: 'eu-central-1' }] });
    expect(unconnected.status).toBe(422);
    expect(unconnected.body.error.code).toBe('not_connected');
  });

  it('keeps no value in any table, log line or response', async () => {
    await expectNowhere([DB_PASSWORD, DB_PASSWORD_V2, certificate.key.split('\n')[1]!, 'excluded-value-never-copied', 'other-pattern-value-never-copied'], 'payments-db-password');
  });

  it('its schedule queues runs when due, pauses saying why while the plan lacks sync, and runs again once it has it', async () => {
    delete azure.fail.listSecrets;
    const sync = async () => keep(await request(t.app).get(`/v1/syncs/${syncId}`).set(as(owner)).expect(200)).body;
    const check = (now: Date) =>
      startScheduledSyncRuns(t.db, t.jobs, { now: () => now, limits: t.config.organizationLimits, plans: { license: undefined }, auditLogSecret: TEST_SECRET, logger: t.logger });
    const setPlan = (name: string) => request(t.app).patch(`/v1/platform/organizations/${organizationId}`).set(as(owner)).send({ plan: { name, expires_at: null } }).expect(200);
    const first = await sync();
    // 03:00 in Berlin is 01:00 or 02:00 UTC.
    expect(first.next_run_at).toMatch(/T0[12]:00:00\.000Z$/);
    expect(first.schedule_paused_reason).toBeNull();
    expect(Date.parse(first.next_run_at)).toBeGreaterThan(Date.now());

    const due = new Date(first.next_run_at);
    const [started, ...others] = await check(due);
    expect(others).toEqual([]);
    expect(started).toMatchObject({ sync_id: syncId, outcome: 'started' });
    // Another process checking at the same time finds it taken.
    expect(await check(due)).toEqual([]);
    const afterRun = await sync();
    expect(Date.parse(afterRun.next_run_at) - due.getTime()).toBe(24 * 3_600_000);
    for (let i = 0; i < 240; i++) {
      const run = keep(await request(t.app).get(`/v1/syncs/${syncId}/runs/${(started as { sync_run_id: string }).sync_run_id}`).set(as(owner)).expect(200)).body;
      expect(run.trigger).toBe('schedule');
      expect(run.created_by).toBeNull();
      if (!['queued', 'running'].includes(run.status)) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const log = keep(await request(t.app).get('/v1/audit-log').set(as(owner)).query({ action: 'startSyncRun' }).expect(200));
    expect(log.body.data).toEqual(expect.arrayContaining([expect.objectContaining({ actor: expect.objectContaining({ type: 'system' }), target_id: syncId })]));

    // Downgraded: the schedule waits, says why, moves on; nothing is deleted.
    await setPlan('starter');
    const runsBefore = keep(await request(t.app).get(`/v1/syncs/${syncId}/runs`).set(as(owner)).query({ limit: 200 }).expect(200)).body.data.length;
    const [paused] = await check(new Date(afterRun.next_run_at));
    expect(paused).toMatchObject({ sync_id: syncId, outcome: 'paused' });
    const waiting = await sync();
    expect(waiting.schedule_paused_reason).toMatch(/needs the pro plan; this organization is on starter/);
    expect(Date.parse(waiting.next_run_at)).toBeGreaterThan(Date.parse(afterRun.next_run_at));
    expect(keep(await request(t.app).get(`/v1/syncs/${syncId}/runs`).set(as(owner)).query({ limit: 200 }).expect(200)).body.data).toHaveLength(runsBefore);

    await setPlan('pro');
    const [resumed] = await check(new Date(waiting.next_run_at));
    expect(resumed).toMatchObject({ sync_id: syncId, outcome: 'started' });
    expect((await sync()).schedule_paused_reason).toBeNull();

    // A schedule cron-parser cannot read is refused.
    const refused = keep(await request(t.app).patch(`/v1/syncs/${syncId}`).set(as(owner)).send({ schedule: { cron: '0 25 * * *', time_zone: 'UTC' } }));
    expect(refused.status).toBe(422);
    expect(refused.body.error.details).toEqual([expect.objectContaining({ field: 'body.schedule.cron' })]);
    const cleared = keep(await request(t.app).patch(`/v1/syncs/${syncId}`).set(as(owner)).send({ schedule: null }).expect(200)).body;
    expect(cleared).toMatchObject({ schedule: null, next_run_at: null, schedule_paused_reason: null });
  });
});

/** A leaf certificate signed by a CA, as Key Vault keeps a PFX certificate: base64 PKCS#12 without a password, the CA as its chain. */
function pfxWithChain() {
  const dir = mkdtempSync(join(tmpdir(), 'fourfold-pfx-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=DR Test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=dr.payments.test', '-keyout', 'leaf.key', '-out', 'leaf.csr');
  openssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-out', 'leaf.pem');
  openssl('pkcs12', '-export', '-inkey', 'leaf.key', '-in', 'leaf.pem', '-certfile', 'ca.pem', '-passout', 'pass:', '-out', 'leaf.pfx');
  const read = (file: string) => readFileSync(join(dir, file));
  const der = (pem: string) => new X509Certificate(pem).raw.toString('base64');
  return { pfx: read('leaf.pfx').toString('base64'), leafKey: read('leaf.key').toString('utf8'), leafDer: der(read('leaf.pem').toString('utf8')), caDer: der(read('ca.pem').toString('utf8')) };
}

const pemDer = (pem: string) => [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) => new X509Certificate(m[0]).raw.toString('base64'));

describe('a sync to SSM Parameter Store, ACM and Certificate Manager, with a PFX certificate', () => {
  const DR_API_KEY = 'kv-value-dr-api-key-4b7d1e9a3c';
  const DR_API_KEY_ROTATED = 'kv-value-dr-api-key-rotated-8e2f6a0b4d';
  const SSM_OUT_OF_BAND = 'changed-by-hand-in-ssm-5c9e1f';
  const pfx = pfxWithChain();
  const PARAMETER = '/dr/kv-payments/dr-api-key';
  const PFX_PARAMETER = '/dr/kv-payments/dr-tls';
  const GCP_CERTIFICATE = 'dr-kv-payments-dr-tls';
  let syncId: string;

  beforeAll(() => {
    delete azure.fail.listSecrets;
    azure.setSecret(VAULT, 'dr-api-key', { value: DR_API_KEY, tags: { team: 'dr' } });
    azure.setCertificate(VAULT, 'dr-tls', { value: pfx.pfx, contentType: 'application/x-pkcs12', tags: { team: 'dr' } });
  });

  it('first run: the secret to Parameter Store, the PFX converted to PEM for ACM and Certificate Manager', async () => {
    const created = keep(
      await request(t.app)
        .post('/v1/syncs')
        .set(as(owner))
        .send({
          name: 'DR parameters and TLS',
          source: { account_id: accounts.azure, vault_name: VAULT, name_pattern: 'dr-*' },
          targets: [
            { account_id: accounts.aws, service: 'aws_ssm_parameter_store', region: 'eu-central-1' },
            { account_id: accounts.aws, service: 'aws_acm', region: 'eu-central-1' },
            { account_id: accounts.gcp, service: 'gcp_certificate_manager', region: null },
          ],
          naming_template: '/dr/{vault}/{name}',
        }),
    );
    expect(created.status).toBe(201);
    expect(created.body.targets.map((target: { service: string }) => target.service)).toEqual(['aws_ssm_parameter_store', 'aws_acm', 'gcp_certificate_manager']);
    syncId = created.body.id;
    const run = await runAndWait(owner, syncId);
    expect(run.status).toBe('succeeded');
    expect(outcomes(run)).toEqual({
      'dr-api-key → aws_ssm_parameter_store': 'created',
      'dr-api-key → aws_acm': 'skipped',
      'dr-api-key → gcp_certificate_manager': 'skipped',
      'dr-tls → aws_ssm_parameter_store': 'created',
      'dr-tls → aws_acm': 'created',
      'dr-tls → gcp_certificate_manager': 'created',
    });
    expect(run.results.find((r: Result) => r.item_name === 'dr-api-key' && r.target_service === 'gcp_certificate_manager').error).toMatch(/Certificate Manager takes certificates only/);
    expect(aws.parameters.get(PARAMETER)).toMatchObject({ value: DR_API_KEY, version: 1, tags: { team: 'dr' } });
    expect(aws.parameters.get(PFX_PARAMETER)?.value).toBe(pfx.pfx);
    const parameterResult = run.results.find((r: Result) => r.target_service === 'aws_ssm_parameter_store' && r.item_name === 'dr-api-key');
    expect(parameterResult).toMatchObject({ target_name: PARAMETER, target_version: expect.stringMatching(/^1@\d{4}-/) });

    // ACM: the leaf and its key, the CA as the chain; Certificate Manager: leaf then chain.
    const imported = [...aws.certificates.values()].find((c) => c.tags.Name === PFX_PARAMETER)!;
    expect(pemDer(imported.certificate)).toEqual([pfx.leafDer]);
    expect(pemDer(imported.chain ?? '')).toEqual([pfx.caDer]);
    expect(createPrivateKey(imported.privateKey).export({ format: 'der', type: 'pkcs8' })).toEqual(createPrivateKey(pfx.leafKey).export({ format: 'der', type: 'pkcs8' }));
    const managed = gcp.certificates.get(GCP_CERTIFICATE)!;
    expect(pemDer(managed.pemCertificate)).toEqual([pfx.leafDer, pfx.caDer]);
    expect(createPrivateKey(managed.pemPrivateKey).export({ format: 'der', type: 'pkcs8' })).toEqual(createPrivateKey(pfx.leafKey).export({ format: 'der', type: 'pkcs8' }));
    expect(managed.labels).toEqual({ team: 'dr' });
  });

  it('second run: unchanged, nothing written', async () => {
    const certificateTime = gcp.certificates.get(GCP_CERTIFICATE)!.updateTime;
    const run = await runAndWait(owner, syncId);
    expect(run.counts).toEqual({ created: 0, updated: 0, unchanged: 4, conflict: 0, skipped: 2, failed: 0 });
    expect(aws.parameters.get(PARAMETER)!.version).toBe(1);
    expect(gcp.certificates.get(GCP_CERTIFICATE)!.updateTime).toBe(certificateTime);
  });

  it('a parameter and a certificate changed out of band are conflicts and untouched; on_conflict overwrite writes them', async () => {
    aws.putParameterOutOfBand(PARAMETER, SSM_OUT_OF_BAND);
    gcp.updateCertificateOutOfBand(GCP_CERTIFICATE);
    gcp.certificates.get(GCP_CERTIFICATE)!.pemCertificate = 'replaced by hand';
    const run = await runAndWait(owner, syncId);
    expect(outcomes(run)).toMatchObject({
      'dr-api-key → aws_ssm_parameter_store': 'conflict',
      'dr-tls → aws_ssm_parameter_store': 'unchanged',
      'dr-tls → aws_acm': 'unchanged',
      'dr-tls → gcp_certificate_manager': 'conflict',
    });
    expect(run.results.find((r: Result) => r.item_name === 'dr-api-key' && r.target_service === 'aws_ssm_parameter_store').error).toMatch(/is not the one fourfold wrote \(1@/);
    expect(aws.parameters.get(PARAMETER)).toMatchObject({ value: SSM_OUT_OF_BAND, version: 2 });
    expect(gcp.certificates.get(GCP_CERTIFICATE)!.pemCertificate).toBe('replaced by hand');

    keep(await request(t.app).patch(`/v1/syncs/${syncId}`).set(as(owner)).send({ on_conflict: 'overwrite' }).expect(200));
    const overwritten = await runAndWait(owner, syncId);
    expect(outcomes(overwritten)['dr-api-key → aws_ssm_parameter_store']).toBe('updated');
    expect(outcomes(overwritten)['dr-tls → gcp_certificate_manager']).toBe('updated');
    // Overwriting keeps the tags (PutParameter takes none with Overwrite; they are added after).
    expect(aws.parameters.get(PARAMETER)).toMatchObject({ value: DR_API_KEY, version: 3, tags: { team: 'dr' } });
    expect(pemDer(gcp.certificates.get(GCP_CERTIFICATE)!.pemCertificate)).toEqual([pfx.leafDer, pfx.caDer]);
    keep(await request(t.app).patch(`/v1/syncs/${syncId}`).set(as(owner)).send({ on_conflict: 'skip' }).expect(200));
    const settled = await runAndWait(owner, syncId);
    expect(settled.counts).toMatchObject({ unchanged: 4, conflict: 0 });
  });

  it('a rotation that wrote a covered secret runs the sync for that secret only, with trigger rotation', async () => {
    const rotationId = 'rot_01JDSYNCR0TAT10N000000000A';
    await t.db
      .insertInto('rotations')
      .values({
        id: rotationId,
        organization_id: organizationId,
        account_id: accounts.azure,
        application_id: azure.application.id,
        key_id: '0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b',
        new_key_id: null,
        key_vault_secrets: JSON.stringify([`https://${VAULT}.vault.azure.net/secrets/dr-api-key`, 'https://another-kv.vault.azure.net/secrets/dr-api-key']),
        lifetime_days: 180,
        overlap_hours: 24,
        status: 'running',
        new_expires_at: null,
        revoke_at: null,
        steps: '[]',
        error: null,
        created_by: null,
        created_at: new Date(),
        finished_at: null,
      })
      .execute();
    const rotation = await t.db.selectFrom('rotations').selectAll().where('id', '=', rotationId).executeTakeFirstOrThrow();
    // The rotation wrote a new version of dr-api-key (as rotations.service does, then calls this).
    azure.setSecret(VAULT, 'dr-api-key', { value: DR_API_KEY_ROTATED, tags: { team: 'dr' } });
    const started = await syncRotatedSecrets(t.db, { plans: { license: undefined }, auditSecret: TEST_SECRET, jobs: t.jobs, logger: t.logger }, rotation);
    // The payments sync's pattern does not cover dr-api-key; another vault has no sync.
    expect(started).toEqual([{ sync_id: syncId, outcome: 'started', sync_run_id: expect.stringMatching(/^synr_/) }]);
    const runId = (started[0] as { sync_run_id: string }).sync_run_id;
    let run: { status: string; trigger: string; rotation_id: string; only_items: string[]; results: Result[]; counts: object } | undefined;
    for (let i = 0; i < 240; i++) {
      run = keep(await request(t.app).get(`/v1/syncs/${syncId}/runs/${runId}`).set(as(owner)).expect(200)).body;
      if (!['queued', 'running'].includes(run!.status)) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(run).toMatchObject({ status: 'succeeded', trigger: 'rotation', rotation_id: rotationId, only_items: ['dr-api-key'] });
    expect(outcomes(run!)).toEqual({
      'dr-api-key → aws_ssm_parameter_store': 'updated',
      'dr-api-key → aws_acm': 'skipped',
      'dr-api-key → gcp_certificate_manager': 'skipped',
    });
    expect(aws.parameters.get(PARAMETER)!.value).toBe(DR_API_KEY_ROTATED);
    const log = keep(await request(t.app).get('/v1/audit-log').set(as(owner)).query({ action: 'startSyncRun' }).expect(200));
    expect(log.body.data).toEqual(expect.arrayContaining([expect.objectContaining({ target_id: syncId, actor: expect.objectContaining({ type: 'system' }) })]));

    // Without the plan feature, a rotation starts no sync run.
    await request(t.app).patch(`/v1/platform/organizations/${organizationId}`).set(as(owner)).send({ plan: { name: 'starter', expires_at: null } }).expect(200);
    expect(await syncRotatedSecrets(t.db, { plans: { license: undefined }, auditSecret: TEST_SECRET, jobs: t.jobs, logger: t.logger }, rotation)).toEqual([{ sync_id: null, outcome: 'plan_lacks_sync' }]);
    await request(t.app).patch(`/v1/platform/organizations/${organizationId}`).set(as(owner)).send({ plan: { name: 'pro', expires_at: null } }).expect(200);
  });

  it("a rotation's run joins a queued run, and waits behind a running one until it ends", async () => {
    const rotation = await t.db.selectFrom('rotations').selectAll().where('id', '=', 'rot_01JDSYNCR0TAT10N000000000A').executeTakeFirstOrThrow();
    const settings = { plans: { license: undefined }, auditSecret: TEST_SECRET, jobs: t.jobs, logger: t.logger };
    // Rows only (no job), standing for a run a worker has not taken yet, then one it is working on.
    const busy = {
      organization_id: organizationId,
      sync_id: syncId,
      trigger: 'rotation' as const,
      status: 'queued' as const,
      error_code: null,
      error_message: null,
      created_by: null,
      created_at: new Date(),
      started_at: null,
      finished_at: null,
    };
    await t.db.insertInto('sync_runs').values({ ...busy, id: 'synr_01JDSYNCQ0EXED00000000000A', only_items: JSON.stringify(['dr-other-secret']) }).execute();
    expect(await syncRotatedSecrets(t.db, settings, rotation)).toEqual([{ sync_id: syncId, outcome: 'covered_by_queued_run', sync_run_id: 'synr_01JDSYNCQ0EXED00000000000A' }]);
    const widened = keep(await request(t.app).get(`/v1/syncs/${syncId}/runs/synr_01JDSYNCQ0EXED00000000000A`).set(as(owner)).expect(200)).body;
    expect([...widened.only_items].sort()).toEqual(['dr-api-key', 'dr-other-secret']);

    await t.db.updateTable('sync_runs').set({ status: 'running', started_at: new Date() }).where('id', '=', 'synr_01JDSYNCQ0EXED00000000000A').execute();
    const [deferred] = await syncRotatedSecrets(t.db, settings, rotation);
    expect(deferred).toEqual({ sync_id: syncId, outcome: 'deferred', sync_run_id: 'synr_01JDSYNCQ0EXED00000000000A' });
    await t.db.updateTable('sync_runs').set({ status: 'succeeded', finished_at: new Date() }).where('id', '=', 'synr_01JDSYNCQ0EXED00000000000A').execute();
    // The deferred job, as the worker runs it 30 seconds later.
    const followedUp = await followUpRotationSync(t.db, t.jobs, settings, {
      rotation_follow_up: { rotation_id: rotation.id, organization_id: organizationId, created_by: null, sync_id: syncId, names: ['dr-api-key'], attempt: 2 },
    });
    expect(followedUp).toEqual({ sync_id: syncId, outcome: 'started', sync_run_id: expect.stringMatching(/^synr_/) });
    for (let i = 0; i < 240; i++) {
      const run = keep(await request(t.app).get(`/v1/syncs/${syncId}/runs/${followedUp!.sync_id === syncId ? (followedUp as { sync_run_id: string }).sync_run_id : ''}`).set(as(owner)).expect(200)).body;
      if (!['queued', 'running'].includes(run.status)) {
        expect(run).toMatchObject({ trigger: 'rotation', status: 'succeeded', only_items: ['dr-api-key'], counts: { unchanged: 1, skipped: 2 } });
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  });

  it('keeps none of these values in any table, log line or response', async () => {
    await expectNowhere([DR_API_KEY, DR_API_KEY_ROTATED, SSM_OUT_OF_BAND, pfx.pfx.slice(100, 160), pfx.leafKey.split('\n')[1]!], 'dr-api-key');
  });
});
