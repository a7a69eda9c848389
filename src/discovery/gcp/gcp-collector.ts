import type { CanonicalResource } from '../../imports/canonical-resource';
import { errorMessage, mapBounded, parseRetryAfter, withCloudRetry, type RetryableError } from '../cloud-calls';
import {
  CollectorError,
  type CollectorContext,
  type CollectorFailure,
  type CollectorResult,
  type CompleteCoverage,
  type GcpCredentials,
  type GcpScope,
  type PermissionCheck,
} from '../collector';
import {
  GCP_ASSET_TYPES,
  GCP_IAM_TERRAFORM_TYPES,
  GCP_RESOURCE_TERRAFORM_TYPES,
  mapAssetIamPolicy,
  mapAssetResource,
  projectOf,
  secretAttributes,
  type GcpAsset,
} from './gcp-mapper';

/** The exact permission each read needs (roles/cloudasset.viewer, roles/iam.securityReviewer, roles/secretmanager.viewer). */
export const GCP_PERMISSIONS = {
  assets: 'cloudasset.assets.listResource',
  iamPolicies: 'cloudasset.assets.listIamPolicy',
  secrets: 'secretmanager.secrets.list',
} as const;

const PAGE_SIZE = 1000;
const IAM_ASSET_TYPES = ['cloudresourcemanager.googleapis.com/Project', 'storage.googleapis.com/Bucket'];
// gRPC codes gax answers with, as HTTP statuses.
const GRPC_TO_HTTP: Record<number, number> = { 3: 400, 5: 404, 7: 403, 8: 429, 14: 503, 16: 401 };

interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  project_id?: string;
}

interface GcpSession {
  key: ServiceAccountKey;
  ctx: CollectorContext;
  clientOptions: Record<string, string | number | object>;
  requests: number;
}

/**
 * Reads a GCP project (or every project under an organization or folder): every supported
 * resource and the project and bucket IAM policies through Cloud Asset Inventory `listAssets`,
 * then Secret Manager for each secret's expiry and rotation. An incremental read keeps only the
 * assets Cloud Asset says were updated since `ctx.changedSince`.
 */
export async function collectGcp(credentials: GcpCredentials, scope: GcpScope, ctx: CollectorContext): Promise<CollectorResult> {
  const session = openSession(credentials, ctx);
  const parent = parentOf(scope);
  const since = ctx.mode === 'incremental' ? ctx.changedSince : null;
  // Only a full scan may say what it saw completely: an incremental one never marks anything gone.
  const full = ctx.mode === 'full';
  const changed = (asset: GcpAsset): boolean => since === null || (timestampOf(asset.updateTime) ?? new Date()) > since;
  const resources: CanonicalResource[] = [];
  const failures: CollectorFailure[] = [];
  const complete: CompleteCoverage[] = [];
  const { AssetServiceClient } = await import('@google-cloud/asset');
  const assets = new AssetServiceClient(session.clientOptions);

  const nativeIdByAsset = new Map<string, string>();
  const secretAssets: { asset: GcpAsset; resource: CanonicalResource }[] = [];
  ctx.progress({ service: 'cloudasset', region: null, status: 'running', resources: 0 });
  try {
    await listAllAssets(session, assets, { parent, contentType: 'RESOURCE', assetTypes: GCP_ASSET_TYPES }, (asset) => {
      const resource = mapAssetResource(asset);
      if (resource === null) return;
      nativeIdByAsset.set(asset.name, resource.native_id);
      if (!changed(asset)) return;
      if (resource.type === 'google_secret_manager_secret') secretAssets.push({ asset, resource });
      else resources.push(resource);
    });
    if (full) complete.push({ types: GCP_RESOURCE_TERRAFORM_TYPES, region: null });
    ctx.progress({ service: 'cloudasset', region: null, status: 'succeeded', resources: resources.length + secretAssets.length });
  } catch (error) {
    rethrowIfFatal(error, ctx);
    failures.push(failureOf('cloudasset', error, GCP_PERMISSIONS.assets));
    ctx.progress({ service: 'cloudasset', region: null, status: 'failed', resources: resources.length });
  }

  ctx.progress({ service: 'cloudasset_iam', region: null, status: 'running', resources: 0 });
  try {
    let bindings = 0;
    await listAllAssets(session, assets, { parent, contentType: 'IAM_POLICY', assetTypes: IAM_ASSET_TYPES }, (asset) => {
      if (!changed(asset)) return;
      const mapped = mapAssetIamPolicy(asset, nativeIdByAsset.get(asset.name) ?? null);
      bindings += mapped.length;
      resources.push(...mapped);
    });
    if (full) complete.push({ types: GCP_IAM_TERRAFORM_TYPES, region: null });
    ctx.progress({ service: 'cloudasset_iam', region: null, status: 'succeeded', resources: bindings });
  } catch (error) {
    rethrowIfFatal(error, ctx);
    failures.push(failureOf('cloudasset_iam', error, GCP_PERMISSIONS.iamPolicies));
    ctx.progress({ service: 'cloudasset_iam', region: null, status: 'failed', resources: 0 });
  }

  if (secretAssets.length > 0) {
    const secrets = await readSecrets(session, secretAssets);
    resources.push(...secrets.resources);
    failures.push(...secrets.failures);
  }
  await assets.close();
  return { resources, failures, complete, requests: session.requests };
}

