import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * One local server standing in for what a rotation calls: Entra ID's token endpoint, Microsoft
 * Graph (application, addPassword, removePassword) and Key Vault secrets (versions kept), each
 * with a failure that can be injected.
 */
export interface RotationStandIn {
  url: string;
  /** The connection's service principal. */
  tenantId: string;
  connection: { clientId: string; clientSecret: string };
  /** The app registration being rotated: object id, client id, passwords by key id. */
  application: { id: string; appId: string; passwords: Map<string, string> };
  /** Key Vault secrets by `<vault>/<name>`, every version, the last current. */
  vaults: Map<string, { value: string; exp: number | null; contentType: string | null; tags: Record<string, string> }[]>;
  /** Every secret value addPassword answered. */
  generated: string[];
  /** Injected failures. */
  fail: { addPassword?: boolean; removePassword?: boolean; verify?: boolean; setSecret?: Set<string> };
  hits: Record<string, number>;
  close(): Promise<void>;
}

export async function startRotationStandIn(): Promise<RotationStandIn> {
  const standIn: Omit<RotationStandIn, 'url' | 'close'> = {
    tenantId: randomUUID(),
    connection: { clientId: randomUUID(), clientSecret: `conn~${randomBytes(18).toString('base64url')}` },
    application: { id: randomUUID(), appId: randomUUID(), passwords: new Map() },
    vaults: new Map(),
    generated: [],
    fail: {},
    hits: {},
  };
  const hit = (route: string): void => { standIn.hits[route] = (standIn.hits[route] ?? 0) + 1; };
  const json = (res: http.ServerResponse, status: number, body?: unknown): void => {
    res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const path = url.pathname;
      if (path === `/${standIn.tenantId}/oauth2/v2.0/token`) {
        const form = new URLSearchParams(body);
        const clientId = form.get('client_id');
        const secret = form.get('client_secret') ?? '';
        const isConnection = clientId === standIn.connection.clientId && secret === standIn.connection.clientSecret;
        const isApplication = clientId === standIn.application.appId && [...standIn.application.passwords.values()].includes(secret);
        hit(isConnection ? 'token' : 'verify');
        if (!isConnection && (standIn.fail.verify || !isApplication)) {
          json(res, 401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
          return;
        }
        json(res, 200, { token_type: 'Bearer', expires_in: 3599, access_token: `token-${randomUUID()}` });
        return;
      }
      if (!req.headers.authorization?.startsWith('Bearer token-')) {
        json(res, 401, { error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty.' } });
        return;
      }
      const app = standIn.application;
      const graph = /^\/v1\.0\/applications\/([^/]+)(?:\/(addPassword|removePassword))?$/.exec(path);
      if (graph !== null) {
        if (graph[1] !== app.id) {
          json(res, 404, { error: { code: 'Request_ResourceNotFound', message: `Resource '${graph[1] ?? ''}' does not exist.` } });
          return;
        }
        if (graph[2] === undefined) {
          hit('application');
          json(res, 200, { id: app.id, appId: app.appId, passwordCredentials: [...app.passwords.keys()].map((keyId) => ({ keyId, hint: 'abc', displayName: null })) });
          return;
        }
        hit(graph[2]);
        const request = JSON.parse(body) as { keyId?: string; passwordCredential?: { displayName?: string; endDateTime?: string } };
        if (graph[2] === 'addPassword') {
          if (standIn.fail.addPassword) {
            json(res, 403, { error: { code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' } });
            return;
          }
          const keyId = randomUUID();
          const secretText = `rot~${randomBytes(27).toString('base64url')}`;
          app.passwords.set(keyId, secretText);
          standIn.generated.push(secretText);
          json(res, 200, { keyId, secretText, hint: secretText.slice(0, 3), displayName: request.passwordCredential?.displayName ?? null, endDateTime: request.passwordCredential?.endDateTime });
          return;
        }
        if (standIn.fail.removePassword) {
          json(res, 503, { error: { code: 'ServiceUnavailable', message: 'Service unavailable.' } });
          return;
        }
        if (!app.passwords.delete(String(request.keyId))) {
          json(res, 400, { error: { code: 'InvalidKeyId', message: 'No password credential with this key id.' } });
          return;
        }
        json(res, 204);
        return;
      }
      const vault = /^\/([^/]+)\/secrets\/([^/]+)$/.exec(path);
      if (vault !== null) {
        const key = `${vault[1] ?? ''}/${vault[2] ?? ''}`;
        const versions = standIn.vaults.get(key);
        if (req.method === 'GET') {
          hit('getSecret');
          const current = versions?.at(-1);
          if (current === undefined) {
            json(res, 404, { error: { code: 'SecretNotFound', message: `A secret with (name/id) ${vault[2] ?? ''} was not found in this key vault.` } });
            return;
          }
          json(res, 200, { value: current.value, id: `https://${vault[1] ?? ''}.vault.azure.net/secrets/${vault[2] ?? ''}/${versions!.length}`, contentType: current.contentType, tags: current.tags, attributes: { enabled: true, ...(current.exp === null ? {} : { exp: current.exp }) } });
          return;
        }
        hit('setSecret');
        if (standIn.fail.setSecret?.has(key)) {
          json(res, 403, { error: { code: 'Forbidden', message: "Caller is not authorized to perform action on resource. Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'" } });
          return;
        }
        const request = JSON.parse(body) as { value: string; contentType?: string; tags?: Record<string, string>; attributes?: { exp?: number } };
        const list = versions ?? [];
        list.push({ value: request.value, exp: request.attributes?.exp ?? null, contentType: request.contentType ?? null, tags: request.tags ?? {} });
        standIn.vaults.set(key, list);
        json(res, 200, { id: `https://${vault[1] ?? ''}.vault.azure.net/secrets/${vault[2] ?? ''}/${list.length}`, attributes: { enabled: true } });
        return;
      }
      json(res, 404, { error: { code: 'NotFound', message: path } });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(standIn, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  });
}
