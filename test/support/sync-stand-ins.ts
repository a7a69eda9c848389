import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Stand-ins for the clouds a sync writes to, reached through the discovery endpoint overrides so
 * that the SDKs' signing, serialization and error parsing run for real: AWS Secrets Manager, SSM
 * Parameter Store and ACM (JSON protocol), GCP Secret Manager and Certificate Manager (REST). The
 * Key Vault a sync reads is the shared Azure stand-in (azure-stand-in.ts). Each keeps what was
 * written, lets a test change a target out of band, and fails an operation on request (`failing`).
 */

interface StandInServer {
  url: string;
  close(): Promise<void>;
}

function listen(server: http.Server): Promise<StandInServer> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}

async function bodyOf(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export interface AwsSecret {
  value: string;
  versionId: string;
  tags: Record<string, string>;
}

export interface AwsCertificate {
  certificate: string;
  privateKey: string;
  chain: string | null;
  importedAt: number;
  tags: Record<string, string>;
}

export interface AwsParameter {
  value: string;
  version: number;
  lastModified: number;
  tags: Record<string, string>;
}

export interface AwsSyncStandIn extends StandInServer {
  secrets: Map<string, AwsSecret>;
  certificates: Map<string, AwsCertificate>;
  /** SSM Parameter Store `SecureString` parameters by name. */
  parameters: Map<string, AwsParameter>;
  /** Operation names (`PutSecretValue`, `ImportCertificate`) answering an error until removed. */
  failing: Set<string>;
  /** Writes a new value as someone outside fourfold would. */
  changeSecretOutOfBand(name: string, value: string): void;
  reimportOutOfBand(arn: string): void;
  putParameterOutOfBand(name: string, value: string): void;
}

/** Secrets Manager and ACM of `accountId`, accepting requests signed with `accessKeyId`. */
export async function startAwsSyncStandIn(accountId: string, accessKeyId: string): Promise<AwsSyncStandIn> {
  const secrets = new Map<string, AwsSecret>();
  const certificates = new Map<string, AwsCertificate>();
  const parameters = new Map<string, AwsParameter>();
  const failing = new Set<string>();
  let clock = Date.now() / 1000;
  const tick = () => (clock += 1.5);
  const server = http.createServer((req, res) => {
    void (async () => {
      const body = await bodyOf(req);
      const send = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
        res.end(JSON.stringify(value));
      };
      const error = (type: string, message: string) => send(400, { __type: type, message });
      if (!String(req.headers.authorization ?? '').includes(`Credential=${accessKeyId}/`)) return error('UnrecognizedClientException', 'The security token included in the request is invalid.');
      const operation = String(req.headers['x-amz-target'] ?? '').split('.').at(-1) ?? '';
      const input = JSON.parse(body || '{}') as Record<string, unknown>;
      if (failing.has(operation)) return error('InvalidRequestException', `${operation} failed (injected).`);
      const region = /Credential=[^/]+\/\d+\/([^/]+)\//.exec(String(req.headers.authorization))?.[1] ?? 'us-east-1';
      switch (operation) {
        case 'DescribeSecret': {
          const secret = secrets.get(String(input.SecretId));
          if (!secret) return error('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
          return send(200, { ARN: `arn:aws:secretsmanager:${region}:${accountId}:secret:${String(input.SecretId)}-AbCdEf`, Name: input.SecretId, VersionIdsToStages: { [secret.versionId]: ['AWSCURRENT'] } });
        }
        case 'CreateSecret': {
          const name = String(input.Name);
          if (secrets.has(name)) return error('ResourceExistsException', 'The operation failed because the secret already exists.');
          const versionId = String(input.ClientRequestToken ?? randomUUID());
          const tags = Object.fromEntries(((input.Tags ?? []) as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value]));
          secrets.set(name, { value: String(input.SecretString), versionId, tags });
          return send(200, { ARN: `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-AbCdEf`, Name: name, VersionId: versionId });
        }
        case 'PutSecretValue': {
          const secret = secrets.get(String(input.SecretId));
          if (!secret) return error('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
          secret.value = String(input.SecretString);
          secret.versionId = String(input.ClientRequestToken ?? randomUUID());
          return send(200, { Name: input.SecretId, VersionId: secret.versionId, VersionStages: ['AWSCURRENT'] });
        }
        case 'ImportCertificate': {
          const decode = (value: unknown) => (value === undefined ? null : Buffer.from(String(value), 'base64').toString('utf8'));
          const previous = input.CertificateArn === undefined ? undefined : String(input.CertificateArn);
          if (previous !== undefined && !certificates.has(previous)) return error('ResourceNotFoundException', 'Could not find certificate.');
          const arn = previous ?? `arn:aws:acm:${region}:${accountId}:certificate/${randomUUID()}`;
          const tags = previous ? certificates.get(previous)!.tags : Object.fromEntries(((input.Tags ?? []) as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value]));
          certificates.set(arn, { certificate: decode(input.Certificate)!, privateKey: decode(input.PrivateKey)!, chain: decode(input.CertificateChain), importedAt: tick(), tags });
          return send(200, { CertificateArn: arn });
        }
        case 'DescribeCertificate': {
          const certificate = certificates.get(String(input.CertificateArn));
          if (!certificate) return error('ResourceNotFoundException', 'Could not find certificate.');
          return send(200, { Certificate: { CertificateArn: input.CertificateArn, Type: 'IMPORTED', Status: 'ISSUED', ImportedAt: certificate.importedAt } });
        }
        case 'DescribeParameters': {
          const filters = (input.ParameterFilters ?? []) as { Key: string; Option?: string; Values: string[] }[];
          const names = filters.find((f) => f.Key === 'Name')?.Values ?? [...parameters.keys()];
          const found = names.flatMap((name) => {
            const parameter = parameters.get(name);
            return parameter ? [{ Name: name, Type: 'SecureString', KeyId: 'alias/aws/ssm', Version: parameter.version, LastModifiedDate: parameter.lastModified, Tier: 'Standard', DataType: 'text' }] : [];
          });
          return send(200, { Parameters: found });
        }
        case 'PutParameter': {
          const name = String(input.Name);
          const existing = parameters.get(name);
          if (input.Type !== 'SecureString') return error('ValidationException', 'only SecureString parameters are expected here');
          if (existing && input.Overwrite !== true) return error('ParameterAlreadyExists', 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
          if (input.Tags !== undefined && input.Overwrite === true) return error('ValidationException', 'Invalid request: tags and overwrite can\'t be used together.');
          const tags = existing?.tags ?? Object.fromEntries(((input.Tags ?? []) as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value]));
          const parameter = { value: String(input.Value), version: (existing?.version ?? 0) + 1, lastModified: tick(), tags };
          parameters.set(name, parameter);
          return send(200, { Version: parameter.version, Tier: 'Standard' });
        }
        case 'AddTagsToResource': {
          const parameter = parameters.get(String(input.ResourceId));
          if (input.ResourceType !== 'Parameter' || !parameter) return error('InvalidResourceId', 'The resource ID is not valid.');
          for (const tag of (input.Tags ?? []) as { Key: string; Value: string }[]) parameter.tags[tag.Key] = tag.Value;
          return send(200, {});
        }
        default:
          return error('UnknownOperationException', operation);
      }
    })();
  });
  const base = await listen(server);
  return {
    ...base,
    secrets,
    certificates,
    failing,
    changeSecretOutOfBand(name, value) {
      const secret = secrets.get(name)!;
      secret.value = value;
      secret.versionId = randomUUID();
    },
    reimportOutOfBand(arn) {
      certificates.get(arn)!.importedAt = tick();
    },
    parameters,
    putParameterOutOfBand(name, value) {
      const parameter = parameters.get(name)!;
      Object.assign(parameter, { value, version: parameter.version + 1, lastModified: tick() });
    },
  };
}

