import type { TokenCredential } from '@azure/core-auth';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { CanonicalResource } from '../../imports/canonical-resource';
import { errorMessage, mapBounded, parseRetryAfter, withCloudRetry, type RetryableError } from '../cloud-calls';
import {
  CollectorError,
  type AzureCredentials,
  type CollectorContext,
  type CollectorFailure,
  type CollectorResult,
  type CompleteCoverage,
  type PermissionCheck,
} from '../collector';
import {
  AZURE_ARM_TYPES,
  AZURE_GRAPH_TERRAFORM_TYPES,
  mapResourceGraphRow,
  mapRotationPolicy,
  mapVaultItem,
  vaultRefOf,
  type ResourceGraphRow,
  type VaultItemKind,
  type VaultItemProperties,
  type VaultRef,
} from './azure-mapper';
import { APPLICATIONS_SELECT, ENTRA_TERRAFORM_TYPES, mapApplication, type GraphApplication } from './entra-applications';

/** The exact permission each read needs (Reader for Resource Graph; Key Vault Reader's data actions for the vaults). */
export const AZURE_PERMISSIONS = {
  resourceGraph: 'Microsoft.ResourceGraph/resources/read',
  secrets: 'Microsoft.KeyVault/vaults/secrets/readMetadata/action',
  keys: 'Microsoft.KeyVault/vaults/keys/read',
  certificates: 'Microsoft.KeyVault/vaults/certificates/read',
  applications: 'Application.Read.All',
} as const;

const ARM_SCOPE = 'https://management.azure.com/.default';
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const APPLICATIONS_PAGE_SIZE = 999;
const GRAPH_PAGE_SIZE = 1000;
const KIND_PERMISSION: Record<VaultItemKind, string> = {
  secret: AZURE_PERMISSIONS.secrets,
  key: AZURE_PERMISSIONS.keys,
  certificate: AZURE_PERMISSIONS.certificates,
};
const KIND_TYPE: Record<VaultItemKind, string> = {
  secret: 'azurerm_key_vault_secret',
  key: 'azurerm_key_vault_key',
  certificate: 'azurerm_key_vault_certificate',
};

const PROJECTION = '| project id, name, type, location, resourceGroup, tags, properties, sku, kind, zones';

/** Every resource the collector maps and its properties, in one Resource Graph query. */
export function fullQuery(): string {
  return `resources | where type in~ (${AZURE_ARM_TYPES.map((t) => `'${t}'`).join(', ')}) ${PROJECTION}`;
}

/** The resources Resource Graph's change history says changed since `since` (creations and updates). */
export function incrementalQuery(since: Date): string {
  return [
    'resources',
    `| where type in~ (${AZURE_ARM_TYPES.map((t) => `'${t}'`).join(', ')})`,
    '| extend targetResourceId = tolower(id)',
    '| join kind=inner (resourcechanges',
    '    | extend changedAt = todatetime(properties.changeAttributes.timestamp), targetResourceId = tolower(tostring(properties.targetResourceId))',
    `    | where changedAt > datetime(${since.toISOString()})`,
    '    | summarize by targetResourceId) on targetResourceId',
    PROJECTION,
  ].join(' ');
}

export const VAULTS_QUERY = `resources | where type =~ 'microsoft.keyvault/vaults' ${PROJECTION}`;

interface AzureSession {
  credential: TokenCredential;
  subscriptionId: string;
  ctx: CollectorContext;
  requests: number;
  /** Set when the connection must trust an extra CA (DISCOVERY_AZURE_CA_FILE): every Azure client sends through it. */
  agent: https.Agent | undefined;
}

/**
 * Reads an Azure subscription: every supported resource through one Resource Graph query (paged
 * by skipToken), then each Key Vault's secrets, keys and certificates through the data plane for
 * their expiry. An incremental read asks Resource Graph's change history what changed since
 * `ctx.changedSince` and reads only vault items updated since then. Last, the tenant's app
 * registrations and their credentials' end dates through Microsoft Graph (always all of them:
 * Graph has no change history to ask).
 */