/** Tries each read the collector makes and answers, permission by permission, what worked. */
export async function verifyGcp(credentials: GcpCredentials, scope: GcpScope, ctx: CollectorContext): Promise<PermissionCheck[]> {
  const session = openSession(credentials, ctx);
  const parent = parentOf(scope);
  const { AssetServiceClient } = await import('@google-cloud/asset');
  const assets = new AssetServiceClient(session.clientOptions);
  const checks: PermissionCheck[] = [];
  const tries: [string, string, () => Promise<unknown>][] = [
    [GCP_PERMISSIONS.assets, 'cloudasset', () => assetPage(session, assets, { parent, contentType: 'RESOURCE', assetTypes: GCP_ASSET_TYPES, pageSize: 1 })],
    [GCP_PERMISSIONS.iamPolicies, 'cloudasset_iam', () => assetPage(session, assets, { parent, contentType: 'IAM_POLICY', assetTypes: IAM_ASSET_TYPES, pageSize: 1 })],
  ];
  if ('project_id' in scope) {
    tries.push([GCP_PERMISSIONS.secrets, 'secretmanager', async () => {
      const { SecretManagerServiceClient } = await import('@google-cloud/secret-manager');
      const client = new SecretManagerServiceClient(session.clientOptions);
      try {
        await secretPage(session, client, `projects/${scope.project_id}`, undefined, 1);
      } finally {
        await client.close();
      }
    }]);
  }
  try {
    for (const [permission, service, attempt] of tries) {
      try {
        await attempt();
        checks.push({ permission, service, ok: true, error: null });
      } catch (error) {
        rethrowIfFatal(error, ctx);
        checks.push({ permission, service, ok: false, error: `${codeOf(error)}: ${firstLine(errorMessage(error))}` });
      }
    }
  } finally {
    await assets.close();
  }
  return checks;
}

function openSession(credentials: GcpCredentials, ctx: CollectorContext): GcpSession {
  let key: ServiceAccountKey;
  try {
    const parsed = JSON.parse(credentials.service_account_key) as Partial<ServiceAccountKey>;
    if (typeof parsed.client_email !== 'string' || typeof parsed.private_key !== 'string') throw new Error('incomplete');
    key = { client_email: parsed.client_email, private_key: parsed.private_key, ...(typeof parsed.project_id === 'string' ? { project_id: parsed.project_id } : {}) };
  } catch {
    throw new CollectorError('invalid_credentials', 'the GCP connection\'s service-account key is not a key file (JSON with client_email and private_key)');
  }
  const clientOptions: Record<string, string | number | object> = {
    credentials: { client_email: key.client_email, private_key: key.private_key },
    ...(key.project_id === undefined ? {} : { projectId: key.project_id }),
    // REST rather than gRPC: one transport for Cloud Asset and Secret Manager, reachable through proxies and stand-ins.
    fallback: 'rest',
  };
  if (ctx.endpoints.gcp !== undefined) {
    const url = new URL(ctx.endpoints.gcp);
    const https = url.protocol === 'https:';
    Object.assign(clientOptions, { apiEndpoint: url.hostname, port: Number(url.port || (https ? 443 : 80)), protocol: https ? 'https' : 'http' });
  }
  return { key, ctx, clientOptions, requests: 0 };
}

function parentOf(scope: GcpScope): string {
  if ('project_id' in scope) return `projects/${scope.project_id}`;
  if ('organization_id' in scope) return `organizations/${scope.organization_id}`;
  return `folders/${scope.folder_id}`;
}

type AssetClient = InstanceType<Awaited<typeof import('@google-cloud/asset')>['AssetServiceClient']>;
type SecretClient = InstanceType<Awaited<typeof import('@google-cloud/secret-manager')>['SecretManagerServiceClient']>;

