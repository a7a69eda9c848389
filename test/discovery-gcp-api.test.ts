import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { as, useTestApp } from './support/app';
import { startGcpStandIn, testServiceAccountKey, type StandIn } from './support/cloud-stand-ins';

// GCP end to end through the API: the SDK signs each call with the connection's key and talks
// REST to a stand-in on 127.0.0.1 (DISCOVERY_GCP_ENDPOINT) that serves recorded Cloud Asset and
// Secret Manager responses.
const FIXTURE = JSON.parse(readFileSync(join(__dirname, 'fixtures/discovery/gcp-assets.json'), 'utf8')) as {
  resources: Record<string, unknown>[];
  iamPolicies: Record<string, unknown>[];
  secrets: Record<string, Record<string, unknown>[]>;
};
const key = testServiceAccountKey('acme-prod');
/** The key's secret part: the base64 lines of its private key. */
const PRIVATE_KEY_BODY = key.privateKeyPem.split('\n').filter((line) => line.length > 0 && !line.startsWith('-----'));
let standIn: StandIn;

beforeAll(async () => {
  standIn = await startGcpStandIn({ publicKeyPem: key.publicKeyPem, resources: FIXTURE.resources, iamPolicies: FIXTURE.iamPolicies, secrets: FIXTURE.secrets, pageSize: 2 });
});
afterAll(async () => standIn.close());

const t = useTestApp(() => ({ SECRETS_KEY: 'discovery-gcp-api-test-secrets-key-0123456789', DISCOVERY_GCP_ENDPOINT: standIn.url }), { workers: true });