export async function collectAzure(credentials: AzureCredentials, subscriptionId: string, ctx: CollectorContext): Promise<CollectorResult> {
  const session = await openSession(credentials, subscriptionId, ctx);
  const resources: CanonicalResource[] = [];
  const failures: CollectorFailure[] = [];
  const complete: CompleteCoverage[] = [];
  const incremental = ctx.mode === 'incremental' && ctx.changedSince !== null;
  // Only a full scan may say what it saw completely: an incremental one never marks anything gone.
  const full = ctx.mode === 'full';

  ctx.progress({ service: 'resource_graph', region: null, status: 'running', resources: 0 });
  let vaults: VaultRef[] = [];
  try {
    const rows = await queryAll(session, incremental ? incrementalQuery(ctx.changedSince as Date) : fullQuery());
    for (const row of rows) {
      const resource = mapResourceGraphRow(row);
      if (resource !== null) resources.push(resource);
    }
    const vaultRows = incremental ? await queryAll(session, VAULTS_QUERY) : rows.filter((r) => r.type.toLowerCase() === 'microsoft.keyvault/vaults');
    vaults = vaultRows.map(vaultRefOf).filter((v): v is VaultRef => v !== null);
    if (full) complete.push({ types: AZURE_GRAPH_TERRAFORM_TYPES, region: null });
    ctx.progress({ service: 'resource_graph', region: null, status: 'succeeded', resources: resources.length });
  } catch (error) {
    ctx.signal.throwIfAborted();
    failures.push(failureOf('resource_graph', null, error, AZURE_PERMISSIONS.resourceGraph));
    ctx.progress({ service: 'resource_graph', region: null, status: 'failed', resources: resources.length });
  }

  if (vaults.length > 0) {
    const vaultResult = await readVaults(session, vaults, incremental ? ctx.changedSince : null);
    resources.push(...vaultResult.resources);
    failures.push(...vaultResult.failures);
    if (full) complete.push(...vaultResult.complete);
  } else if (failures.length === 0 && full) {
    complete.push({ types: Object.values(KIND_TYPE), region: null });
  }

  try {
    resources.push(...(await readApplications(session)));
    if (full) complete.push({ types: ENTRA_TERRAFORM_TYPES, region: null });
  } catch (error) {
    ctx.signal.throwIfAborted();
    failures.push(failureOf('graph', null, error, AZURE_PERMISSIONS.applications));
    ctx.progress({ service: 'graph', region: null, status: 'failed', resources: 0 });
  }

  return { resources, failures, complete, requests: session.requests };
}

/** Tries each read the collector makes and answers, permission by permission, what worked. */
export async function verifyAzure(credentials: AzureCredentials, subscriptionId: string, ctx: CollectorContext): Promise<PermissionCheck[]> {
  const session = await openSession(credentials, subscriptionId, ctx);
  const checks: PermissionCheck[] = [];
  let vault: VaultRef | null = null;
  try {
    const rows = await queryPage(session, `${VAULTS_QUERY} | take 1`, undefined, 1);
    vault = rows.data.map(vaultRefOf).find((v) => v !== null) ?? null;
    checks.push({ permission: AZURE_PERMISSIONS.resourceGraph, service: 'resource_graph', ok: true, error: null });
  } catch (error) {
    checks.push({ permission: AZURE_PERMISSIONS.resourceGraph, service: 'resource_graph', ok: false, error: checkError(error) });
  }
  try {
    await graphPage(session, applicationsUrl(session, 1));
    checks.push({ permission: AZURE_PERMISSIONS.applications, service: 'graph', ok: true, error: null });
  } catch (error) {
    checks.push({ permission: AZURE_PERMISSIONS.applications, service: 'graph', ok: false, error: checkError(error) });
  }
  if (vault !== null) {
    const clients = await vaultClients(session, vault);
    for (const kind of ['secret', 'key', 'certificate'] as const) {
      try {
        await firstPage(kind, clients);
        checks.push({ permission: KIND_PERMISSION[kind], service: 'keyvault', ok: true, error: null });
      } catch (error) {
        checks.push({ permission: KIND_PERMISSION[kind], service: 'keyvault', ok: false, error: checkError(error) });
      }
    }
  }
  return checks;
}

