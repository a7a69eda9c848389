import type { AzureCredentials } from '../discovery/collector';

/**
 * The calls a rotation makes, over REST: Entra ID's token endpoint, Microsoft Graph
 * (`addPassword`, `removePassword`) and Key Vault's secrets. Each base URL can be overridden
 * (DISCOVERY_AZURE_AUTHORITY_HOST, DISCOVERY_AZURE_GRAPH_ENDPOINT, DISCOVERY_AZURE_KEY_VAULT_ENDPOINT).
 * Errors name the cloud's answer, never a secret.
 */
export interface EntraEndpoints {
  azureAuthorityHost?: string;
  azureGraph?: string;
  azureKeyVault?: string;
}

const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const VAULT_SCOPE = 'https://vault.azure.net/.default';
const KEY_VAULT_API = 'api-version=7.4';
const TIMEOUT_MS = 30_000;

export class CloudCallError extends Error {}

export interface ApplicationInfo {
  appId: string;
  passwordKeyIds: string[];
}

export interface VaultSecretVersion {
  /** The secret's value: held in memory for a rollback only. */
  value: string;
  contentType: string | null;
  tags: Record<string, string>;
  expires: number | null;
}

function base(url: string | undefined, fallback: string): string {
  return (url ?? fallback).replace(/\/+$/, '');
}

async function call(url: string, init: RequestInit, what: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    throw new CloudCallError(`${what}: the service could not be reached (${error instanceof Error ? error.message : String(error)})`);
  }
  return response;
}

async function failure(response: Response, what: string): Promise<CloudCallError> {
  let detail = '';
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } | string; error_description?: string };
    if (typeof body.error === 'object' && body.error) detail = [body.error.code, body.error.message].filter(Boolean).join(': ');
    else if (typeof body.error === 'string') detail = [body.error, /AADSTS\d+/.exec(body.error_description ?? '')?.[0]].filter(Boolean).join(' ');
  } catch {
    // a body that is not JSON: the status says enough
  }
  return new CloudCallError(`${what} answered ${response.status}${detail ? ` (${detail.slice(0, 500)})` : ''}`);
}

/** A client-credentials token; with `secret` given it is the verification of that secret. */
export async function requestToken(endpoints: EntraEndpoints, tenantId: string, clientId: string, secret: string, scope: string): Promise<string> {
  const url = `${base(endpoints.azureAuthorityHost, 'https://login.microsoftonline.com')}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`;
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope });
  const response = await call(url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 'the Entra ID token endpoint');
  if (!response.ok) throw await failure(response, 'the Entra ID token endpoint');
  const token = ((await response.json()) as { access_token?: string }).access_token;
  if (typeof token !== 'string') throw new CloudCallError('the Entra ID token endpoint answered no access token');
  return token;
}

/** The connection's own tokens, for Graph and Key Vault. */
export class EntraSession {
  readonly #tokens = new Map<string, Promise<string>>();

  constructor(
    readonly endpoints: EntraEndpoints,
    readonly credentials: AzureCredentials,
  ) {}

  async token(scope: string): Promise<string> {
    let token = this.#tokens.get(scope);
    if (token === undefined) {
      token = this.#fetchToken(scope);
      token.catch(() => this.#tokens.delete(scope));
      this.#tokens.set(scope, token);
    }
    return token;
  }

  async #fetchToken(scope: string): Promise<string> {
    const { tenant_id: tenantId, client_id: clientId } = this.credentials;
    if (this.credentials.client_secret !== undefined) return requestToken(this.endpoints, tenantId, clientId, this.credentials.client_secret, scope);
    const identity = await import('@azure/identity');
    const authorityHost = this.endpoints.azureAuthorityHost;
    const credential = new identity.ClientCertificateCredential(tenantId, clientId, { certificate: this.credentials.client_certificate_pem ?? '' }, authorityHost ? { authorityHost, disableInstanceDiscovery: true } : {});
    try {
      return (await credential.getToken(scope)).token;
    } catch (error) {
      throw new CloudCallError(`Entra ID refused the connection's certificate (${/AADSTS\d+/.exec(String(error))?.[0] ?? 'no code'})`);
    }
  }

