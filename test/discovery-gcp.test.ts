import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import nock from 'nock';
import { CollectorError, type CollectorContext, type ScanUnitProgress } from '../src/discovery/collector';
import { GCP_PERMISSIONS, collectGcp, verifyGcp } from '../src/discovery/gcp/gcp-collector';
import type { CanonicalResource } from '../src/imports/canonical-resource';
import { formatPath } from '../src/rules/attribute-path';
import { loadCatalogue } from '../src/rules/catalogue';
import { evaluateInventory } from '../src/rules/evaluate-inventory';
import type { RuleResource } from '../src/rules/rule-evaluation';
import { startGcpStandIn, testServiceAccountKey } from './support/cloud-stand-ins';

const ASSET_API = 'https://cloudasset.googleapis.com';
const SECRETS_API = 'https://secretmanager.googleapis.com';
const FIXTURE = JSON.parse(readFileSync(join(__dirname, 'fixtures/discovery/gcp-assets.json'), 'utf8')) as {
  resources: Record<string, unknown>[];
  iamPolicies: Record<string, unknown>[];
  secrets: Record<string, Record<string, unknown>[]>;
};
const key = testServiceAccountKey('acme-prod');
const credentials = { service_account_key: key.keyJson };
const scope = { project_id: 'acme-prod' };

function context(overrides: Partial<CollectorContext> = {}): CollectorContext & { units: ScanUnitProgress[] } {
  const units: ScanUnitProgress[] = [];
  return { signal: new AbortController().signal, mode: 'full', changedSince: null, endpoints: {}, concurrency: 4, progress: (u) => units.push(u), units, ...overrides };
}

/** listAssets for one content type (RESOURCE = 1, IAM_POLICY = 2 as the REST fallback sends them), one reply per page. */
function mockAssets(contentType: 1 | 2, pages: Record<string, unknown>[][], seen: URLSearchParams[] = []): void {
  const scope = nock(ASSET_API);
  pages.forEach((assets, index) => {
    scope
      .get('/v1/projects/acme-prod/assets')
      .query((q) => String(q.contentType) === String(contentType) && (index === 0 ? q.pageToken === undefined : q.pageToken === `page-${index}`))
      .reply(200, (uri) => {
        seen.push(new URL(uri, ASSET_API).searchParams);
        return { readTime: '2026-12-02T09:00:00Z', assets, ...(index + 1 < pages.length ? { nextPageToken: `page-${index + 1}` } : {}) };
      });
  });
}

function mockSecrets(status: number, body: unknown): void {
  nock(SECRETS_API).get('/v1/projects/482915730112/secrets').query(true).reply(status, body as Record<string, unknown>);
}

const permissionDenied = (permission: string, resource: string) => ({
  error: { code: 403, message: `Permission '${permission}' denied for resource '${resource}' (or it may not exist).`, status: 'PERMISSION_DENIED', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'IAM_PERMISSION_DENIED', domain: 'iam.googleapis.com' }] },
});

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

