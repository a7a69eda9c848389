import { execFileSync } from 'node:child_process';
import { createPublicKey, createVerify, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Local servers standing in for Azure (Entra ID, Resource Graph, Key Vault: https, as MSAL and
 * the Azure pipeline insist) and Google Cloud (Cloud Asset, Secret Manager over REST) so the
 * SDKs' signing, serialization and paging run for real against recorded-shape answers.
 */
export interface StandIn {
  url: string;
  /** Requests served, by route (e.g. "graph", "token", "secrets"). */
  hits: Record<string, number>;
  close(): Promise<void>;
}

export interface AzureStandInData {
  tenantId: string;
  clientSecret: string;
  /** Resource Graph rows; served `pageSize` per page with a skipToken. */
  rows: Record<string, unknown>[];
  pageSize?: number;
  /** Key Vault contents by vault name; a vault missing here answers 404 (deleted after the listing). */
  vaults: Record<string, { secrets?: Record<string, unknown>[]; keys?: Record<string, unknown>[]; certificates?: Record<string, unknown>[]; forbidden?: ('secrets' | 'keys' | 'certificates')[] }>;
  /** Answer this many Resource Graph calls with 429 + Retry-After first. */
  throttleGraph?: number;
  /** Resource Graph's change history: a query joining `resourcechanges` answers the rows changed after its `datetime(…)`. */
  changes?: { targetResourceId: string; timestamp: string }[];
  /** Microsoft Graph's app registrations (`GET /v1.0/applications`), served `$top` per page with an @odata.nextLink. */
  applications?: Record<string, unknown>[];
}

export interface SelfSignedCertificate {
  certPath: string;
  cert: string;
  key: string;
}

/** A certificate for 127.0.0.1, made with openssl; trust it in a child process with NODE_EXTRA_CA_CERTS. */
export function selfSignedCertificate(): SelfSignedCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'fourfold-standin-'));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyPath, '-out', certPath,
  ], { stdio: 'ignore' });
  return { certPath, cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
}

