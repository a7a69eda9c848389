import { execFileSync } from 'node:child_process';
import { createPublicKey, createVerify, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
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

// ---------------------------------------------------------------------------------------------
// Rotation stand-ins: AWS (IAM, STS, Secrets Manager) and GCP (IAM keys, Secret Manager, token).

export interface SecretsManagerStandInSecret {
  versions: Map<string, string>;
  current: string;
  previous: string | null;
  pending?: string | null;
  /**
   * RotateSecret: `succeeds` moves AWSCURRENT to the new version once the secret was described twice; `fails`
   * leaves it AWSPENDING; `moves_then_fails` moves AWSCURRENT to it but leaves AWSPENDING on it too
   * (the function failed after its finishSecret step). Absent: no rotation function.
   */
  rotation?: 'succeeds' | 'fails' | 'moves_then_fails';
  /** While a rotation function runs: called on each DescribeSecret, it ends the function's work on the second. */
  functionRunning?: () => void;
}

export interface AwsRotationStandIn extends StandIn {
  accountId: string;
  /** The connection's access key (signs IAM and Secrets Manager calls). */
  connection: { accessKeyId: string; secretAccessKey: string };
  /** IAM users' access keys: key id → secret and status. */
  users: Map<string, Map<string, { secret: string; status: 'Active' | 'Inactive' }>>;
  /** Secrets Manager secrets by ARN: every version, and which holds AWSCURRENT / AWSPREVIOUS / AWSPENDING; `rotation`: what its rotation function does. */
  secrets: Map<string, SecretsManagerStandInSecret>;
  /** Every secret access key CreateAccessKey answered. */
  generated: string[];
  /** Operations answering an error (`CreateAccessKey`, `GetCallerIdentity`, …); `PutSecretValue:<arn>` for one secret only. */
  fail: Set<string>;
}

function xml(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
}

/** IAM and STS (query protocol, XML) and Secrets Manager (JSON) of one AWS account, on one endpoint. */
export async function startAwsRotationStandIn(): Promise<AwsRotationStandIn> {
  const hits: Record<string, number> = {};
  const hit = (route: string): void => { hits[route] = (hits[route] ?? 0) + 1; };
  const state = {
    accountId: '210987654321',
    connection: { accessKeyId: `AKIACONN${randomBytes(6).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(30).toString('base64') },
    users: new Map<string, Map<string, { secret: string; status: 'Active' | 'Inactive' }>>(),
    secrets: new Map<string, SecretsManagerStandInSecret>(),
    generated: [] as string[],
    fail: new Set<string>(),
  };
  const iamNs = 'https://iam.amazonaws.com/doc/2010-05-08/';
  const stsNs = 'https://sts.amazonaws.com/doc/2011-06-15/';
  const server = http.createServer((req, res) => {
    void (async () => {
      const body = await bodyOf(req);
      const signer = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
      const target = req.headers['x-amz-target'];
      if (typeof target === 'string') {
        // Secrets Manager, JSON protocol.
        const operation = target.split('.').at(-1) ?? '';
        hit(operation);
        const send = (status: number, value: unknown) => {
          res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
          res.end(JSON.stringify(value));
        };
        const input = JSON.parse(body || '{}') as Record<string, string>;
        if (signer !== state.connection.accessKeyId) return send(400, { __type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
        if (state.fail.has(operation) || state.fail.has(`${operation}:${input.SecretId ?? ''}`)) return send(400, { __type: 'AccessDeniedException', message: `User is not authorized to perform secretsmanager:${operation} (injected)` });
        const secret = state.secrets.get(input.SecretId ?? '');
        if (!secret) return send(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
        switch (operation) {
          case 'DescribeSecret': {
            secret.functionRunning?.();
            const stages: Record<string, string[]> = { [secret.current]: ['AWSCURRENT'] };
            if (secret.previous !== null) stages[secret.previous] = ['AWSPREVIOUS'];
            if (secret.pending) stages[secret.pending] = [...(stages[secret.pending] ?? []), 'AWSPENDING'];
            return send(200, { ARN: input.SecretId, Name: input.SecretId, VersionIdsToStages: stages });
          }
          case 'PutSecretValue': {
            const versionId = input.ClientRequestToken ?? randomUUID();
            secret.versions.set(versionId, input.SecretString ?? '');
            secret.previous = secret.current;
            secret.current = versionId;
            return send(200, { ARN: input.SecretId, Name: input.SecretId, VersionId: versionId, VersionStages: ['AWSCURRENT'] });
          }
          case 'RotateSecret': {
            if (secret.rotation === undefined) return send(400, { __type: 'InvalidRequestException', message: 'No Lambda rotation function ARN is associated with this secret.' });
            if (secret.pending) return send(400, { __type: 'InvalidRequestException', message: "A previous rotation isn't complete. That rotation will be reattempted." });
            const versionId = input.ClientRequestToken ?? randomUUID();
            // The function's new value stays inside the stand-in: fourfold never reads it.
            secret.versions.set(versionId, `rotated-${randomBytes(8).toString('hex')}`);
            secret.pending = versionId;
            if (secret.rotation === 'succeeds' || secret.rotation === 'moves_then_fails') {
              // The function ends as the secret is described the second time, however slow the machine.
              const finished = secret.rotation === 'succeeds';
              let describes = 0;
              secret.functionRunning = () => {
                describes += 1;
                if (describes < 2) return;
                secret.previous = secret.current;
                secret.current = versionId;
                if (finished) secret.pending = null;
                delete secret.functionRunning;
              };
            }
            return send(200, { ARN: input.SecretId, Name: input.SecretId, VersionId: versionId });
          }
          case 'UpdateSecretVersionStage': {
            if (input.VersionStage === 'AWSPENDING' && input.MoveToVersionId === undefined) {
              if (!secret.pending || input.RemoveFromVersionId !== secret.pending) return send(400, { __type: 'InvalidParameterException', message: 'bad stage move' });
              secret.pending = null;
              return send(200, { ARN: input.SecretId, Name: input.SecretId });
            }
            if (input.VersionStage !== 'AWSCURRENT' || input.RemoveFromVersionId !== secret.current || !secret.versions.has(input.MoveToVersionId ?? '')) {
              return send(400, { __type: 'InvalidParameterException', message: 'bad stage move' });
            }
            secret.previous = secret.current;
            secret.current = input.MoveToVersionId!;
            return send(200, { ARN: input.SecretId, Name: input.SecretId });
          }
          default:
            return send(400, { __type: 'UnknownOperationException', message: operation });
        }
      }
      const form = new URLSearchParams(body);
      const action = form.get('Action') ?? '';
      hit(action);
      const ns = action === 'GetCallerIdentity' ? stsNs : iamNs;
      const error = (status: number, code: string, message: string) =>
        xml(res, status, `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`);
      const ok = (result: string) => xml(res, 200, `<${action}Response xmlns="${ns}">${result ? `<${action}Result>${result}</${action}Result>` : ''}<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`);
      if (action === 'GetCallerIdentity') {
        const owner = [...state.users].find(([, keys]) => keys.get(signer)?.status === 'Active')?.[0];
        if (state.fail.has(action) || owner === undefined) return error(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
        return ok(`<Arn>arn:aws:iam::${state.accountId}:user/${owner}</Arn><UserId>AIDA${randomBytes(8).toString('hex').toUpperCase()}</UserId><Account>${state.accountId}</Account>`);
      }
      if (signer !== state.connection.accessKeyId) return error(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
      if (state.fail.has(action)) return error(403, 'AccessDenied', `User is not authorized to perform iam:${action} (injected)`);
      const userName = form.get('UserName') ?? '';
      const keys = state.users.get(userName);
      if (!keys) return error(404, 'NoSuchEntity', `The user with name ${userName} cannot be found.`);
      switch (action) {
        case 'CreateAccessKey': {
          if (keys.size >= 2) return error(409, 'LimitExceeded', 'Cannot exceed quota for AccessKeysPerUser: 2');
          const id = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
          const secret = randomBytes(30).toString('base64');
          keys.set(id, { secret, status: 'Active' });
          state.generated.push(secret);
          return ok(`<AccessKey><UserName>${userName}</UserName><AccessKeyId>${id}</AccessKeyId><Status>Active</Status><SecretAccessKey>${secret}</SecretAccessKey><CreateDate>${new Date().toISOString()}</CreateDate></AccessKey>`);
        }
        case 'ListAccessKeys': {
          const members = [...keys].map(([id, key]) => `<member><UserName>${userName}</UserName><AccessKeyId>${id}</AccessKeyId><Status>${key.status}</Status></member>`);
          return ok(`<AccessKeyMetadata>${members.join('')}</AccessKeyMetadata><IsTruncated>false</IsTruncated>`);
        }
        case 'UpdateAccessKey': {
          const key = keys.get(form.get('AccessKeyId') ?? '');
          if (!key) return error(404, 'NoSuchEntity', 'The Access Key with id cannot be found.');
          key.status = form.get('Status') === 'Inactive' ? 'Inactive' : 'Active';
          return ok('');
        }
        case 'DeleteAccessKey': {
          if (!keys.delete(form.get('AccessKeyId') ?? '')) return error(404, 'NoSuchEntity', 'The Access Key with id cannot be found.');
          return ok('');
        }
        default:
          return error(400, 'InvalidAction', action);
      }
    })();
  });
  const standIn = await listen(server, 'http', hits);
  return Object.assign(standIn, state);
}

export interface GcpRotationStandIn extends StandIn {
  projectId: string;
  /** The connection's key file (JSON) for `PUT /v1/accounts/{id}/connection`. */
  connectionKeyJson: string;
  /** Service accounts' keys: email → key id → public key (PEM). */
  serviceAccounts: Map<string, Map<string, string>>;
  /** Secret Manager secrets by `projects/<p>/secrets/<id>`: versions in order, with their state. */
  secrets: Map<string, { value: string; state: 'ENABLED' | 'DISABLED' }[]>;
  /** Every key file keys.create answered. */
  generated: string[];
  /** Injected failures: `createKey`, `deleteKey`, `token`, `addVersion:<secret>`, `disable`. */
  fail: Set<string>;
}

/** GCP IAM service-account keys, Secret Manager and the OAuth token endpoint over REST, on one endpoint. */
export async function startGcpRotationStandIn(): Promise<GcpRotationStandIn> {
  const hits: Record<string, number> = {};
  const hit = (route: string): void => { hits[route] = (hits[route] ?? 0) + 1; };
  const projectId = 'acme-rotate';
  const connection = testServiceAccountKey(projectId);
  const state = {
    projectId,
    connectionKeyJson: connection.keyJson,
    serviceAccounts: new Map<string, Map<string, string>>(),
    secrets: new Map<string, { value: string; state: 'ENABLED' | 'DISABLED' }[]>(),
    generated: [] as string[],
    fail: new Set<string>(),
  };
  const server = http.createServer((req, res) => {
    void (async () => {
      const body = await bodyOf(req);
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
      const error = (code: number, status: string, message: string) => json(res, code, { error: { code, status, message } });
      if (path === '/token') {
        hit('token');
        const assertion = new URLSearchParams(body).get('assertion') ?? '';
        const claims = JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString('utf8') || '{}') as { iss?: string };
        const keys = [...(state.serviceAccounts.get(claims.iss ?? '')?.values() ?? [])];
        const signedBy = (publicKeyPem: string) => {
          try {
            return jwtValid(`Bearer ${assertion}`, publicKeyPem);
          } catch {
            return false;
          }
        };
        if (state.fail.has('token') || !keys.some(signedBy)) return json(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
        return json(res, 200, { access_token: `ya29.${randomUUID()}`, expires_in: 3599, token_type: 'Bearer' });
      }
      if (!jwtValid(req.headers.authorization, connection.publicKeyPem)) return error(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
      const keys = /^\/v1\/projects\/-\/serviceAccounts\/([^/]+)\/keys(?:\/([^/]+))?$/.exec(path);
      if (keys !== null) {
        const email = keys[1]!;
        const accountKeys = state.serviceAccounts.get(email);
        if (!accountKeys) return error(404, 'NOT_FOUND', `Service account ${email} does not exist.`);
        if (req.method === 'POST' && keys[2] === undefined) {
          hit('createKey');
          if (state.fail.has('createKey')) return error(403, 'PERMISSION_DENIED', 'Permission iam.serviceAccountKeys.create denied (injected).');
          const keyId = randomBytes(20).toString('hex');
          const made = testServiceAccountKey(projectId);
          const keyJson = JSON.stringify({ ...(JSON.parse(made.keyJson) as object), private_key_id: keyId, client_email: email });
          accountKeys.set(keyId, made.publicKeyPem);
          state.generated.push(keyJson, made.privateKeyPem);
          return json(res, 200, { name: `projects/${projectId}/serviceAccounts/${email}/keys/${keyId}`, privateKeyType: 'TYPE_GOOGLE_CREDENTIALS_FILE', privateKeyData: Buffer.from(keyJson).toString('base64'), keyAlgorithm: 'KEY_ALG_RSA_2048' });
        }
        if (req.method === 'GET' && keys[2] !== undefined) {
          hit('getKey');
          if (!accountKeys.has(keys[2])) return error(404, 'NOT_FOUND', `Service account key ${keys[2]} does not exist.`);
          return json(res, 200, { name: `projects/${projectId}/serviceAccounts/${email}/keys/${keys[2]}`, keyType: 'USER_MANAGED' });
        }
        if (req.method === 'DELETE' && keys[2] !== undefined) {
          hit('deleteKey');
          if (state.fail.has('deleteKey')) return error(403, 'PERMISSION_DENIED', 'Permission iam.serviceAccountKeys.delete denied (injected).');
          if (!accountKeys.delete(keys[2])) return error(404, 'NOT_FOUND', `Service account key ${keys[2]} does not exist.`);
          return json(res, 200, {});
        }
      }
      const add = /^\/v1\/(projects\/[^/]+\/secrets\/[^/:]+):addVersion$/.exec(path);
      if (req.method === 'POST' && add !== null) {
        hit('addVersion');
        const versions = state.secrets.get(add[1]!);
        if (state.fail.has(`addVersion:${add[1]!}`)) return error(403, 'PERMISSION_DENIED', `Permission secretmanager.versions.add denied on ${add[1]!} (injected).`);
        if (!versions) return error(404, 'NOT_FOUND', `Secret [${add[1]!}] not found.`);
        const payload = JSON.parse(body) as { payload: { data: string } };
        versions.push({ value: Buffer.from(payload.payload.data, 'base64').toString('utf8'), state: 'ENABLED' });
        return json(res, 200, { name: `${add[1]!}/versions/${versions.length}`, state: 'ENABLED' });
      }
      const disable = /^\/v1\/(projects\/[^/]+\/secrets\/[^/:]+)\/versions\/(\d+):disable$/.exec(path);
      if (req.method === 'POST' && disable !== null) {
        hit('disable');
        const version = state.secrets.get(disable[1]!)?.[Number(disable[2]) - 1];
        if (state.fail.has('disable')) return error(403, 'PERMISSION_DENIED', 'Permission secretmanager.versions.disable denied (injected).');
        if (!version) return error(404, 'NOT_FOUND', `Secret Version [${path}] not found.`);
        version.state = 'DISABLED';
        return json(res, 200, { name: `${disable[1]!}/versions/${disable[2]!}`, state: 'DISABLED' });
      }
      return error(404, 'NOT_FOUND', path);
    })();
  });
  const standIn = await listen(server, 'http', hits);
  return Object.assign(standIn, state);
}
