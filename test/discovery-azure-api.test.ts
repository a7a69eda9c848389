import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { as, useTestApp } from './support/app';
import { selfSignedCertificate, startAzureStandIn, type AzureStandInData, type StandIn } from './support/cloud-stand-ins';

// Azure end to end through the API, in this process: MSAL, Resource Graph and Key Vault talk
// https to a stand-in on 127.0.0.1 whose self-signed certificate the connection trusts through
// DISCOVERY_AZURE_CA_FILE (no NODE_EXTRA_CA_CERTS, which Node reads only at start).
const TENANT = '8c3dad1d-0000-4000-8000-00000000000a';
const SUBSCRIPTION = '5f1c9a52-0000-4000-8000-000000000001';
const CLIENT_ID = '3f0e3a1b-0000-4000-8000-0000000000c1';
const SECRET = 'azure-api-client-secret-Zr8~kQ2.vX';
const ROWS = JSON.parse(readFileSync(join(__dirname, 'fixtures/discovery/azure-resource-graph.json'), 'utf8')) as Record<string, unknown>[];
const VAULT = 'https://kv-payments.vault.azure.net';
const NSG_ID = String(ROWS.find((r) => r.name === 'nsg-jumpbox')?.id);
const certificate = selfSignedCertificate();
const data: AzureStandInData = {
  tenantId: TENANT,
  clientSecret: SECRET,
  rows: structuredClone(ROWS),
  pageSize: 2,
  vaults: {
    'kv-payments': {
      secrets: [
        { id: `${VAULT}/secrets/stripe-api-key`, attributes: { enabled: true, exp: 1798761600, created: 1733000000, updated: 1733000000 }, contentType: 'text/plain' },
        { id: `${VAULT}/secrets/db-password`, attributes: { enabled: true, created: 1733000000, updated: 1733000000 } },
      ],
      keys: [{ kid: `${VAULT}/keys/cmk-storage`, attributes: { enabled: true, created: 1733000000, updated: 1733000000 } }],
      certificates: [],
    },
  },
  changes: [],
};
let standIn: StandIn;

beforeAll(async () => {
  standIn = await startAzureStandIn(certificate, data);
});
afterAll(async () => standIn.close());

const t = useTestApp(
  () => ({
    SECRETS_KEY: 'discovery-azure-api-test-secrets-key-0123456789',
    DISCOVERY_AZURE_CA_FILE: certificate.certPath,
    DISCOVERY_AZURE_AUTHORITY_HOST: standIn.url,
    DISCOVERY_AZURE_RESOURCE_MANAGER_ENDPOINT: standIn.url,
    DISCOVERY_AZURE_KEY_VAULT_ENDPOINT: standIn.url,
    DISCOVERY_AZURE_GRAPH_ENDPOINT: standIn.url,
  }),
  { workers: true },
);