async function untilEnded(token: string, path: string) {
  for (let i = 0; i < 600; i++) {
    const body = (await request(t.app).get(path).set(as(token)).expect(200)).body;
    if (!['queued', 'running'].includes(body.status)) return body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${path} did not end`);
}

async function connectedProject(token: string, projectId: string, keyJson: string) {
  const account = await request(t.app).post('/v1/accounts').set(as(token)).send({ provider: 'gcp', external_id: projectId, name: projectId }).expect(201);
  const connection = await request(t.app).put(`/v1/accounts/${account.body.id}/connection`).set(as(token)).send({ kind: 'gcp_service_account', service_account_key: keyJson }).expect(200);
  return { accountId: account.body.id as string, connection: connection.body };
}

describe('GCP scans through the API against a local stand-in', () => {
  const answers: unknown[] = [];

  it('scans with exactly {"mode": "full"}, writes the resources, audits and finds', async () => {
    const token = await t.ownerToken();
    const { accountId, connection } = await connectedProject(token, 'acme-prod', key.keyJson);
    answers.push(connection);
    expect(connection.secret).toEqual({ kind: 'service_account_key', fingerprint: expect.stringMatching(/^sha256:/) });
    const started = await request(t.app).post(`/v1/accounts/${accountId}/scans`).set(as(token)).send({ mode: 'full' }).expect(202);
    const scan = await untilEnded(token, `/v1/scans/${started.body.id}`);
    answers.push(started.body, scan);
    expect(scan).toMatchObject({ status: 'succeeded', failures: [], error: null });
    expect(scan.counts.created).toBe(7);
    expect(standIn.hits).toMatchObject({ assets: expect.any(Number), iam: expect.any(Number), secrets: 1 });
    const resources = (await request(t.app).get(`/v1/resources?account_id=${accountId}&limit=200`).set(as(token)).expect(200)).body.data as { type: string; name: string }[];
    answers.push(resources);
    expect(resources.map((r) => `${r.type} ${r.name}`).sort()).toEqual([
      'google_compute_firewall allow-ssh-anywhere',
      'google_project_iam_binding roles/editor',
      'google_project_iam_binding roles/viewer',
      'google_secret_manager_secret stripe-api-key',
      'google_service_account_key 5c1f0e9a2b3d4c5e6f708192a3b4c5d6e7f80912',
      'google_storage_bucket acme-prod-exports',
      'google_storage_bucket_iam_binding roles/storage.objectViewer',
    ]);
    // After the scan, the service-account key is proposed as held by the secret labelled with its account.
    const saKey = (await request(t.app).get(`/v1/resources?account_id=${accountId}&type=google_service_account_key`).set(as(token)).expect(200)).body.data[0] as { id: string };
    const links = (await request(t.app).get(`/v1/resources/${saKey.id}/credential-links`).set(as(token)).expect(200)).body.data as { status: string; store: { name: string }; reasons: { kind: string; detail: string }[] }[];
    expect(links.map((l) => [l.status, l.store.name, l.reasons[0]?.detail])).toEqual([['proposed', 'stripe-api-key', "tag service-account=payments-api names the credential's service account's id"]]);
    const audit = await untilEnded(token, `/v1/audits/${scan.audit_id}`);
    expect(audit.status).toBe('succeeded');
    const findings = (await request(t.app).get(`/v1/findings?audit_id=${audit.id}&limit=200`).set(as(token)).expect(200)).body.data as { rule_id: string }[];
    expect(findings.some((f) => f.rule_id?.startsWith('gcp.'))).toBe(true);
  });

  it('an incremental scan after a change in one asset writes one new version and nothing else', async () => {
    const token = await t.ownerToken();
    const accountId = (await request(t.app).get('/v1/accounts?limit=200').set(as(token)).expect(200)).body.data.find((a: { external_id: string }) => a.external_id === 'acme-prod').id as string;
    const listAll = async () => (await request(t.app).get(`/v1/resources?account_id=${accountId}&limit=200`).set(as(token)).expect(200)).body.data as Record<string, unknown>[];
    const before = await listAll();
    const versionsBefore = await t.db.selectFrom('resource_versions').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    const firewall = FIXTURE.resources.find((r) => String(r.name).endsWith('/allow-ssh-anywhere')) as { updateTime: string; resource: { data: { allowed: unknown[] } } };
    firewall.resource.data.allowed.push({ IPProtocol: 'tcp', ports: ['3389'] });
    firewall.updateTime = new Date().toISOString();

    const started = await request(t.app).post(`/v1/accounts/${accountId}/scans`).set(as(token)).send({ mode: 'incremental' }).expect(202);
    const scan = await untilEnded(token, `/v1/scans/${started.body.id}`);
    answers.push(scan);
    expect(scan).toMatchObject({ status: 'succeeded', counts: { created: 0, updated: 1, gone: 0 } });
    const after = await listAll();
    const asStored = ({ last_seen_at: _seen, ...rest }: Record<string, unknown>) => JSON.stringify(rest);
    const changed = after.filter((r) => asStored(r) !== asStored(before.find((b) => b.id === r.id)!));
    expect(changed.map((r) => [r.name, r.version])).toEqual([['allow-ssh-anywhere', 2]]);
    expect(after.map((r) => r.id).sort()).toEqual(before.map((r) => r.id).sort());
    const versionsAfter = await t.db.selectFrom('resource_versions').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(Number(versionsAfter.n) - Number(versionsBefore.n)).toBe(1);
  });

  it('a key GCP does not accept ends the scan failed with invalid_credentials', async () => {
    const token = await t.ownerToken();
    const other = testServiceAccountKey('acme-staging');
    const { accountId } = await connectedProject(token, 'acme-staging', other.keyJson);
    const started = await request(t.app).post(`/v1/accounts/${accountId}/scans`).set(as(token)).send({ mode: 'full' }).expect(202);
    const scan = await untilEnded(token, `/v1/scans/${started.body.id}`);
    answers.push(scan);
    expect(scan).toMatchObject({ status: 'failed', error: { code: 'invalid_credentials' } });
    expect(JSON.stringify(scan)).not.toContain(other.privateKeyPem.split('\n')[1]);
  });

  it('never shows the key in a response, a log line or an error message', async () => {
    const token = await t.ownerToken();
    answers.push((await request(t.app).get('/v1/scans?limit=200').set(as(token)).expect(200)).body);
    const text = JSON.stringify({ answers, logs: t.logs, scans: await t.db.selectFrom('scans').select(['error_message', 'failures']).execute() });
    expect(t.logs.length).toBeGreaterThan(5);
    for (const line of PRIVATE_KEY_BODY) expect(text).not.toContain(line);
    expect(text).not.toContain('BEGIN PRIVATE KEY');
  });
});