  #graph(path: string): string {
    return `${base(this.endpoints.azureGraph, 'https://graph.microsoft.com')}/v1.0${path}`;
  }

  async getApplication(applicationId: string): Promise<ApplicationInfo> {
    const response = await call(this.#graph(`/applications/${encodeURIComponent(applicationId)}?$select=id,appId,passwordCredentials`), { headers: { authorization: `Bearer ${await this.token(GRAPH_SCOPE)}` } }, 'Microsoft Graph (get application)');
    if (!response.ok) throw await failure(response, 'Microsoft Graph (get application)');
    const body = (await response.json()) as { appId?: string; passwordCredentials?: { keyId?: string }[] };
    return { appId: String(body.appId ?? ''), passwordKeyIds: (body.passwordCredentials ?? []).map((p) => String(p.keyId ?? '').toLowerCase()) };
  }

  /** A new password; its `secretText` is answered once and must stay in memory. */
  async addPassword(applicationId: string, displayName: string, endDateTime: Date): Promise<{ keyId: string; secretText: string }> {
    const response = await call(
      this.#graph(`/applications/${encodeURIComponent(applicationId)}/addPassword`),
      { method: 'POST', headers: { authorization: `Bearer ${await this.token(GRAPH_SCOPE)}`, 'content-type': 'application/json' }, body: JSON.stringify({ passwordCredential: { displayName, endDateTime: endDateTime.toISOString() } }) },
      'Microsoft Graph (addPassword)',
    );
    if (!response.ok) throw await failure(response, 'Microsoft Graph (addPassword)');
    const body = (await response.json()) as { keyId?: string; secretText?: string };
    if (typeof body.keyId !== 'string' || typeof body.secretText !== 'string') throw new CloudCallError('Microsoft Graph (addPassword) answered no keyId and secretText');
    return { keyId: body.keyId.toLowerCase(), secretText: body.secretText };
  }

  async removePassword(applicationId: string, keyId: string): Promise<void> {
    const response = await call(
      this.#graph(`/applications/${encodeURIComponent(applicationId)}/removePassword`),
      { method: 'POST', headers: { authorization: `Bearer ${await this.token(GRAPH_SCOPE)}`, 'content-type': 'application/json' }, body: JSON.stringify({ keyId }) },
      'Microsoft Graph (removePassword)',
    );
    if (!response.ok) throw await failure(response, 'Microsoft Graph (removePassword)');
  }

  /** `https://<vault>.vault.azure.net/secrets/<name>`, or under the override by vault name. */
  #secretUrl(secretUri: string): string {
    const url = new URL(secretUri);
    const name = url.pathname.split('/').filter(Boolean)[1] ?? '';
    const vault = this.endpoints.azureKeyVault === undefined ? url.origin : `${base(this.endpoints.azureKeyVault, '')}/${url.hostname.split('.')[0] ?? ''}`;
    return `${vault}/secrets/${encodeURIComponent(name)}`;
  }

  async getSecret(secretUri: string): Promise<VaultSecretVersion> {
    const what = `Key Vault (get ${secretUri})`;
    const response = await call(`${this.#secretUrl(secretUri)}?${KEY_VAULT_API}`, { headers: { authorization: `Bearer ${await this.token(VAULT_SCOPE)}` } }, what);
    if (!response.ok) throw await failure(response, what);
    const body = (await response.json()) as { value?: string; contentType?: string; tags?: Record<string, string>; attributes?: { exp?: number } };
    return { value: String(body.value ?? ''), contentType: body.contentType ?? null, tags: body.tags ?? {}, expires: body.attributes?.exp ?? null };
  }

  /** Writes a new current version. */
  async setSecret(secretUri: string, version: VaultSecretVersion): Promise<void> {
    const what = `Key Vault (set ${secretUri})`;
    const response = await call(
      `${this.#secretUrl(secretUri)}?${KEY_VAULT_API}`,
      {
        method: 'PUT',
        headers: { authorization: `Bearer ${await this.token(VAULT_SCOPE)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ value: version.value, ...(version.contentType ? { contentType: version.contentType } : {}), tags: version.tags, attributes: { enabled: true, ...(version.expires !== null ? { exp: version.expires } : {}) } }),
      },
      what,
    );
    if (!response.ok) throw await failure(response, what);
  }
}

export { GRAPH_SCOPE };