function listen(server: http.Server, protocol: 'http' | 'https', hits: Record<string, number>): Promise<StandIn> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `${protocol}://127.0.0.1:${port}`,
        hits,
        close: () => new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function bodyOf(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startAzureStandIn(certificate: SelfSignedCertificate, data: AzureStandInData): Promise<StandIn> {
  const hits: Record<string, number> = {};
  const hit = (route: string): void => { hits[route] = (hits[route] ?? 0) + 1; };
  let base = '';
  let graphThrottles = data.throttleGraph ?? 0;
  const server = https.createServer({ cert: certificate.cert, key: certificate.key }, (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', base);
      const body = await bodyOf(req);
      const path = url.pathname;
      if (path.endsWith('/.well-known/openid-configuration')) {
        hit('metadata');
        const authority = `${base}/${data.tenantId}`;
        json(res, 200, {
          token_endpoint: `${authority}/oauth2/v2.0/token`,
          authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
          end_session_endpoint: `${authority}/oauth2/v2.0/logout`,
          issuer: `${authority}/v2.0`,
          jwks_uri: `${authority}/discovery/v2.0/keys`,
        });
        return;
      }
      if (path.endsWith('/oauth2/v2.0/token')) {
        hit('token');
        const form = new URLSearchParams(body);
        if (form.get('client_secret') !== data.clientSecret) {
          json(res, 401, {
            error: 'invalid_client',
            error_description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value. Trace ID: 0 Correlation ID: 0 Timestamp: ${new Date().toISOString()}`,
            error_codes: [7000215],
          });
          return;
        }
        json(res, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: `token-for-${form.get('scope') ?? ''}` });
        return;
      }
      if (path === '/providers/Microsoft.ResourceGraph/resources') {
        hit('graph');
        if (graphThrottles > 0) {
          graphThrottles -= 1;
          json(res, 429, { error: { code: 'RateLimiting', message: 'Please provide below info when asking for support' } }, { 'retry-after': '1' });
          return;
        }
        const request = JSON.parse(body) as { query: string; options?: { $skipToken?: string; $top?: number } };
        const vaultsOnly = /=~ 'microsoft\.keyvault\/vaults'/.test(request.query);
        const since = /resourcechanges[\s\S]*datetime\(([^)]+)\)/.exec(request.query)?.[1];
        const changed = new Set((data.changes ?? []).filter((c) => since !== undefined && c.timestamp > since).map((c) => c.targetResourceId.toLowerCase()));
        const all = vaultsOnly
          ? data.rows.filter((r) => String(r.type).toLowerCase() === 'microsoft.keyvault/vaults')
          : since === undefined ? data.rows : data.rows.filter((r) => changed.has(String(r.id).toLowerCase()));
        const size = Math.min(data.pageSize ?? 1000, request.options?.$top ?? 1000);
        const start = Number(request.options?.$skipToken ?? '0');
        const page = all.slice(start, start + size);
        const next = start + size < all.length ? String(start + size) : undefined;
        json(res, 200, { totalRecords: all.length, count: page.length, resultTruncated: 'false', data: page, ...(next === undefined ? {} : { $skipToken: next }) });
        return;
      }
      if (path === '/v1.0/applications') {
        hit('applications');
        const all = data.applications ?? [];
        const size = Number(url.searchParams.get('$top') ?? '100');
        const start = Number(url.searchParams.get('$skiptoken') ?? '0');
        const next = start + size < all.length ? `${base}/v1.0/applications?$top=${size}&$skiptoken=${start + size}` : undefined;
        json(res, 200, { value: all.slice(start, start + size), ...(next === undefined ? {} : { '@odata.nextLink': next }) });
        return;
      }
      // Key Vault: /<vault>/<secrets|keys|certificates>[/<name>/rotationpolicy]
      const [, vaultName, collection, itemName, sub] = path.split('/');
      if (req.headers.authorization === undefined) {
        hit('challenge');
        res.writeHead(401, { 'www-authenticate': `Bearer authorization="${base}/${data.tenantId}", resource="https://vault.azure.net"` });
        res.end();
        return;
      }
      const vault = data.vaults[vaultName ?? ''];
      if (collection === 'secrets' || collection === 'keys' || collection === 'certificates') {
        hit(collection);
        if (vault === undefined) {
          json(res, 404, { error: { code: 'VaultNotFound', message: `Vault ${vaultName ?? ''} not found` } });
          return;
        }
        if (vault.forbidden?.includes(collection)) {
          json(res, 403, { error: { code: 'Forbidden', message: `Caller is not authorized to perform action on resource. Action: 'Microsoft.KeyVault/vaults/${collection}/readMetadata/action'`, innererror: { code: 'ForbiddenByRbac' } } });
          return;
        }
        if (sub === 'rotationpolicy') {
          json(res, 200, { id: `${base}/${vaultName ?? ''}/keys/${itemName ?? ''}/rotationpolicy`, lifetimeActions: [], attributes: {} });
          return;
        }
        json(res, 200, { value: vault[collection] ?? [], nextLink: null });
        return;
      }
      json(res, 404, { error: { code: 'NotFound', message: path } });
    })();
  });
  const standIn = await listen(server, 'https', hits);
  base = standIn.url;
  return standIn;
}

export interface GcpStandInData {
  /** The key the stand-in accepts: JWTs signed by any other key answer 401. */
  publicKeyPem: string;
  resources: Record<string, unknown>[];
  iamPolicies: Record<string, unknown>[];
  /** Secret Manager's listing per project (by number or id). */
  secrets: Record<string, Record<string, unknown>[]>;
  pageSize?: number;
  forbidSecrets?: boolean;
}

function jwtValid(authorization: string | undefined, publicKeyPem: string): boolean {
  const token = authorization?.replace(/^Bearer /, '') ?? '';
  const [header, payload, signature] = token.split('.');
  if (header === undefined || payload === undefined || signature === undefined) return false;
  const verifier = createVerify('RSA-SHA256');
  verifier.update(`${header}.${payload}`);
  return verifier.verify(createPublicKey(publicKeyPem), Buffer.from(signature, 'base64url'));
}

export async function startGcpStandIn(data: GcpStandInData): Promise<StandIn> {
  const hits: Record<string, number> = {};
  const hit = (route: string): void => { hits[route] = (hits[route] ?? 0) + 1; };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (!jwtValid(req.headers.authorization, data.publicKeyPem)) {
      json(res, 401, { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } });
      return;
    }
    const size = Math.min(data.pageSize ?? 1000, Number(url.searchParams.get('pageSize') ?? '1000'));
    const start = Number(url.searchParams.get('pageToken') || '0');
    const page = <T>(items: T[]): { items: T[]; next: string | undefined } => ({
      items: items.slice(start, start + size),
      next: start + size < items.length ? String(start + size) : undefined,
    });
    if (url.pathname.endsWith('/assets')) {
      const contentType = url.searchParams.get('contentType');
      const iam = contentType === '2' || contentType === 'IAM_POLICY';
      hit(iam ? 'iam' : 'assets');
      const { items, next } = page(iam ? data.iamPolicies : data.resources);
      json(res, 200, { readTime: new Date().toISOString(), assets: items, ...(next === undefined ? {} : { nextPageToken: next }) });
      return;
    }
    const secrets = /^\/v1\/projects\/([^/]+)\/secrets$/.exec(url.pathname);
    if (secrets !== null) {
      hit('secrets');
      if (data.forbidSecrets === true) {
        json(res, 403, { error: { code: 403, message: `Permission 'secretmanager.secrets.list' denied for resource 'projects/${secrets[1] ?? ''}' (or it may not exist).`, status: 'PERMISSION_DENIED' } });
        return;
      }
      const { items, next } = page(data.secrets[secrets[1] ?? ''] ?? []);
      json(res, 200, { secrets: items, totalSize: items.length, ...(next === undefined ? {} : { nextPageToken: next }) });
      return;
    }
    json(res, 404, { error: { code: 404, message: url.pathname, status: 'NOT_FOUND' } });
  });
  return listen(server, 'http', hits);
}

/** A service-account key file for tests: a fresh RSA key, and the public half for the stand-in. */
export function testServiceAccountKey(projectId: string): { keyJson: string; publicKeyPem: string; privateKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const keyJson = JSON.stringify({
    type: 'service_account',
    project_id: projectId,
    private_key_id: 'test-key-1',
    private_key: privateKeyPem,
    client_email: `fourfold-scanner@${projectId}.iam.gserviceaccount.com`,
    client_id: '100000000000000000001',
    token_uri: 'https://oauth2.googleapis.com/token',
  });
  return { keyJson, privateKeyPem, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}