describe('GCP collector (recorded responses)', () => {
  it('reads resources and IAM policies from Cloud Asset (paged) and expiry from Secret Manager, in the importers\' shapes', async () => {
    const seen: URLSearchParams[] = [];
    mockAssets(1, [FIXTURE.resources.slice(0, 2), FIXTURE.resources.slice(2)], seen);
    mockAssets(2, [FIXTURE.iamPolicies]);
    mockSecrets(200, { secrets: FIXTURE.secrets['482915730112'], totalSize: 1 });
    const ctx = context();
    const result = await collectGcp(credentials, scope, ctx);

    expect(result.failures).toEqual([]);
    expect(seen).toHaveLength(2);
    expect(seen[0]?.getAll('assetTypes')).toEqual(expect.arrayContaining(['storage.googleapis.com/Bucket', 'secretmanager.googleapis.com/Secret']));
    expect(result.requests).toBe(4);
    const bucket = result.resources.find((r) => r.type === 'google_storage_bucket');
    expect(bucket).toMatchObject({
      native_id: 'https://www.googleapis.com/storage/v1/b/acme-prod-exports',
      region: 'us-central1',
      tags: { env: 'prod' },
      attributes: { project: '482915730112', versioning: [{ enabled: false }], uniform_bucket_level_access: false, public_access_prevention: 'inherited' },
    });
    expect(result.resources.find((r) => r.type === 'google_compute_firewall')?.attributes).toMatchObject({ direction: 'INGRESS', source_ranges: ['0.0.0.0/0'], allow: [{ protocol: 'tcp', ports: ['22'] }], log_config: [] });
    expect(result.resources.filter((r) => r.type === 'google_project_iam_binding').map((r) => r.attributes.role).sort()).toEqual(['roles/editor', 'roles/viewer']);
    expect(result.resources.find((r) => r.type === 'google_storage_bucket_iam_binding')).toMatchObject({ attributes: { bucket: 'acme-prod-exports', members: ['allUsers'] }, relationships: [{ resource_native_id: bucket?.native_id }] });
    // old-token is in the asset listing but no longer in Secret Manager: deleted in between, left out.
    const secrets = result.resources.filter((r) => r.type === 'google_secret_manager_secret');
    expect(secrets.map((s) => [s.name, s.attributes.expire_time])).toEqual([['stripe-api-key', '2026-12-20T00:00:00Z']]);
    expect(result.complete.flatMap((c) => c.types)).toEqual(expect.arrayContaining(['google_storage_bucket', 'google_project_iam_binding']));
    expect(ctx.units).toContainEqual({ service: 'cloudasset', region: null, status: 'succeeded', resources: 5 });
    // A user-managed service-account key, with the end of its validity: a credential that expires.
    expect(seen[0]?.getAll('assetTypes')).toContain('iam.googleapis.com/ServiceAccountKey');
    expect(result.resources.find((r) => r.type === 'google_service_account_key')).toMatchObject({
      native_id: '//iam.googleapis.com/projects/acme-prod/serviceAccounts/payments-api@acme-prod.iam.gserviceaccount.com/keys/5c1f0e9a2b3d4c5e6f708192a3b4c5d6e7f80912',
      attributes: {
        id: 'projects/acme-prod/serviceAccounts/payments-api@acme-prod.iam.gserviceaccount.com/keys/5c1f0e9a2b3d4c5e6f708192a3b4c5d6e7f80912',
        service_account_id: 'payments-api@acme-prod.iam.gserviceaccount.com',
        key_id: '5c1f0e9a2b3d4c5e6f708192a3b4c5d6e7f80912',
        key_type: 'USER_MANAGED',
        valid_before: '2026-12-15T00:00:00Z',
      },
    });
    expect(result.complete.flatMap((c) => c.types)).toContain('google_service_account_key');

    const failing = await failingRules(result.resources);
    expect(failing['allow-ssh-anywhere']).toEqual(expect.arrayContaining(['gcp.compute.firewall_admin_ports_open', 'gcp.compute.firewall_logging_disabled']));
    expect(failing['roles/editor']).toEqual(expect.arrayContaining(['gcp.iam.basic_role_granted']));
    expect(failing['roles/viewer'] ?? []).not.toContain('gcp.iam.basic_role_granted');
    // The bucket's allUsers binding reaches the bucket through its relationship, as with imported data.
    expect(failing['acme-prod-exports']).toEqual(expect.arrayContaining(['gcp.storage.bucket_public', 'gcp.storage.uniform_access_disabled', 'gcp.storage.versioning_disabled']));
  });

  it('retries a 429 after its Retry-After, then succeeds', async () => {
    nock(ASSET_API).get('/v1/projects/acme-prod/assets').query((q) => String(q.contentType) === '1').reply(429, { error: { code: 429, message: 'Quota exceeded for quota metric \'List Assets requests\'', status: 'RESOURCE_EXHAUSTED' } }, { 'Retry-After': '1' });
    mockAssets(1, [FIXTURE.resources.slice(0, 2)]);
    mockAssets(2, [[]]);
    const started = Date.now();
    const result = await collectGcp(credentials, scope, context());
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(result.failures).toEqual([]);
    expect(result.resources.map((r) => r.name).sort()).toEqual(['acme-prod-exports', 'allow-ssh-anywhere']);
    expect(result.requests).toBe(3);
  });

  it('records a missing IAM-policy permission as a failure naming it, keeps the resources, and never claims the bindings complete', async () => {
    mockAssets(1, [FIXTURE.resources.slice(0, 2)]);
    nock(ASSET_API).get('/v1/projects/acme-prod/assets').query((q) => String(q.contentType) === '2').reply(403, permissionDenied('cloudasset.assets.listIamPolicy', 'projects/acme-prod'));
    const result = await collectGcp(credentials, scope, context());
    expect(result.failures).toEqual([{ service: 'cloudasset_iam', region: null, code: 'PERMISSION_DENIED', message: expect.stringContaining('cloudasset.assets.listIamPolicy'), missing_permission: 'cloudasset.assets.listIamPolicy' }]);
    expect(result.resources).toHaveLength(2);
    const covered = result.complete.flatMap((c) => c.types);
    expect(covered).toContain('google_storage_bucket');
    expect(covered).not.toContain('google_project_iam_binding');
  });

  it('keeps Cloud Asset\'s copy of the secrets when Secret Manager is denied, and reports it', async () => {
    mockAssets(1, [FIXTURE.resources.slice(2)]);
    mockAssets(2, [[]]);
    mockSecrets(403, permissionDenied('secretmanager.secrets.list', 'projects/482915730112'));
    const result = await collectGcp(credentials, scope, context());
    expect(result.failures).toEqual([expect.objectContaining({ service: 'secretmanager', missing_permission: 'secretmanager.secrets.list' })]);
    expect(result.resources.filter((r) => r.type === 'google_secret_manager_secret').map((r) => r.name).sort()).toEqual(['old-token', 'stripe-api-key']);
  });

  it('answers an empty project with no resources and no failures', async () => {
    mockAssets(1, [[]]);
    mockAssets(2, [[]]);
    const result = await collectGcp(credentials, scope, context());
    expect(result).toMatchObject({ resources: [], failures: [], requests: 2 });
  });

  it('keeps only assets updated since the last scan in an incremental read, and claims nothing complete', async () => {
    mockAssets(1, [FIXTURE.resources]);
    mockAssets(2, [FIXTURE.iamPolicies]);
    const result = await collectGcp(credentials, scope, context({ mode: 'incremental', changedSince: new Date('2026-11-01T00:00:00Z') }));
    expect(result.resources.map((r) => `${r.type} ${r.name ?? ''}`).sort()).toEqual(['google_storage_bucket acme-prod-exports', 'google_storage_bucket_iam_binding roles/storage.objectViewer']);
    expect(result.complete).toEqual([]);
  });

  it('throws invalid_credentials for a key GCP rejects, and for text that is not a key', async () => {
    nock(ASSET_API).get('/v1/projects/acme-prod/assets').query(true).reply(401, { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } });
    const rejected = await collectGcp(credentials, scope, context()).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(CollectorError);
    expect((rejected as CollectorError).code).toBe('invalid_credentials');
    const malformed = await collectGcp({ service_account_key: '{"type": "service_account"' }, scope, context()).catch((e: unknown) => e);
    expect((malformed as CollectorError).code).toBe('invalid_credentials');
  });

  it('verify names each permission and whether it worked', async () => {
    mockAssets(1, [[]]);
    nock(ASSET_API).get('/v1/projects/acme-prod/assets').query((q) => String(q.contentType) === '2').reply(403, permissionDenied('cloudasset.assets.listIamPolicy', 'projects/acme-prod'));
    nock(SECRETS_API).get('/v1/projects/acme-prod/secrets').query(true).reply(200, { secrets: [] });
    const checks = await verifyGcp(credentials, scope, context());
    expect(checks.map((c) => [c.permission, c.ok])).toEqual([
      ['cloudasset.assets.listResource', true],
      ['cloudasset.assets.listIamPolicy', false],
      ['secretmanager.secrets.list', true],
    ]);
  });
});

