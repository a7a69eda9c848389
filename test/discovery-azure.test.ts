import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import nock from 'nock';
import { AZURE_PERMISSIONS, collectAzure, fullQuery, verifyAzure } from '../src/discovery/azure/azure-collector';
import { CollectorError, type CollectorContext, type ScanUnitProgress } from '../src/discovery/collector';
import type { CanonicalResource } from '../src/imports/canonical-resource';
import { loadCatalogue } from '../src/rules/catalogue';
import { formatPath } from '../src/rules/attribute-path';
import { evaluateInventory } from '../src/rules/evaluate-inventory';
import type { RuleResource } from '../src/rules/rule-evaluation';
import { selfSignedCertificate, startAzureStandIn } from './support/cloud-stand-ins';

const TENANT = '8c3dad1d-0000-4000-8000-00000000000a';
const SUBSCRIPTION = '5f1c9a52-0000-4000-8000-000000000001';
const SECRET = 'azure-client-secret-value-Q9~x';
const LOGIN = 'https://login.microsoftonline.com';
const ARM = 'https://management.azure.com';
const GRAPH = 'https://graph.microsoft.com';
const VAULT = 'https://kv-payments.vault.azure.net';
const ROWS = JSON.parse(readFileSync(join(__dirname, 'fixtures/discovery/azure-resource-graph.json'), 'utf8')) as Record<string, unknown>[];
const credentials = { tenant_id: TENANT, client_id: '3f0e3a1b-0000-4000-8000-0000000000c1', client_secret: SECRET };

function context(overrides: Partial<CollectorContext> = {}): CollectorContext & { units: ScanUnitProgress[] } {
  const units: ScanUnitProgress[] = [];
  return {
    signal: new AbortController().signal,
    mode: 'full',
    changedSince: null,
    endpoints: { azureAuthorityHost: LOGIN },
    concurrency: 4,
    progress: (unit) => units.push(unit),
    units,
    ...overrides,
  };
}