async function openSession(credentials: AzureCredentials, subscriptionId: string, ctx: CollectorContext): Promise<AzureSession> {
  const identity = await import('@azure/identity');
  const authorityHost = ctx.endpoints.azureAuthorityHost;
  const agent = extraCaAgent(ctx.endpoints.azureCaPem);
  const options = {
    ...(authorityHost === undefined ? {} : { authorityHost, disableInstanceDiscovery: true }),
    ...(agent === undefined ? {} : { agent }),
  };
  let credential: TokenCredential;
  if (credentials.client_secret !== undefined) {
    credential = new identity.ClientSecretCredential(credentials.tenant_id, credentials.client_id, credentials.client_secret, options);
  } else if (credentials.client_certificate_pem !== undefined) {
    credential = new identity.ClientCertificateCredential(credentials.tenant_id, credentials.client_id, { certificate: credentials.client_certificate_pem }, options);
  } else {
    throw new CollectorError('invalid_credentials', 'the Azure connection has neither a client secret nor a certificate');
  }
  const session: AzureSession = { credential, subscriptionId, ctx, requests: 0, agent };
  // One token up front: wrong credentials fail the scan with a clear code instead of every unit failing.
  try {
    session.requests += 1;
    await credential.getToken(ARM_SCOPE, { abortSignal: ctx.signal });
  } catch (error) {
    ctx.signal.throwIfAborted();
    throw authenticationError(error);
  }
  return session;
}

/**
 * An agent trusting `caPem` besides Node's public roots. The SDKs otherwise trust only what the
 * process was started with (NODE_EXTRA_CA_CERTS), which a configuration file cannot change.
 */
export function extraCaAgent(caPem: string | undefined): https.Agent | undefined {
  return caPem === undefined ? undefined : new https.Agent({ ca: [...tls.rootCertificates, caPem] });
}

function authenticationError(error: unknown): CollectorError {
  const message = errorMessage(error);
  if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|fetch failed|socket hang up|network_error/i.test(message)) {
    return new CollectorError('cloud_unreachable', 'Entra ID could not be reached to sign in the service principal');
  }
  // AADSTS7000215 (wrong secret), AADSTS700016 (unknown client), AADSTS90002 (unknown tenant): the code says which.
  const code = /AADSTS\d+/.exec(message)?.[0];
  return new CollectorError('invalid_credentials', `Entra ID rejected the service principal${code === undefined ? '' : ` (${code})`}: check the tenant id, client id and secret or certificate`);
}

async function queryAll(session: AzureSession, query: string): Promise<ResourceGraphRow[]> {
  const rows: ResourceGraphRow[] = [];
  let skipToken: string | undefined;
  do {
    const page = await queryPage(session, query, skipToken, GRAPH_PAGE_SIZE);
    rows.push(...page.data);
    session.ctx.progress({ service: 'resource_graph', region: null, status: 'running', resources: rows.length });
    skipToken = page.skipToken;
  } while (skipToken !== undefined);
  return rows;
}

type GraphClient = import('@azure/arm-resourcegraph').ResourceGraphClient;
const graphClients = new WeakMap<AzureSession, GraphClient>();

async function graphClient(session: AzureSession): Promise<GraphClient> {
  const existing = graphClients.get(session);
  if (existing !== undefined) return existing;
  const { ResourceGraphClient } = await import('@azure/arm-resourcegraph');
  const endpoint = session.ctx.endpoints.azureResourceManager;
  // 4.x takes baseUri, 5.x endpoint; retries are ours (withCloudRetry honours Retry-After).
  const options: Record<string, unknown> = { noRetryPolicy: true, retryOptions: { maxRetries: 0 } };
  if (endpoint !== undefined) {
    options.baseUri = endpoint;
    options.endpoint = endpoint;
  }
  // 4.x sends through @azure/ms-rest-js, which takes agents as agentSettings; 5.x's pipeline takes agent.
  if (session.agent !== undefined) {
    options.agentSettings = { http: http.globalAgent, https: session.agent };
    options.agent = session.agent;
  }
  const client = new ResourceGraphClient(session.credential, options);
  graphClients.set(session, client);
  return client;
}