interface AssetRequest {
  parent: string;
  contentType: 'RESOURCE' | 'IAM_POLICY';
  assetTypes: string[];
  pageSize?: number;
  pageToken?: string;
}

async function assetPage(session: GcpSession, client: AssetClient, request: AssetRequest): Promise<{ assets: GcpAsset[]; nextPageToken: string | undefined }> {
  const [items, , raw] = await withCloudRetry(
    // Retries are ours: gax's own settings do not fire on REST errors, and ours honour Retry-After.
    () => client.listAssets({ pageSize: PAGE_SIZE, ...request }, { autoPaginate: false, maxRetries: 0 }),
    gcpRetryInfo,
    session.ctx.signal,
    () => { session.requests += 1; },
  );
  const token = (raw as { nextPageToken?: string | null } | undefined)?.nextPageToken;
  return { assets: items.map(toPlainAsset), nextPageToken: typeof token === 'string' && token !== '' ? token : undefined };
}

async function listAllAssets(session: GcpSession, client: AssetClient, request: AssetRequest, each: (asset: GcpAsset) => void): Promise<void> {
  let pageToken: string | undefined;
  do {
    session.ctx.signal.throwIfAborted();
    const page = await assetPage(session, client, { ...request, ...(pageToken === undefined ? {} : { pageToken }) });
    page.assets.forEach(each);
    pageToken = page.nextPageToken;
  } while (pageToken !== undefined);
}

async function secretPage(session: GcpSession, client: SecretClient, parent: string, pageToken: string | undefined, pageSize = PAGE_SIZE): Promise<{ secrets: Record<string, unknown>[]; nextPageToken: string | undefined }> {
  const [items, , raw] = await withCloudRetry(
    () => client.listSecrets({ parent, pageSize, ...(pageToken === undefined ? {} : { pageToken }) }, { autoPaginate: false, maxRetries: 0 }),
    gcpRetryInfo,
    session.ctx.signal,
    () => { session.requests += 1; },
  );
  const token = (raw as { nextPageToken?: string | null } | undefined)?.nextPageToken;
  return { secrets: items.map((s) => plain(s)), nextPageToken: typeof token === 'string' && token !== '' ? token : undefined };
}

/** Secret Manager's own view of each secret Cloud Asset listed: its current expiry and rotation. */
async function readSecrets(session: GcpSession, secretAssets: { asset: GcpAsset; resource: CanonicalResource }[]): Promise<{ resources: CanonicalResource[]; failures: CollectorFailure[] }> {
  const { ctx } = session;
  const { SecretManagerServiceClient } = await import('@google-cloud/secret-manager');
  const client = new SecretManagerServiceClient(session.clientOptions);
  const byProject = new Map<string, { asset: GcpAsset; resource: CanonicalResource }[]>();
  for (const entry of secretAssets) {
    const project = projectOf(entry.asset.name) ?? '';
    byProject.set(project, [...(byProject.get(project) ?? []), entry]);
  }
  const resources: CanonicalResource[] = [];
  const failures: CollectorFailure[] = [];
  ctx.progress({ service: 'secretmanager', region: null, status: 'running', resources: 0 });
  await mapBounded([...byProject.entries()], ctx.concurrency, async ([project, entries]) => {
    const current = new Map<string, Record<string, unknown>>();
    try {
      let pageToken: string | undefined;
      do {
        const page = await secretPage(session, client, `projects/${project}`, pageToken);
        for (const secret of page.secrets) if (typeof secret.name === 'string') current.set(secret.name.split('/').at(-1) ?? secret.name, secret);
        pageToken = page.nextPageToken;
      } while (pageToken !== undefined);
    } catch (error) {
      rethrowIfFatal(error, ctx);
      // Cloud Asset's copy of the secret still carries its expiry: keep it, report the failure.
      failures.push(failureOf('secretmanager', error, GCP_PERMISSIONS.secrets));
      resources.push(...entries.map((e) => e.resource));
      return;
    }
    for (const { asset, resource } of entries) {
      const secret = current.get(asset.name.split('/').at(-1) ?? '');
      // Deleted between the asset listing and this read: gone, not failed.
      if (secret === undefined) continue;
      resources.push({ ...resource, attributes: { ...resource.attributes, ...secretAttributes(secret).attributes } });
    }
  });
  await client.close();
  ctx.progress({ service: 'secretmanager', region: null, status: failures.length === 0 ? 'succeeded' : 'failed', resources: resources.length });
  return { resources, failures };
}

/** Protobuf message objects (and Struct values) as the plain REST JSON the mappers read. */
function toPlainAsset(asset: unknown): GcpAsset {
  return plain(asset) as unknown as GcpAsset;
}