export interface GcpCertificate {
  pemCertificate: string;
  pemPrivateKey: string;
  labels: Record<string, string>;
  updateTime: string;
}

export interface GcpSyncStandIn extends StandInServer {
  /** Secret id → its versions' values, oldest first (version n is index n - 1). */
  secrets: Map<string, { versions: string[]; labels: Record<string, string> }>;
  /** Certificate Manager self-managed certificates (global location) by id. */
  certificates: Map<string, GcpCertificate>;
  failing: Set<'createSecret' | 'addVersion' | 'createCertificate'>;
  addVersionOutOfBand(id: string, value: string): void;
  updateCertificateOutOfBand(id: string): void;
}

/** Secret Manager of `projectId` over REST (as the client's `fallback: 'rest'` speaks it). */
export async function startGcpSyncStandIn(projectId: string): Promise<GcpSyncStandIn> {
  const secrets = new Map<string, { versions: string[]; labels: Record<string, string> }>();
  const certificates = new Map<string, GcpCertificate>();
  const failing = new Set<'createSecret' | 'addVersion' | 'createCertificate'>();
  let clock = Date.now();
  const tick = () => new Date((clock += 1500)).toISOString();
  const certificatesPath = `/v1/projects/${projectId}/locations/global/certificates`;
  const certificateOf = (id: string) => {
    const certificate = certificates.get(id)!;
    return { name: `projects/${projectId}/locations/global/certificates/${id}`, labels: certificate.labels, updateTime: certificate.updateTime, createTime: certificate.updateTime, scope: 'DEFAULT' };
  };
  // Operations end at once: the answer is a done operation carrying the certificate.
  const done = (id: string) => ({
    name: `projects/${projectId}/locations/global/operations/operation-${randomUUID()}`,
    done: true,
    metadata: { '@type': 'type.googleapis.com/google.cloud.certificatemanager.v1.OperationMetadata' },
    response: { '@type': 'type.googleapis.com/google.cloud.certificatemanager.v1.Certificate', ...certificateOf(id) },
  });
  const server = http.createServer((req, res) => {
    void (async () => {
      const body = await bodyOf(req);
      const send = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      const error = (code: number, status: string, message: string) => send(code, { error: { code, status, message } });
      if (!String(req.headers.authorization ?? '').startsWith('Bearer ')) return error(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
      const url = new URL(decodeURIComponent(req.url ?? '/'), 'http://x');
      if (url.pathname.startsWith(certificatesPath)) {
        const id = url.pathname.slice(certificatesPath.length + 1);
        const input = JSON.parse(body || '{}') as { selfManaged?: { pemCertificate: string; pemPrivateKey: string }; labels?: Record<string, string> };
        if (req.method === 'POST' && id === '') {
          if (failing.has('createCertificate')) return error(400, 'FAILED_PRECONDITION', 'createCertificate failed (injected).');
          const newId = url.searchParams.get('certificateId') ?? '';
          if (certificates.has(newId)) return error(409, 'ALREADY_EXISTS', `Resource '${newId}' already exists.`);
          if (!input.selfManaged?.pemCertificate || !input.selfManaged.pemPrivateKey) return error(400, 'INVALID_ARGUMENT', 'self_managed certificate and key are required');
          certificates.set(newId, { ...input.selfManaged, labels: input.labels ?? {}, updateTime: tick() });
          return send(200, done(newId));
        }
        const certificate = certificates.get(id);
        if (!certificate) return error(404, 'NOT_FOUND', `Resource '${url.pathname}' was not found`);
        if (req.method === 'GET') return send(200, certificateOf(id));
        if (req.method === 'PATCH') {
          const paths = (url.searchParams.get('updateMask') ?? '').split(',');
          if (paths.includes('self_managed') || paths.includes('selfManaged')) Object.assign(certificate, input.selfManaged);
          if (paths.includes('labels')) certificate.labels = input.labels ?? {};
          certificate.updateTime = tick();
          return send(200, done(id));
        }
      }
      const prefix = `/v1/projects/${projectId}/secrets`;
      if (!url.pathname.startsWith(prefix)) return error(404, 'NOT_FOUND', url.pathname);
      const rest = url.pathname.slice(prefix.length);
      if (req.method === 'POST' && rest === '') {
        if (failing.has('createSecret')) return error(400, 'FAILED_PRECONDITION', 'createSecret failed (injected).');
        const id = url.searchParams.get('secretId') ?? '';
        if (secrets.has(id)) return error(409, 'ALREADY_EXISTS', `Secret [projects/${projectId}/secrets/${id}] already exists.`);
        const secret = JSON.parse(body || '{}') as { labels?: Record<string, string> };
        secrets.set(id, { versions: [], labels: secret.labels ?? {} });
        return send(200, { name: `projects/${projectId}/secrets/${id}`, replication: { automatic: {} }, labels: secret.labels ?? {} });
      }
      const add = /^\/([^/:]+):addVersion$/.exec(rest);
      if (req.method === 'POST' && add) {
        if (failing.has('addVersion')) return error(400, 'FAILED_PRECONDITION', 'addVersion failed (injected).');
        const secret = secrets.get(add[1]!);
        if (!secret) return error(404, 'NOT_FOUND', `Secret [${add[1]!}] not found.`);
        const payload = JSON.parse(body) as { payload: { data: string } };
        secret.versions.push(Buffer.from(payload.payload.data, 'base64').toString('utf8'));
        return send(200, { name: `projects/${projectId}/secrets/${add[1]!}/versions/${secret.versions.length}`, state: 'ENABLED' });
      }
      const latest = /^\/([^/:]+)\/versions\/latest$/.exec(rest);
      if (req.method === 'GET' && latest) {
        const secret = secrets.get(latest[1]!);
        if (!secret || secret.versions.length === 0) return error(404, 'NOT_FOUND', `Secret Version [projects/${projectId}/secrets/${latest[1]!}/versions/latest] not found.`);
        return send(200, { name: `projects/${projectId}/secrets/${latest[1]!}/versions/${secret.versions.length}`, state: 'ENABLED' });
      }
      return error(404, 'NOT_FOUND', url.pathname);
    })();
  });
  const base = await listen(server);
  return {
    ...base,
    secrets,
    failing,
    addVersionOutOfBand(id, value) {
      secrets.get(id)!.versions.push(value);
    },
    certificates,
    updateCertificateOutOfBand(id) {
      certificates.get(id)!.updateTime = tick();
    },
  };
}