function mockLogin(): void {
  nock(LOGIN).persist().get(`/${TENANT}/v2.0/.well-known/openid-configuration`).query(true).reply(200, {
    token_endpoint: `${LOGIN}/${TENANT}/oauth2/v2.0/token`,
    authorization_endpoint: `${LOGIN}/${TENANT}/oauth2/v2.0/authorize`,
    end_session_endpoint: `${LOGIN}/${TENANT}/oauth2/v2.0/logout`,
    issuer: `${LOGIN}/${TENANT}/v2.0`,
    jwks_uri: `${LOGIN}/${TENANT}/discovery/v2.0/keys`,
  });
  nock(LOGIN).persist().post(`/${TENANT}/oauth2/v2.0/token`).query(true).reply((_uri, body) => {
    const form = new URLSearchParams(String(body));
    return form.get('client_secret') === SECRET
      ? [200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30.sig' }]
      : [401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID. Trace ID: 1 Correlation ID: 2', error_codes: [7000215] }];
  });
}

/** Resource Graph answering `pages` (skipToken-chained); each element a page of rows. */
function mockGraph(pages: Record<string, unknown>[][], bodies: string[] = []): nock.Scope {
  const scope = nock(ARM);
  pages.forEach((rows, index) => {
    scope.post('/providers/Microsoft.ResourceGraph/resources').query(true).reply(200, (_uri, body) => {
      bodies.push(JSON.stringify(body));
      const next = index + 1 < pages.length ? { $skipToken: `ew0KICAiJGlkIjogIjEiLA0KICAiTWF4Um93cyI6IDEwMDAsDQogICJSb3dzVG9Ta2lwIjogJHtpbmRleH0=${index + 1}` } : {};
      return { totalRecords: pages.flat().length, count: rows.length, resultTruncated: 'false', data: rows, facets: [], ...next };
    });
  });
  return scope;
}

const APPLICATIONS = [
  {
    id: '0b7c0c8e-0000-4000-8000-0000000000a1',
    appId: '6a1f3c9e-2b4d-4e8f-9a0b-1c2d3e4f5a6b',
    displayName: 'payments-api',
    createdDateTime: '2025-01-10T09:00:00Z',
    tags: [],
    passwordCredentials: [{ keyId: '0F9E8D7C-6B5A-4938-8271-605F4E3D2C1B', displayName: 'prod', hint: 'Xy~', startDateTime: '2025-06-01T00:00:00Z', endDateTime: '2026-12-20T00:00:00Z' }],
    keyCredentials: [{ keyId: 'c3d1b6a4-0000-4000-8000-0000000000c5', displayName: 'CN=payments-api', type: 'AsymmetricX509Cert', usage: 'Verify', startDateTime: '2025-06-01T00:00:00Z', endDateTime: '2027-06-01T00:00:00Z' }],
  },
  { id: '0b7c0c8e-0000-4000-8000-0000000000a2', appId: '7b2e4d0f-0000-4000-8000-0000000000b2', displayName: 'no-credentials', passwordCredentials: [], keyCredentials: [] },
];

/** Microsoft Graph's applications, one page each, chained by @odata.nextLink; `status` answers every call instead. */
function mockApplications(pages: Record<string, unknown>[][], urls: string[] = [], status?: number): void {
  const scope = nock(GRAPH);
  if (status !== undefined) {
    scope.persist().get('/v1.0/applications').query(true).reply(status, { error: { code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' } });
    return;
  }
  pages.forEach((value, index) => {
    scope.get('/v1.0/applications').query(true).reply(200, (uri) => {
      urls.push(uri);
      const next = index + 1 < pages.length ? { '@odata.nextLink': `${GRAPH}/v1.0/applications?$select=id&$top=999&$skiptoken=RFNwdAIAAQAAAD${index + 1}` } : {};
      return { '@odata.context': `${GRAPH}/v1.0/$metadata#applications`, value, ...next };
    });
  });
}

type VaultAnswer = { status: number; body?: unknown };
/** A vault's data plane with Key Vault's challenge: the first call of each client has no token. */
function mockVault(answers: { secrets?: VaultAnswer; keys?: VaultAnswer; certificates?: VaultAnswer; rotationpolicy?: VaultAnswer }): void {
  const scope = nock(VAULT).persist();
  const challenge = { 'www-authenticate': `Bearer authorization="${LOGIN}/${TENANT}", resource="https://vault.azure.net"` };
  scope.get(/.*/).query(true).reply(function reply(uri) {
    if (this.req.headers.authorization === undefined) return [401, '', challenge];
    const path = new URL(uri, VAULT).pathname;
    const kind = path.endsWith('/rotationpolicy') ? 'rotationpolicy' : (path.split('/')[1] as 'secrets' | 'keys' | 'certificates');
    const answer = answers[kind] ?? { status: 200, body: { value: [], nextLink: null } };
    return [answer.status, answer.body ?? {}];
  });
}

const forbidden = (action: string): VaultAnswer => ({
  status: 403,
  body: { error: { code: 'Forbidden', message: `Caller is not authorized to perform action on resource.\r\nIf role assignments were recently changed, please wait several minutes.\r\nAction: '${action}'`, innererror: { code: 'ForbiddenByRbac' } } },
});

const secretsPage = {
  value: [
    { id: `${VAULT}/secrets/stripe-api-key`, attributes: { enabled: true, exp: 1798761600, created: 1733000000, updated: 1733000000, recoveryLevel: 'Recoverable+Purgeable' }, contentType: 'text/plain', tags: { owner: 'payments' } },
    { id: `${VAULT}/secrets/db-password`, attributes: { enabled: true, created: 1733000000, updated: 1764000000, recoveryLevel: 'Recoverable+Purgeable' } },
    { id: `${VAULT}/secrets/tls-cert`, managed: true, attributes: { enabled: true, exp: 1798761600, created: 1733000000, updated: 1733000000 } },
  ],
  nextLink: null,
};
const keysPage = { value: [{ kid: `${VAULT}/keys/cmk-storage`, attributes: { enabled: true, created: 1733000000, updated: 1733000000 } }], nextLink: null };
const certificatesPage = { value: [{ id: `${VAULT}/certificates/tls-cert`, x5t: 'fLi3U52HunIVNXubkEnf8tP6Wbo', attributes: { enabled: true, nbf: 1733000000, exp: 1767225600, created: 1733000000, updated: 1733000000 } }], nextLink: null };

function byType(resources: CanonicalResource[]): Record<string, CanonicalResource[]> {
  const grouped: Record<string, CanonicalResource[]> = {};
  for (const r of resources) (grouped[r.type] ??= []).push(r);
  return grouped;
}

/** Failing rule ids per resource name, judged by the catalogue exactly as an audit would. */
async function failingRules(resources: CanonicalResource[]): Promise<Record<string, string[]>> {
  const subjects = resources.map((r): RuleResource => ({ ...r, id: null, account_id: 'acc', unknown_paths: r.unknown_paths.map((p) => formatPath(p) ?? '') }));
  const failing: Record<string, string[]> = {};
  for (const { rule, resource, outcome } of evaluateInventory(await loadCatalogue(), subjects, new Date('2026-12-02T00:00:00Z'))) {
    expect(outcome.outcome).not.toBe('error');
    if (outcome.outcome === 'fail') (failing[resource.name ?? resource.native_id] ??= []).push(rule.rule.id);
  }
  return failing;
}

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

describe('Azure collector (recorded responses)', () => {
  it('reads every resource through one paged Resource Graph query and Key Vault expiry, in the importers\' shapes', async () => {
    mockLogin();
    const bodies: string[] = [];
    mockGraph([ROWS.slice(0, 2), ROWS.slice(2)], bodies);
    mockVault({ secrets: { status: 200, body: secretsPage }, keys: { status: 200, body: keysPage }, certificates: { status: 200, body: certificatesPage }, rotationpolicy: { status: 200, body: { lifetimeActions: [{ trigger: { timeBeforeExpiry: 'P30D' }, action: { type: 'Rotate' } }], attributes: { expiryTime: 'P1Y' } } } });
    const graphUrls: string[] = [];
    mockApplications([APPLICATIONS.slice(0, 1), APPLICATIONS.slice(1)], graphUrls);
    const ctx = context();
    const result = await collectAzure(credentials, SUBSCRIPTION, ctx);

    expect(result.failures).toEqual([]);
    // App registrations and the credentials that expire, paged by @odata.nextLink, under the azuread provider's ids.
    expect(graphUrls).toHaveLength(2);
    expect(graphUrls[0]).toContain('$select=id,appId,displayName,createdDateTime,tags,passwordCredentials,keyCredentials');
    expect(graphUrls[1]).toContain('$skiptoken=');
    const app = APPLICATIONS[0]!;
    const entra = result.resources.filter((r) => r.type.startsWith('azuread_'));
    expect(entra.map((r) => `${r.type} ${r.native_id}`).sort()).toEqual([
      `azuread_application /applications/${app.id}`,
      `azuread_application /applications/${APPLICATIONS[1]!.id}`,
      `azuread_application_certificate /applications/${app.id}/certificate/c3d1b6a4-0000-4000-8000-0000000000c5`,
      `azuread_application_password /applications/${app.id}/password/0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b`,
    ]);
    expect(entra.find((r) => r.type === 'azuread_application' && r.name === 'payments-api')?.attributes).toMatchObject({ client_id: app.appId, object_id: app.id, display_name: 'payments-api' });
    const password = entra.find((r) => r.type === 'azuread_application_password');
    expect(password).toMatchObject({
      region: null,
      attributes: { application_id: `/applications/${app.id}`, key_id: '0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b', end_date: '2026-12-20T00:00:00Z', display_name: 'prod', application_client_id: app.appId },
      relationships: [{ type: 'attached_to', resource_native_id: `/applications/${app.id}` }],
    });
    expect(JSON.stringify(password)).not.toContain('Xy~');
    expect(entra.find((r) => r.type === 'azuread_application_certificate')?.attributes).toMatchObject({ end_date: '2027-06-01T00:00:00Z', type: 'AsymmetricX509Cert' });
    expect(result.complete.flatMap((c) => c.types)).toEqual(expect.arrayContaining(['azuread_application', 'azuread_application_password', 'azuread_application_certificate']));
    expect(bodies).toHaveLength(2);
    expect(JSON.parse(bodies[0] as string)).toMatchObject({ subscriptions: [SUBSCRIPTION], query: fullQuery(), options: { $top: 1000, resultFormat: 'objectArray' } });
    expect(JSON.parse(bodies[1] as string).options.$skipToken).toMatch(/1$/);
    const types = byType(result.resources);
    expect(Object.keys(types).sort()).toEqual(['azuread_application', 'azuread_application_certificate', 'azuread_application_password', 'azurerm_key_vault', 'azurerm_key_vault_certificate', 'azurerm_key_vault_key', 'azurerm_key_vault_secret', 'azurerm_network_security_group', 'azurerm_storage_account']);
    const account = types.azurerm_storage_account?.[0];
    expect(account).toMatchObject({
      native_id: ROWS[0]?.id,
      region: 'westeurope',
      tags: { env: 'prod', owner: 'data-platform' },
      attributes: { https_traffic_only_enabled: false, min_tls_version: 'TLS1_0', allow_nested_items_to_be_public: true, account_replication_type: 'GRS', network_rules: [{ default_action: 'Allow', bypass: ['AzureServices'] }] },
    });
    expect(types.azurerm_network_security_group?.[0]?.attributes.security_rule).toEqual([expect.objectContaining({ direction: 'Inbound', access: 'Allow', protocol: 'Tcp', destination_port_range: '3389', source_address_prefix: '*' })]);
    // The certificate's managed secret is the certificate's, not a secret of its own.
    expect(types.azurerm_key_vault_secret?.map((s) => s.native_id).sort()).toEqual([`${VAULT}/secrets/db-password`, `${VAULT}/secrets/stripe-api-key`]);
    expect(types.azurerm_key_vault_secret?.find((s) => s.name === 'stripe-api-key')).toMatchObject({ region: 'westeurope', attributes: { expiration_date: '2027-01-01T00:00:00.000Z' }, relationships: [{ resource_native_id: ROWS[2]?.id }] });
    expect(types.azurerm_key_vault_key?.[0]?.attributes.rotation_policy).toEqual([{ expire_after: 'P1Y', notify_before_expiry: null, automatic: [{ time_after_creation: null, time_before_expiry: 'P30D' }] }]);
    expect(types.azurerm_key_vault_certificate?.[0]?.attributes.certificate_attribute).toEqual([expect.objectContaining({ expires: '2026-01-01T00:00:00.000Z' })]);
    expect(result.complete.flatMap((c) => c.types)).toEqual(expect.arrayContaining(['azurerm_storage_account', 'azurerm_key_vault_secret', 'azurerm_key_vault_key', 'azurerm_key_vault_certificate']));
    expect(result.requests).toBeGreaterThanOrEqual(7);
    expect(ctx.units).toContainEqual({ service: 'resource_graph', region: null, status: 'succeeded', resources: 3 });

    // The catalogue judges the scanned data unchanged.
    const failing = await failingRules(result.resources);
    expect(failing.stlegacyexports).toEqual(expect.arrayContaining(['azure.storage.public_blob_access', 'azure.storage.https_not_enforced', 'azure.storage.min_tls_below_1_2']));
    expect(failing['nsg-jumpbox']).toContain('azure.network.nsg_rdp_open');
    expect(failing['db-password']).toContain('azure.keyvault.secret_without_expiry');
    expect(failing['stripe-api-key'] ?? []).not.toContain('azure.keyvault.secret_without_expiry');
    expect(failing['cmk-storage'] ?? []).not.toContain('azure.keyvault.key_without_expiry');
  });

  it('waits as Retry-After asks on 429, then succeeds', async () => {
    mockLogin();
    nock(ARM).post('/providers/Microsoft.ResourceGraph/resources').query(true).reply(429, { error: { code: 'RateLimiting', message: 'Please provide below info when asking for support: timestamp = 2026-12-02T10:00:00Z' } }, { 'Retry-After': '1', 'x-ms-user-quota-remaining': '0' });
    mockGraph([ROWS.slice(0, 2)]);
    mockApplications([[]]);
    const started = Date.now();
    const result = await collectAzure(credentials, SUBSCRIPTION, context());
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(result.failures).toEqual([]);
    expect(result.resources.map((r) => r.name).sort()).toEqual(['nsg-jumpbox', 'stlegacyexports']);
  });

  it('records a missing Key Vault permission as a failure naming it, reads the rest, and never claims that type complete', async () => {
    mockLogin();
    mockGraph([ROWS]);
    mockVault({ secrets: forbidden('Microsoft.KeyVault/vaults/secrets/readMetadata/action'), keys: { status: 200, body: keysPage }, certificates: { status: 200, body: certificatesPage } });
    mockApplications([[]]);
    const result = await collectAzure(credentials, SUBSCRIPTION, context());
    expect(result.failures).toEqual([{ service: 'keyvault', region: 'westeurope', code: 'Forbidden', message: expect.stringContaining('kv-payments'), missing_permission: 'Microsoft.KeyVault/vaults/secrets/readMetadata/action' }]);
    expect(result.resources.some((r) => r.type === 'azurerm_key_vault_secret')).toBe(false);
    expect(result.resources.some((r) => r.type === 'azurerm_key_vault_key')).toBe(true);
    const covered = result.complete.flatMap((c) => c.types);
    expect(covered).not.toContain('azurerm_key_vault_secret');
    expect(covered).toContain('azurerm_storage_account');
  });

  it('records Graph refusing the applications as a failure naming Application.Read.All, and keeps the rest', async () => {
    mockLogin();
    mockGraph([ROWS.slice(0, 2)]);
    mockApplications([], [], 403);
    const result = await collectAzure(credentials, SUBSCRIPTION, context());
    expect(result.failures).toEqual([{ service: 'graph', region: null, code: 'Authorization_RequestDenied', message: expect.stringContaining('Insufficient privileges'), missing_permission: 'Application.Read.All' }]);
    expect(result.resources.map((r) => r.name).sort()).toEqual(['nsg-jumpbox', 'stlegacyexports']);
    expect(result.complete.flatMap((c) => c.types)).not.toContain('azuread_application_password');
  });

  it('answers an empty subscription with no resources, no failures and every type complete', async () => {
    mockLogin();
    mockGraph([[]]);
    mockApplications([[]]);
    const result = await collectAzure(credentials, SUBSCRIPTION, context());
    expect(result).toMatchObject({ resources: [], failures: [] });
    expect(result.complete.flatMap((c) => c.types)).toEqual(expect.arrayContaining(['azurerm_storage_account', 'azurerm_key_vault_secret']));
  });

  it('skips a vault deleted between the Resource Graph read and the data-plane read, without a failure', async () => {
    mockLogin();
    mockGraph([ROWS]);
    mockVault({ secrets: { status: 404, body: { error: { code: 'VaultNotFound', message: 'The vault kv-payments was not found' } } } });
    mockApplications([[]]);
    const result = await collectAzure(credentials, SUBSCRIPTION, context());
    expect(result.failures).toEqual([]);
    expect(result.resources.filter((r) => r.type.startsWith('azurerm_key_vault_'))).toEqual([]);
    expect(result.resources).toHaveLength(3);
  });

  it('throws invalid_credentials for a wrong client secret (AADSTS7000215), without the secret in the message', async () => {
    mockLogin();
    const error = await collectAzure({ ...credentials, client_secret: 'wrong-secret-value' }, SUBSCRIPTION, context()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CollectorError);
    expect((error as CollectorError).code).toBe('invalid_credentials');
    expect((error as Error).message).toContain('AADSTS7000215');
    expect((error as Error).message).not.toContain('wrong-secret-value');
  });

  it('asks Resource Graph\'s change history for what changed since the last scan, and only newer vault items', async () => {
    mockLogin();
    const bodies: string[] = [];
    mockGraph([ROWS.slice(0, 1)], bodies);
    mockGraph([ROWS.slice(2)], bodies);
    mockVault({ secrets: { status: 200, body: secretsPage } });
    // Graph has no change history: an incremental scan still reads every app registration.
    const applicationUrls: string[] = [];
    mockApplications([APPLICATIONS], applicationUrls);
    const result = await collectAzure(credentials, SUBSCRIPTION, context({ mode: 'incremental', changedSince: new Date('2025-06-01T00:00:00Z') }));
    expect(applicationUrls).toHaveLength(1);
    expect(result.failures).toEqual([]);
    const query = JSON.parse(bodies[0] as string).query as string;
    expect(query).toContain('resourcechanges');
    expect(query).toContain('datetime(2025-06-01T00:00:00.000Z)');
    expect(result.complete).toEqual([]);
    expect(result.resources.filter((r) => !r.type.startsWith('azuread_')).map((r) => r.name).sort()).toEqual(['db-password', 'stlegacyexports']);
    expect(result.resources.filter((r) => r.type === 'azuread_application').map((r) => r.name).sort()).toEqual(['no-credentials', 'payments-api']);
  });

  it('verify names each permission and whether it worked', async () => {
    mockLogin();
    mockGraph([ROWS.slice(2)]);
    mockVault({ certificates: forbidden('Microsoft.KeyVault/vaults/certificates/read') });
    mockApplications([[]], [], 403);
    const checks = await verifyAzure(credentials, SUBSCRIPTION, context());
    expect(checks.map((c) => [c.permission, c.ok])).toEqual([
      ['Microsoft.ResourceGraph/resources/read', true],
      ['Application.Read.All', false],
      ['Microsoft.KeyVault/vaults/secrets/readMetadata/action', true],
      ['Microsoft.KeyVault/vaults/keys/read', true],
      ['Microsoft.KeyVault/vaults/certificates/read', false],
    ]);
  });
});

interface ChildOutput {
  ok: boolean;
  result?: { resources: CanonicalResource[]; failures: unknown[]; requests: number };
  error?: { code: string; message: string };
}

function runInChild(certPath: string, input: unknown): Promise<{ output: ChildOutput; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'support/run-collector.ts')], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: certPath, COLLECTOR_INPUT: JSON.stringify(input) },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('exit', () => {
      try {
        resolve({ output: JSON.parse(stdout) as ChildOutput, stderr });
      } catch {
        reject(new Error(`collector process printed no result: ${stderr}`));
      }
    });
  });
}