async function queryPage(session: AzureSession, query: string, skipToken: string | undefined, top: number): Promise<{ data: ResourceGraphRow[]; skipToken: string | undefined }> {
  const client = await graphClient(session);
  const response = await withCloudRetry(
    () => client.resources({ subscriptions: [session.subscriptionId], query, options: { top, skipToken, resultFormat: 'objectArray' } }, { abortSignal: session.ctx.signal } as never),
    azureRetryInfo,
    session.ctx.signal,
    () => { session.requests += 1; },
  );
  const data = Array.isArray(response.data) ? (response.data as ResourceGraphRow[]) : [];
  return { data, skipToken: typeof response.skipToken === 'string' && response.skipToken !== '' ? response.skipToken : undefined };
}

type VaultClients = Awaited<ReturnType<typeof vaultClients>>;

async function vaultClients(session: AzureSession, vault: VaultRef) {
  // One after the other: concurrent first imports of the shared ESM dependencies race in some loaders (jest's vm modules).
  const { SecretClient } = await import('@azure/keyvault-secrets');
  const { KeyClient } = await import('@azure/keyvault-keys');
  const { CertificateClient } = await import('@azure/keyvault-certificates');
  const override = session.ctx.endpoints.azureKeyVault;
  // With an override, every vault is served under it by name: https://host:port/<vault name>.
  const url = override === undefined ? vault.uri : `${override.replace(/\/+$/, '')}/${vault.name}`;
  const countRequests = {
    name: 'fourfoldCountRequests',
    sendRequest: (request: never, next: (request: never) => Promise<never>) => {
      session.requests += 1;
      return next(request);
    },
  };
  const options = {
    // The pipeline's throttling retry honours Retry-After on 429 and 503.
    retryOptions: { maxRetries: 4, retryDelayInMs: 500, maxRetryDelayInMs: 16_000 },
    disableChallengeResourceVerification: override !== undefined || !/\.vault\.azure\.net/i.test(vault.uri),
    additionalPolicies: [{ policy: countRequests, position: 'perRetry' as const }],
    ...(session.agent === undefined ? {} : { agent: session.agent }),
  };
  return {
    secrets: new SecretClient(url, session.credential, options),
    keys: new KeyClient(url, session.credential, options),
    certificates: new CertificateClient(url, session.credential, options),
  };
}

async function firstPage(kind: VaultItemKind, clients: VaultClients): Promise<void> {
  const pages = kind === 'secret'
    ? clients.secrets.listPropertiesOfSecrets().byPage({ maxPageSize: 1 })
    : kind === 'key'
      ? clients.keys.listPropertiesOfKeys().byPage({ maxPageSize: 1 })
      : clients.certificates.listPropertiesOfCertificates().byPage({ maxPageSize: 1 });
  await pages.next();
}

async function listKind(kind: VaultItemKind, clients: VaultClients, signal: AbortSignal): Promise<VaultItemProperties[]> {
  const items: VaultItemProperties[] = [];
  const iterator = kind === 'secret'
    ? clients.secrets.listPropertiesOfSecrets({ abortSignal: signal })
    : kind === 'key'
      ? clients.keys.listPropertiesOfKeys({ abortSignal: signal })
      : clients.certificates.listPropertiesOfCertificates({ abortSignal: signal });
  for await (const item of iterator) {
    // Secrets that back a certificate are the certificate's own: the certificate is listed.
    if (kind === 'secret' && (item as { managed?: boolean }).managed === true) continue;
    items.push(item as VaultItemProperties);
  }
  return items;
}