function plain(message: unknown): Record<string, unknown> {
  const m = message as { toJSON?: () => unknown };
  const json = typeof m?.toJSON === 'function' ? m.toJSON() : message;
  return structToJson(json) as Record<string, unknown>;
}

/** A google.protobuf.Struct decoded as message ({fields: {k: {stringValue}}}) back to JSON; plain JSON passes through. */
function structToJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(structToJson);
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1 && keys[0] === 'fields' && record.fields !== null && typeof record.fields === 'object') {
    return Object.fromEntries(Object.entries(record.fields as Record<string, unknown>).map(([k, v]) => [k, structValue(v)]));
  }
  return Object.fromEntries(keys.map((k) => [k, structToJson(record[k])]));
}

function structValue(value: unknown): unknown {
  const v = (value ?? {}) as Record<string, unknown>;
  if ('stringValue' in v) return v.stringValue;
  if ('numberValue' in v) return v.numberValue;
  if ('boolValue' in v) return v.boolValue;
  if ('nullValue' in v) return null;
  if ('structValue' in v) return structToJson(v.structValue);
  if ('listValue' in v) return ((v.listValue as { values?: unknown[] } | undefined)?.values ?? []).map(structValue);
  return structToJson(value);
}

function timestampOf(value: unknown): Date | null {
  if (typeof value === 'string') {
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  const t = value as { seconds?: unknown; nanos?: unknown } | null;
  if (t !== null && typeof t === 'object' && t.seconds !== undefined) return new Date(Number(t.seconds) * 1000 + Math.floor(Number(t.nanos ?? 0) / 1e6));
  return null;
}

function statusOf(error: unknown): number | null {
  const e = error as { status?: unknown; code?: unknown; response?: { status?: unknown } } | null;
  if (typeof e?.status === 'number') return e.status;
  if (typeof e?.response?.status === 'number') return e.response.status;
  if (typeof e?.code === 'number') return e.code >= 100 ? e.code : (GRPC_TO_HTTP[e.code] ?? null);
  return null;
}

function codeOf(error: unknown): string {
  const status = statusOf(error);
  const reason = /"status":\s*"([A-Z_]+)"/.exec(errorMessage(error))?.[1];
  if (reason !== undefined) return reason;
  switch (status) {
    case 401: return 'UNAUTHENTICATED';
    case 403: return 'PERMISSION_DENIED';
    case 404: return 'NOT_FOUND';
    case 429: return 'RESOURCE_EXHAUSTED';
    case 503: return 'UNAVAILABLE';
    default: return status === null ? 'UNKNOWN' : `HTTP${status}`;
  }
}

function gcpRetryInfo(error: unknown): RetryableError {
  const headers = (error as { response?: { headers?: unknown } } | null)?.response?.headers;
  let retryAfter: string | null = null;
  if (headers instanceof Headers) retryAfter = headers.get('retry-after');
  else if (headers !== null && typeof headers === 'object') {
    const value = (headers as Record<string, unknown>)['retry-after'];
    retryAfter = typeof value === 'string' ? value : null;
  }
  return { status: statusOf(error), retryAfterSeconds: parseRetryAfter(retryAfter) };
}

/** Wrong credentials and a cancelled scan end the whole read; everything else is one unit's failure. */
function rethrowIfFatal(error: unknown, ctx: CollectorContext): void {
  ctx.signal.throwIfAborted();
  const message = errorMessage(error);
  if (statusOf(error) === 401 || /invalid_grant|DECODER routines|PEM|private key/i.test(message)) {
    throw new CollectorError('invalid_credentials', 'GCP rejected the service-account key: check that the key is current and not disabled');
  }
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT/.test(message)) {
    throw new CollectorError('cloud_unreachable', 'the Google Cloud APIs could not be reached');
  }
}

function failureOf(service: string, error: unknown, permission: string): CollectorFailure {
  const status = statusOf(error);
  const named = /Permission '([a-z]+\.[a-zA-Z]+\.[a-zA-Z]+)'/.exec(errorMessage(error))?.[1];
  return {
    service,
    region: null,
    code: codeOf(error),
    message: firstLine(errorMessage(error)),
    missing_permission: status === 403 ? (named ?? permission) : null,
  };
}

/** The API's own sentence when the error carries the REST error body, else the first line. */
function firstLine(message: string): string {
  try {
    const body = JSON.parse(message) as { error?: { message?: unknown } };
    if (typeof body.error?.message === 'string') return body.error.message.slice(0, 500);
  } catch {
    // not a JSON body
  }
  return (message.split('\n')[0] ?? '').slice(0, 500);
}