describe('GCP collector through the real HTTP stack (local stand-in)', () => {
  it('signs each call with the key, pages Cloud Asset and reads Secret Manager over REST, answering canonical resources', async () => {
    const standIn = await startGcpStandIn({ publicKeyPem: key.publicKeyPem, resources: FIXTURE.resources, iamPolicies: FIXTURE.iamPolicies, secrets: FIXTURE.secrets, pageSize: 1 });
    try {
      const result = await collectGcp(credentials, scope, context({ endpoints: { gcp: standIn.url } }));
      expect(result.failures).toEqual([]);
      expect(result.resources.map((r) => `${r.type} ${r.name ?? ''}`).sort()).toEqual([
        'google_compute_firewall allow-ssh-anywhere',
        'google_project_iam_binding roles/editor',
        'google_project_iam_binding roles/viewer',
        'google_secret_manager_secret stripe-api-key',
        'google_service_account_key 5c1f0e9a2b3d4c5e6f708192a3b4c5d6e7f80912',
        'google_storage_bucket acme-prod-exports',
        'google_storage_bucket_iam_binding roles/storage.objectViewer',
      ]);
      expect(result.resources.find((r) => r.name === 'stripe-api-key')?.attributes.expire_time).toBe('2026-12-20T00:00:00Z');
      expect(standIn.hits).toEqual({ assets: 5, iam: 2, secrets: 1 });

      const other = testServiceAccountKey('acme-prod');
      const rejected = await collectGcp({ service_account_key: other.keyJson }, scope, context({ endpoints: { gcp: standIn.url } })).catch((e: unknown) => e);
      expect((rejected as CollectorError).code).toBe('invalid_credentials');
    } finally {
      await standIn.close();
    }
  });
});

describe('the README\'s GCP least-privilege text', () => {
  it('names every permission the collector\'s calls need', () => {
    const readme = readFileSync(join(__dirname, '../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Google Cloud'));
    for (const permission of Object.values(GCP_PERMISSIONS)) expect(section).toContain(permission);
  });
});
