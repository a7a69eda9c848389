import { createSign } from 'node:crypto';
import type { CloudEndpoints, GcpCredentials } from '../discovery/collector';
import { CloudCallError } from './entra-rotation-client';

/**
 * The GCP calls of a rotation, over REST: IAM's service-account keys (create, delete), Secret
 * Manager's versions (add, disable) and the OAuth token endpoint to verify a new key. With the
 * discovery override DISCOVERY_GCP_ENDPOINT every call goes to that base, the token endpoint
 * being `<base>/token`. The connection authenticates with self-signed JWTs of its own key.
 * Errors name the API's answer, never a key.
 */

interface KeyFile {
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri?: string;
}

const TIMEOUT_MS = 30_000;
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

function keyFile(json: string): KeyFile {
  let key: Partial<KeyFile>;
  try {
    key = JSON.parse(json) as Partial<KeyFile>;
  } catch {
    throw new CloudCallError('the service-account key is not JSON');
  }
  if (typeof key.client_email !== 'string' || typeof key.private_key !== 'string') throw new CloudCallError('the service-account key has no client_email and private_key');
  return key as KeyFile;
}

function signedJwt(key: KeyFile, claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const header = encode({ alg: 'RS256', typ: 'JWT', ...(key.private_key_id ? { kid: key.private_key_id } : {}) });
  const payload = encode({ iss: key.client_email, sub: key.client_email, iat: now, exp: now + 3600, ...claims });
  const signer = createSign('RSA-SHA256');
  signer.update(`${header}.${payload}`);
  return `${header}.${payload}.${signer.sign(key.private_key, 'base64url')}`;
}

async function failure(response: Response, what: string): Promise<CloudCallError> {
  let detail = '';
  try {
    const body = (await response.json()) as { error?: { status?: string; message?: string } | string; error_description?: string };
    if (typeof body.error === 'object' && body.error) detail = [body.error.status, body.error.message].filter(Boolean).join(': ');
    else if (typeof body.error === 'string') detail = [body.error, body.error_description].filter(Boolean).join(': ');
  } catch {
    // not JSON: the status says enough
  }
  return new CloudCallError(`${what} answered ${response.status}${detail ? ` (${detail.slice(0, 500)})` : ''}`);
}

async function call(url: string, init: RequestInit, what: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    throw new CloudCallError(`${what}: the service could not be reached (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!response.ok) throw await failure(response, what);
  return response;
}

/** A new key: its JSON key file is answered once and must stay in memory. */
export interface NewServiceAccountKey {
  /** `projects/<project>/serviceAccounts/<email>/keys/<id>` */
  name: string;
  keyId: string;
  keyJson: string;
}

export class GcpSession {
  readonly #key: KeyFile;

  constructor(
    readonly endpoints: CloudEndpoints,
    credentials: GcpCredentials,
  ) {
    this.#key = keyFile(credentials.service_account_key);
  }

  async #request(service: 'iam' | 'secretmanager', path: string, method: string, body: unknown, what: string): Promise<unknown> {
    const base = (this.endpoints.gcp ?? `https://${service}.googleapis.com`).replace(/\/+$/, '');
    const token = signedJwt(this.#key, { aud: `https://${service}.googleapis.com/` });
    const response = await call(`${base}/v1/${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }, what);
    const text = await response.text();
    return text === '' ? {} : (JSON.parse(text) as unknown);
  }

  async createKey(serviceAccountEmail: string): Promise<NewServiceAccountKey> {
    const what = `IAM (create a key of ${serviceAccountEmail})`;
    const created = (await this.#request('iam', `projects/-/serviceAccounts/${encodeURIComponent(serviceAccountEmail)}/keys`, 'POST', { privateKeyType: 'TYPE_GOOGLE_CREDENTIALS_FILE', keyAlgorithm: 'KEY_ALG_RSA_2048' }, what)) as {
      name?: string;
      privateKeyData?: string;
    };
    if (typeof created.name !== 'string' || typeof created.privateKeyData !== 'string') throw new CloudCallError(`${what} answered no name and privateKeyData`);
    return { name: created.name, keyId: created.name.split('/').at(-1) ?? '', keyJson: Buffer.from(created.privateKeyData, 'base64').toString('utf8') };
  }

  /** Whether the key exists: IAM answers 404 for a deleted one. */
  async keyExists(keyName: string): Promise<boolean> {
    try {
      await this.#request('iam', keyName, 'GET', undefined, `IAM (get key ${keyName})`);
      return true;
    } catch (error) {
      if (error instanceof CloudCallError && / answered 404\b/.test(error.message)) return false;
      throw error;
    }
  }

  async deleteKey(keyName: string): Promise<void> {
    await this.#request('iam', keyName, 'DELETE', undefined, `IAM (delete key ${keyName})`);
  }

  /** Adds a version to `secret` (`projects/<p>/secrets/<id>`); answers its name. */
  async addSecretVersion(secret: string, value: string): Promise<string> {
    const what = `Secret Manager (add a version to ${secret})`;
    const added = (await this.#request('secretmanager', `${secret}:addVersion`, 'POST', { payload: { data: Buffer.from(value, 'utf8').toString('base64') } }, what)) as { name?: string };
    if (typeof added.name !== 'string') throw new CloudCallError(`${what} answered no version name`);
    return added.name;
  }

  async disableSecretVersion(version: string): Promise<void> {
    await this.#request('secretmanager', `${version}:disable`, 'POST', {}, `Secret Manager (disable ${version})`);
  }
}

/** A token exchange (JWT bearer grant) signed with the new key: Google accepts it. */
export async function verifyServiceAccountKey(endpoints: CloudEndpoints, keyJson: string): Promise<void> {
  const key = keyFile(keyJson);
  const tokenUri = endpoints.gcp !== undefined ? `${endpoints.gcp.replace(/\/+$/, '')}/token` : (key.token_uri ?? 'https://oauth2.googleapis.com/token');
  const assertion = signedJwt(key, { aud: tokenUri, scope: 'https://www.googleapis.com/auth/cloud-platform' });
  const what = 'the Google token endpoint (with the new key)';
  const response = await call(tokenUri, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: JWT_BEARER, assertion }) }, what);
  const body = (await response.json()) as { access_token?: unknown };
  if (typeof body.access_token !== 'string') throw new CloudCallError(`${what} answered no access token`);
}
