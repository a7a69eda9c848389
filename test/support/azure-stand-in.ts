import { randomBytes, randomUUID } from 'node:crypto';
import nock from 'nock';

/**
 * One stand-in for the Azure a rotation and a sync talk to: Entra ID (token endpoint, OpenID
 * configuration), Microsoft Graph (an app registration: addPassword, removePassword) and Key
 * Vault (secrets with every version, certificates through their managed secrets, listing,
 * Key Vault's authentication challenge). It answers on one https address, intercepted in
 * process (nock), because MSAL and the Key Vault SDKs insist on https; the rotation's own
 * REST calls (fetch) reach it the same way. Failures can be injected at each step.
 */
export interface VaultVersion {
  version: string;
  value: string;
  /** Expiry, epoch seconds. */
  exp: number | null;
  contentType: string | null;
  tags: Record<string, string>;
  enabled: boolean;
}

export interface AzureStandIn {
  /** Authority host, Graph and Key Vault base at once (DISCOVERY_AZURE_AUTHORITY_HOST, _GRAPH_ENDPOINT, _KEY_VAULT_ENDPOINT). */
  url: string;
  tenantId: string;
  /** The connection's service principal. */
  connection: { clientId: string; clientSecret: string };
  /** The app registration a rotation rotates: object id, client id, passwords by key id. */
  application: { id: string; appId: string; passwords: Map<string, string> };
  /** Key Vault secrets by `<vault>/<name>`: every version, the last current. */
  secrets: Map<string, VaultVersion[]>;
  /** Key Vault certificates by `<vault>/<name>`, read through their managed secret of the same name: every version, the last current. */
  certificates: Map<string, VaultVersion[]>;
  /** Every secret value addPassword answered. */
  generated: string[];
  fail: {
    addPassword?: boolean;
    removePassword?: boolean;
    /** The token endpoint refuses the application's (rotated) passwords. */
    verify?: boolean;
    /** `<vault>/<name>` whose setSecret answers 403. */
    setSecret?: Set<string>;
    /** The next listing of secrets answers this status. */
    listSecrets?: number;
  };
  hits: Record<string, number>;
  /** Adds a version to a secret, as Key Vault's setSecret does (by hand, outside fourfold). */
  setSecret(vault: string, name: string, version: Partial<VaultVersion> & { value: string }): VaultVersion;
  /** Adds a version to a certificate. */
  setCertificate(vault: string, name: string, version: Partial<VaultVersion> & { value: string }): VaultVersion;
  close(): void;
}

type Answer = [number, unknown?, Record<string, string>?];

function newVersion(input: Partial<VaultVersion> & { value: string }): VaultVersion {
  return { version: randomBytes(16).toString('hex'), exp: null, contentType: null, tags: {}, enabled: true, ...input };
}

/** The settings that send fourfold's Entra ID, Microsoft Graph and Key Vault clients to a stand-in at `url`. */
export function azureEndpoints(url: string): Record<string, string> {
  return { DISCOVERY_AZURE_AUTHORITY_HOST: url, DISCOVERY_AZURE_GRAPH_ENDPOINT: url, DISCOVERY_AZURE_KEY_VAULT_ENDPOINT: url };
}