async function untilEnded(token: string, path: string) {
  for (let i = 0; i < 600; i++) {
    const body = (await request(t.app).get(path).set(as(token)).expect(200)).body;
    if (!['queued', 'running'].includes(body.status)) return body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${path} did not end`);
}

async function connectedSubscription(token: string, subscriptionId: string, clientSecret: string) {
  const account = await request(t.app).post('/v1/accounts').set(as(token)).send({ provider: 'azure', external_id: subscriptionId, name: `azure ${subscriptionId}` }).expect(201);
  const connection = await request(t.app)
    .put(`/v1/accounts/${account.body.id}/connection`)
    .set(as(token))
    .send({ kind: 'azure_service_principal', tenant_id: TENANT, client_id: CLIENT_ID, client_secret: clientSecret })
    .expect(200);
  return { accountId: account.body.id as string, connection: connection.body };
}

async function scan(token: string, accountId: string, mode: 'full' | 'incremental') {
  const started = await request(t.app).post(`/v1/accounts/${accountId}/scans`).set(as(token)).send({ mode }).expect(202);
  return untilEnded(token, `/v1/scans/${started.body.id}`);
}

describe('Azure scans through the API against a local https stand-in', () => {
  const answers: unknown[] = [];
  let accountId: string;

  it('scans with exactly {"mode": "full"}, writes the resources, audits and finds', async () => {
    const token = await t.ownerToken();
    const connected = await connectedSubscription(token, SUBSCRIPTION, SECRET);
    accountId = connected.accountId;
    answers.push(connected.connection);
    expect(connected.connection.secret).toEqual({ kind: 'client_secret', fingerprint: expect.stringMatching(/^sha256:/) });
    const verified = await request(t.app).post(`/v1/accounts/${accountId}/connection/verify`).set(as(token)).expect(200);
    answers.push(verified.body);
    expect(verified.body.ok).toBe(true);

    const ended = await scan(token, accountId, 'full');
    answers.push(ended);
    expect(ended).toMatchObject({ status: 'succeeded', failures: [], error: null, counts: { created: 6, gone: 0 } });
    expect(standIn.hits).toMatchObject({ token: expect.any(Number), graph: expect.any(Number), secrets: expect.any(Number), keys: expect.any(Number) });
    const resources = (await request(t.app).get(`/v1/resources?account_id=${accountId}&limit=200`).set(as(token)).expect(200)).body.data as { type: string; name: string }[];
    answers.push(resources);
    expect(resources.map((r) => `${r.type} ${r.name}`).sort()).toEqual([
      'azurerm_key_vault kv-payments',
      'azurerm_key_vault_key cmk-storage',
      'azurerm_key_vault_secret db-password',
      'azurerm_key_vault_secret stripe-api-key',
      'azurerm_network_security_group nsg-jumpbox',
      'azurerm_storage_account stlegacyexports',
    ]);
    const audit = await untilEnded(token, `/v1/audits/${ended.audit_id}`);
    expect(audit.status).toBe('succeeded');
    const findings = (await request(t.app).get(`/v1/findings?audit_id=${audit.id}&limit=200`).set(as(token)).expect(200)).body.data as { rule_id: string }[];
    answers.push(findings);
    expect(findings.some((f) => f.rule_id?.startsWith('azure.'))).toBe(true);
  });

  it('an incremental scan asks Resource Graph\'s change history and writes one new version for one changed resource', async () => {
    const token = await t.ownerToken();
    const listAll = async () => (await request(t.app).get(`/v1/resources?account_id=${accountId}&limit=200`).set(as(token)).expect(200)).body.data as Record<string, unknown>[];
    const before = await listAll();
    const versionsBefore = await t.db.selectFrom('resource_versions').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    const nsg = data.rows.find((r) => r.id === NSG_ID) as { properties: { securityRules: Record<string, unknown>[] } };
    nsg.properties.securityRules.push({
      name: 'allow-ssh',
      id: `${NSG_ID}/securityRules/allow-ssh`,
      properties: { priority: 110, direction: 'Inbound', access: 'Allow', protocol: 'Tcp', sourcePortRange: '*', destinationPortRange: '22', sourceAddressPrefix: '*', destinationAddressPrefix: '*', sourceAddressPrefixes: [], destinationPortRanges: [] },
    });
    data.changes?.push({ targetResourceId: NSG_ID, timestamp: new Date().toISOString() });

    const ended = await scan(token, accountId, 'incremental');
    answers.push(ended);
    expect(ended).toMatchObject({ status: 'succeeded', counts: { read: 1, created: 0, updated: 1, gone: 0 } });
    const after = await listAll();
    const asStored = ({ last_seen_at: _seen, ...rest }: Record<string, unknown>) => JSON.stringify(rest);
    const changed = after.filter((r) => asStored(r) !== asStored(before.find((b) => b.id === r.id)!));
    expect(changed.map((r) => [r.name, r.version])).toEqual([['nsg-jumpbox', 2]]);
    expect(after.map((r) => r.id).sort()).toEqual(before.map((r) => r.id).sort());
    const versionsAfter = await t.db.selectFrom('resource_versions').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(Number(versionsAfter.n) - Number(versionsBefore.n)).toBe(1);
  });

  it('a secret Entra ID refuses ends the scan failed with invalid_credentials', async () => {
    const token = await t.ownerToken();
    const { accountId: other } = await connectedSubscription(token, '5f1c9a52-0000-4000-8000-000000000002', 'not-the-secret-at-all');
    const ended = await scan(token, other, 'full');
    answers.push(ended);
    expect(ended).toMatchObject({ status: 'failed', error: { code: 'invalid_credentials', message: expect.stringContaining('AADSTS7000215') } });
  });

  it('never shows the client secret in a response, a log line or an error message', async () => {
    const token = await t.ownerToken();
    answers.push((await request(t.app).get('/v1/scans?limit=200').set(as(token)).expect(200)).body);
    const text = JSON.stringify({ answers, logs: t.logs, scans: await t.db.selectFrom('scans').select(['error_message', 'failures']).execute() });
    expect(t.logs.length).toBeGreaterThan(5);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('not-the-secret-at-all');
  });
});