describe('Azure collector through the real HTTP stack (local https stand-in)', () => {
  it('signs in, pages Resource Graph and reads Key Vault through the SDKs, answering canonical resources', async () => {
    const certificate = selfSignedCertificate();
    const standIn = await startAzureStandIn(certificate, {
      tenantId: TENANT,
      clientSecret: SECRET,
      rows: ROWS,
      pageSize: 2,
      vaults: { 'kv-payments': { secrets: secretsPage.value, keys: keysPage.value, certificates: certificatesPage.value } },
      applications: APPLICATIONS,
    });
    try {
      const endpoints = { azureAuthorityHost: standIn.url, azureResourceManager: standIn.url, azureKeyVault: standIn.url, azureGraph: standIn.url };
      const { output, stderr } = await runInChild(certificate.certPath, { cloud: 'azure', credentials, target: SUBSCRIPTION, endpoints, mode: 'full', changedSince: null });
      expect(output.ok).toBe(true);
      const resources = output.result?.resources ?? [];
      expect(resources.map((r) => `${r.type} ${r.name ?? ''}`).sort()).toEqual([
        'azuread_application no-credentials',
        'azuread_application payments-api',
        'azuread_application_certificate CN=payments-api',
        'azuread_application_password prod',
        'azurerm_key_vault kv-payments',
        'azurerm_key_vault_certificate tls-cert',
        'azurerm_key_vault_key cmk-storage',
        'azurerm_key_vault_secret db-password',
        'azurerm_key_vault_secret stripe-api-key',
        'azurerm_network_security_group nsg-jumpbox',
        'azurerm_storage_account stlegacyexports',
      ]);
      expect(resources.find((r) => r.name === 'stripe-api-key')?.native_id).toBe(`${VAULT}/secrets/stripe-api-key`);
      expect(standIn.hits.graph).toBe(2);
      expect(standIn.hits.applications).toBe(1);
      expect(output.result?.failures).toEqual([]);
      expect(stderr).not.toContain(SECRET);

      const wrong = await runInChild(certificate.certPath, { cloud: 'azure', credentials: { ...credentials, client_secret: 'not-the-secret' }, target: SUBSCRIPTION, endpoints, mode: 'full', changedSince: null });
      expect(wrong.output).toMatchObject({ ok: false, error: { code: 'invalid_credentials', message: expect.stringContaining('AADSTS7000215') } });
    } finally {
      await standIn.close();
    }
  }, 120_000);
});

describe('the README\'s Azure least-privilege text', () => {
  it('names every permission the collector\'s calls need', () => {
    const readme = readFileSync(join(__dirname, '../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Azure'), readme.indexOf('### Google Cloud'));
    for (const permission of Object.values(AZURE_PERMISSIONS)) expect(section).toContain(permission);
  });
});