export function startAzureStandIn(): AzureStandIn {
  const url = `https://azure-${randomBytes(4).toString('hex')}.stand-in.test`;
  const tokens = new Set<string>();
  const standIn: AzureStandIn = {
    url,
    tenantId: randomUUID(),
    connection: { clientId: randomUUID(), clientSecret: `conn~${randomBytes(18).toString('base64url')}` },
    application: { id: randomUUID(), appId: randomUUID(), passwords: new Map() },
    secrets: new Map(),
    certificates: new Map(),
    generated: [],
    fail: {},
    hits: {},
    setSecret(vault, name, input) {
      const version = newVersion(input);
      standIn.secrets.set(`${vault}/${name}`, [...(standIn.secrets.get(`${vault}/${name}`) ?? []), version]);
      return version;
    },
    setCertificate(vault, name, input) {
      const version = newVersion(input);
      standIn.certificates.set(`${vault}/${name}`, [...(standIn.certificates.get(`${vault}/${name}`) ?? []), version]);
      return version;
    },
    close() {
      for (const interceptor of interceptors) nock.removeInterceptor(interceptor);
    },
  };
  const hit = (route: string): void => {
    standIn.hits[route] = (standIn.hits[route] ?? 0) + 1;
  };
  const graphError = (status: number, code: string, message: string): Answer => [status, { error: { code, message } }];
  const issueToken = (): Answer => {
    const token = `eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ jti: randomUUID() })).toString('base64url')}.sig`;
    tokens.add(token);
    return [200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token }];
  };

  function entra(method: string, path: string, body: string): Answer | null {
    const tenant = standIn.tenantId;
    if (method === 'GET' && path === `/${tenant}/v2.0/.well-known/openid-configuration`) {
      return [200, {
        token_endpoint: `${url}/${tenant}/oauth2/v2.0/token`,
        authorization_endpoint: `${url}/${tenant}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${url}/${tenant}/oauth2/v2.0/logout`,
        issuer: `${url}/${tenant}/v2.0`,
        jwks_uri: `${url}/${tenant}/discovery/v2.0/keys`,
      }];
    }
    if (method !== 'POST' || path !== `/${tenant}/oauth2/v2.0/token`) return null;
    const form = new URLSearchParams(body);
    const clientId = form.get('client_id');
    const secret = form.get('client_secret') ?? '';
    const isConnection = clientId === standIn.connection.clientId && secret === standIn.connection.clientSecret;
    const isApplication = clientId === standIn.application.appId && [...standIn.application.passwords.values()].includes(secret);
    hit(isConnection ? 'token' : 'verify');
    if (isConnection || (isApplication && !standIn.fail.verify)) return issueToken();
    return [401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.', error_codes: [7000215] }];
  }

  function graph(path: string, body: string): Answer | null {
    const match = /^\/v1\.0\/applications\/([^/]+)(?:\/(addPassword|removePassword))?$/.exec(path);
    if (match === null) return null;
    const app = standIn.application;
    if (match[1] !== app.id) return graphError(404, 'Request_ResourceNotFound', `Resource '${match[1] ?? ''}' does not exist.`);
    if (match[2] === undefined) {
      hit('application');
      return [200, { id: app.id, appId: app.appId, passwordCredentials: [...app.passwords.keys()].map((keyId) => ({ keyId, hint: 'abc', displayName: null })) }];
    }
    hit(match[2]);
    const request = JSON.parse(body || '{}') as { keyId?: string; passwordCredential?: { displayName?: string; endDateTime?: string } };
    if (match[2] === 'addPassword') {
      if (standIn.fail.addPassword) return graphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
      const keyId = randomUUID();
      const secretText = `rot~${randomBytes(27).toString('base64url')}`;
      app.passwords.set(keyId, secretText);
      standIn.generated.push(secretText);
      return [200, { keyId, secretText, hint: secretText.slice(0, 3), displayName: request.passwordCredential?.displayName ?? null, endDateTime: request.passwordCredential?.endDateTime }];
    }
    if (standIn.fail.removePassword) return graphError(503, 'ServiceUnavailable', 'Service unavailable.');
    if (!app.passwords.delete(String(request.keyId))) return graphError(400, 'InvalidKeyId', 'No password credential with this key id.');
    return [204];
  }

  function keyVault(method: string, path: string, body: string): Answer {
    const [vault = '', collection, name, versionId] = path.split('/').filter(Boolean).map(decodeURIComponent);
    const canonical = `https://${vault}.vault.azure.net`;
    const ofVault = (map: Map<string, VaultVersion[]>) => [...map].filter(([key]) => key.startsWith(`${vault}/`)).map(([key, versions]) => [key.slice(vault.length + 1), versions.at(-1)!] as const);
    const attributes = (v: VaultVersion) => ({ enabled: v.enabled, created: 1764000000, updated: 1764000000, recoveryLevel: 'Recoverable', ...(v.exp === null ? {} : { exp: v.exp }) });
    const properties = (kind: string, itemName: string, v: VaultVersion) => ({ id: `${canonical}/${kind}/${itemName}`, attributes: attributes(v), tags: v.tags, ...(v.contentType === null ? {} : { contentType: v.contentType }) });
    if (method === 'GET' && collection === 'secrets' && name === undefined) {
      hit('listSecrets');
      if (standIn.fail.listSecrets !== undefined) {
        const status = standIn.fail.listSecrets;
        delete standIn.fail.listSecrets;
        return graphError(status, 'Forbidden', 'Caller is not authorized to perform action on resource.');
      }
      const managed = ofVault(standIn.certificates).map(([n, v]) => ({ ...properties('secrets', n, v), managed: true }));
      return [200, { value: [...ofVault(standIn.secrets).map(([n, v]) => properties('secrets', n, v)), ...managed], nextLink: null }];
    }
    if (method === 'GET' && collection === 'certificates' && name === undefined) {
      hit('listCertificates');
      return [200, { value: ofVault(standIn.certificates).map(([n, v]) => ({ ...properties('certificates', n, v), x5t: 'fLi3U52HunIVNXubkEnf8tP6Wbo' })), nextLink: null }];
    }
    if (collection !== 'secrets' || name === undefined) return graphError(404, 'NotFound', path);
    const key = `${vault}/${name}`;
    if (method === 'GET') {
      hit('getSecret');
      const versions = standIn.secrets.get(key) ?? standIn.certificates.get(key);
      const found = versionId === undefined ? versions?.at(-1) : versions?.find((v) => v.version === versionId);
      if (found === undefined) return graphError(404, 'SecretNotFound', `A secret with (name/id) ${name} was not found in this key vault.`);
      return [200, { value: found.value, ...properties('secrets', `${name}/${found.version}`, found) }];
    }
    if (method !== 'PUT') return graphError(405, 'MethodNotAllowed', method);
    hit('setSecret');
    if (standIn.fail.setSecret?.has(key)) {
      return graphError(403, 'Forbidden', "Caller is not authorized to perform action on resource. Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'");
    }
    const request = JSON.parse(body) as { value: string; contentType?: string; tags?: Record<string, string>; attributes?: { exp?: number; enabled?: boolean } };
    const written = standIn.setSecret(vault, name, { value: request.value, exp: request.attributes?.exp ?? null, contentType: request.contentType ?? null, tags: request.tags ?? {}, enabled: request.attributes?.enabled ?? true });
    return [200, { ...properties('secrets', `${name}/${written.version}`, written) }];
  }

  function answer(method: string, path: string, authorization: string | undefined, body: string): Answer {
    const fromEntra = entra(method, path, body);
    if (fromEntra !== null) return fromEntra;
    const isGraph = path.startsWith('/v1.0/');
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    if (token === undefined || !tokens.has(token)) {
      if (isGraph) return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
      // Key Vault's challenge: the SDK asks for a token for the resource it names, then retries.
      return [401, '', { 'www-authenticate': `Bearer authorization="${url}/${standIn.tenantId}", resource="https://vault.azure.net"` }];
    }
    return (isGraph ? graph(path, body) : null) ?? keyVault(method, path, body);
  }

  const interceptors = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((method) => {
    const interceptor = nock(url).persist().intercept(/.*/, method).query(true);
    interceptor.reply(function reply(uri, requestBody) {
      const body = typeof requestBody === 'string' ? requestBody : JSON.stringify(requestBody);
      const authorization = this.req.headers.authorization as string | undefined;
      const [status, payload, headers] = answer(method, new URL(uri, url).pathname, authorization, body);
      const json = payload !== undefined && typeof payload !== 'string';
      return [status, json ? JSON.stringify(payload) : (payload ?? ''), { ...(json ? { 'content-type': 'application/json' } : {}), ...headers }];
    });
    return interceptor;
  });
  return standIn;
}