async function readVaults(
  session: AzureSession,
  vaults: VaultRef[],
  changedSince: Date | null,
): Promise<{ resources: CanonicalResource[]; failures: CollectorFailure[]; complete: CompleteCoverage[] }> {
  const { ctx } = session;
  const resources: CanonicalResource[] = [];
  const failures: CollectorFailure[] = [];
  const readRegions: Record<VaultItemKind, Set<string | null>> = { secret: new Set(), key: new Set(), certificate: new Set() };
  const failedRegions: Record<VaultItemKind, Set<string | null>> = { secret: new Set(), key: new Set(), certificate: new Set() };
  ctx.progress({ service: 'keyvault', region: null, status: 'running', resources: 0 });

  await mapBounded(vaults, ctx.concurrency, async (vault) => {
    const clients = await vaultClients(session, vault);
    for (const kind of ['secret', 'key', 'certificate'] as const) {
      ctx.signal.throwIfAborted();
      let items: VaultItemProperties[];
      try {
        items = await listKind(kind, clients, ctx.signal);
      } catch (error) {
        ctx.signal.throwIfAborted();
        // Deleted between the Resource Graph read and this one: nothing left to read, nothing failed.
        if (statusOf(error) === 404) break;
        failures.push(failureOf('keyvault', vault.location, error, KIND_PERMISSION[kind], vault.name));
        failedRegions[kind].add(vault.location);
        continue;
      }
      readRegions[kind].add(vault.location);
      const changed = changedSince === null ? items : items.filter((i) => (i.updatedOn ?? i.createdOn ?? new Date()) > changedSince);
      for (const item of changed) {
        if (kind !== 'key') {
          resources.push(mapVaultItem(kind, vault, item));
          continue;
        }
        try {
          const policy = await clients.keys.getKeyRotationPolicy(item.name, { abortSignal: ctx.signal });
          resources.push(mapVaultItem(kind, vault, item, { rotation_policy: mapRotationPolicy(policy) }));
        } catch (error) {
          ctx.signal.throwIfAborted();
          if (statusOf(error) === 404 && codeOf(error) === 'KeyNotFound') continue;
          // Without the policy, "no rotation policy" would be a guess: the rule answers unknown.
          resources.push(mapVaultItem(kind, vault, item, {}, [['rotation_policy']]));
          if (statusOf(error) !== 404) failures.push(failureOf('keyvault', vault.location, error, AZURE_PERMISSIONS.keys, vault.name));
        }
      }
    }
    ctx.progress({ service: 'keyvault', region: null, status: 'running', resources: resources.length });
  });

  const complete: CompleteCoverage[] = [];
  for (const kind of ['secret', 'key', 'certificate'] as const) {
    if (failedRegions[kind].size === 0) complete.push({ types: [KIND_TYPE[kind]], region: null });
    else for (const region of readRegions[kind]) if (!failedRegions[kind].has(region)) complete.push({ types: [KIND_TYPE[kind]], region });
  }
  ctx.progress({ service: 'keyvault', region: null, status: failures.length === 0 ? 'succeeded' : 'failed', resources: resources.length });
  return { resources, failures, complete };
}

/** An answer of Microsoft Graph other than 2xx, shaped as the Azure SDKs' errors are (status, code, headers). */
class GraphError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string | null,
    readonly response: { headers: { get(name: string): string | undefined | null } },
    message: string,
  ) {
    super(message);
  }
}

function applicationsUrl(session: AzureSession, top: number): string {
  const graph = (session.ctx.endpoints.azureGraph ?? 'https://graph.microsoft.com').replace(/\/+$/, '');
  return `${graph}/v1.0/applications?$select=${APPLICATIONS_SELECT}&$top=${top}`;
}

async function graphPage(session: AzureSession, url: string): Promise<{ value: GraphApplication[]; nextLink: string | null }> {
  const { ctx } = session;
  const token = await session.credential.getToken(GRAPH_SCOPE, { abortSignal: ctx.signal });
  // The Azure SDK's own HTTP client, not fetch: it sends through the session's agent (DISCOVERY_AZURE_CA_FILE).
  const { createDefaultHttpClient, createHttpHeaders, createPipelineRequest } = await import('@azure/core-rest-pipeline');
  const request = createPipelineRequest({
    url,
    headers: createHttpHeaders({ authorization: `Bearer ${token?.token ?? ''}` }),
    abortSignal: ctx.signal,
  });
  // Set on the request itself: createPipelineRequest does not take an agent (the SDK's agentPolicy sets it so too).
  if (session.agent !== undefined) request.agent = session.agent;
  const response = await createDefaultHttpClient().sendRequest(request);
  let body: { value?: GraphApplication[]; '@odata.nextLink'?: string; error?: { code?: string; message?: string } } = {};
  try {
    body = JSON.parse(response.bodyAsText ?? '{}') as typeof body;
  } catch {
    // A body that is not JSON leaves the status to speak.
  }
  if (response.status < 200 || response.status > 299) {
    throw new GraphError(response.status, body.error?.code ?? null, { headers: response.headers }, `Microsoft Graph answered ${response.status}${body.error?.message ? `: ${body.error.message}` : ''}`);
  }
  return { value: Array.isArray(body.value) ? body.value : [], nextLink: typeof body['@odata.nextLink'] === 'string' ? body['@odata.nextLink'] : null };
}

/** Every app registration of the tenant and its password and certificate credentials, following `@odata.nextLink`. */
async function readApplications(session: AzureSession): Promise<CanonicalResource[]> {
  const { ctx } = session;
  const resources: CanonicalResource[] = [];
  ctx.progress({ service: 'graph', region: null, status: 'running', resources: 0 });
  let url: string | null = applicationsUrl(session, APPLICATIONS_PAGE_SIZE);
  while (url !== null) {
    const pageUrl: string = url;
    const page = await withCloudRetry(() => graphPage(session, pageUrl), azureRetryInfo, ctx.signal, () => { session.requests += 1; });
    for (const app of page.value) if (typeof app.id === 'string' && app.id !== '') resources.push(...mapApplication(app));
    ctx.progress({ service: 'graph', region: null, status: 'running', resources: resources.length });
    url = page.nextLink;
  }
  ctx.progress({ service: 'graph', region: null, status: 'succeeded', resources: resources.length });
  return resources;
}

function statusOf(error: unknown): number | null {
  const e = error as { statusCode?: unknown; status?: unknown } | null;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return typeof e?.status === 'number' ? e.status : null;
}

function codeOf(error: unknown): string | null {
  const e = error as { code?: unknown; body?: { error?: { code?: unknown } } } | null;
  if (typeof e?.code === 'string' && e.code !== '') return e.code;
  return typeof e?.body?.error?.code === 'string' ? e.body.error.code : null;
}

function azureRetryInfo(error: unknown): RetryableError {
  const headers = (error as { response?: { headers?: { get?: (name: string) => string | undefined | null } } } | null)?.response?.headers;
  const retryAfter = typeof headers?.get === 'function' ? headers.get('retry-after') : null;
  return { status: statusOf(error), retryAfterSeconds: parseRetryAfter(retryAfter) };
}

function failureOf(service: string, region: string | null, error: unknown, permission: string, vaultName?: string): CollectorFailure {
  const status = statusOf(error);
  const code = codeOf(error) ?? (status === null ? 'Error' : `HTTP${status}`);
  const denied = (status === 403 || status === 401) && !/firewall/i.test(code) && !/firewall/i.test(errorMessage(error));
  const where = vaultName === undefined ? '' : `vault ${vaultName}: `;
  return {
    service,
    region,
    code: status === 429 ? 'Throttled' : code,
    message: `${where}${firstLine(errorMessage(error))}`,
    missing_permission: denied ? permission : null,
  };
}

function checkError(error: unknown): string {
  return `${codeOf(error) ?? statusOf(error) ?? 'Error'}: ${firstLine(errorMessage(error))}`;
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? '').slice(0, 500);
}
