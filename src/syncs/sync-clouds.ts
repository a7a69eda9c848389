import type { TokenCredential } from '@azure/identity';
import type { pki } from 'node-forge';
import type { SyncItemKind } from '../db/schema';
import type { AwsCredentials, AzureCredentials, CloudEndpoints, GcpCredentials } from '../discovery/collector';

/**
 * The clouds a sync reads and writes, through their official SDKs and the discovery endpoint
 * overrides. Values live in these objects only while a run copies them: nothing here stores or
 * logs one, and errors carry the cloud's error name and message, never a value.
 */

/** One Key Vault item at its current version. */
export interface SourceItem {
  kind: SyncItemKind;
  name: string;
  version: string;
  tags: Record<string, string>;
  /** The secret's value, or the certificate's secret as Key Vault holds it (a PEM bundle, or a base64 PFX). */
  value: string;
  /** Certificates: the PEM parts ACM and Certificate Manager need (converted from PFX when stored so); null for a secret, or a certificate that could not be read. */
  pem: PemParts | null;
}

export interface PemParts {
  certificate: string;
  privateKey: string;
  chain: string | null;
}

export interface SourceSelection {
  vaultName: string;
  kinds: SyncItemKind[];
  /** Tells which item names to read (pattern, exclusions) before any value is fetched. */
  wanted(name: string, tags: Record<string, string>): boolean;
}

/** A target's current state: absent, or its version id / modification date. */
export type TargetState = { exists: false } | { exists: true; version: string };

export interface WriteInput {
  name: string;
  item: SourceItem;
  tags: Record<string, string> | null;
  /** ACM: the certificate's ARN when fourfold imported it before. */
  previousArn: string | null;
  create: boolean;
}

export interface TargetWriter {
  /** The target's current version, or absent; `knownArn` for ACM. */
  current(name: string, knownArn: string | null): Promise<TargetState>;
  /** Writes the item; answers the target's name (ARN for ACM) and version after writing. */
  write(input: WriteInput): Promise<{ name: string; version: string }>;
  close(): void;
}

export function errorText(error: unknown): string {
  const e = error as { name?: string; code?: string | number; message?: string };
  const name = e.name && e.name !== 'Error' ? e.name : e.code !== undefined ? String(e.code) : 'Error';
  return `${name}: ${e.message ?? String(error)}`.slice(0, 2000);
}

// ---------------------------------------------------------------------------------------------
// Azure Key Vault (source)

async function azureCredential(credentials: AzureCredentials, endpoints: CloudEndpoints): Promise<TokenCredential> {
  const identity = await import('@azure/identity');
  const authorityHost = endpoints.azureAuthorityHost;
  const options = authorityHost === undefined ? {} : { authorityHost, disableInstanceDiscovery: true };
  if (credentials.client_secret !== undefined) return new identity.ClientSecretCredential(credentials.tenant_id, credentials.client_id, credentials.client_secret, options);
  if (credentials.client_certificate_pem !== undefined) {
    return new identity.ClientCertificateCredential(credentials.tenant_id, credentials.client_id, { certificate: credentials.client_certificate_pem }, options);
  }
  throw new Error('the Azure connection has neither a client secret nor a certificate');
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

/** Splits a PEM bundle (Key Vault's `application/x-pem-file`) into the key, the leaf certificate and the chain. */
export function splitPem(bundle: string): PemParts | null {
  const blocks = [...bundle.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1]!, text: m[0] }));
  const key = blocks.find((b) => b.label.endsWith('PRIVATE KEY'));
  const certificates = blocks.filter((b) => b.label === 'CERTIFICATE').map((b) => b.text);
  if (!key || certificates.length === 0) return null;
  return { privateKey: `${key.text}\n`, certificate: `${certificates[0]!}\n`, chain: certificates.length > 1 ? `${certificates.slice(1).join('\n')}\n` : null };
}

const PKCS12_BAGS = { key: '1.2.840.113549.1.12.10.1.1', shroudedKey: '1.2.840.113549.1.12.10.1.2', certificate: '1.2.840.113549.1.12.10.1.3' };

/**
 * Converts a Key Vault PFX (`application/x-pkcs12`: base64 PKCS#12 without a password) into the
 * PEM parts: the private key (PKCS#8), the certificate of that key, and the other certificates as
 * the chain. Null when it is not one, has no key or certificate, or holds a key node-forge cannot
 * read (only RSA keys).
 */
export async function pfxToPem(base64: string): Promise<PemParts | null> {
  const { default: forge } = await import('node-forge');
  try {
    const der = forge.util.decode64(base64.replace(/\s+/g, ''));
    const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(der), false, '');
    const bags = (type: string) => p12.getBags({ bagType: type })[type] ?? [];
    const keyBags = [...bags(PKCS12_BAGS.shroudedKey), ...bags(PKCS12_BAGS.key)];
    const key = keyBags.find((bag) => bag.key !== undefined)?.key as pki.rsa.PrivateKey | undefined;
    const certificates = bags(PKCS12_BAGS.certificate).flatMap((bag) => (bag.cert ? [bag.cert] : []));
    if (!key?.n || certificates.length === 0) return null;
    const ofKey = (cert: pki.Certificate) => (cert.publicKey as pki.rsa.PublicKey).n?.equals(key.n) === true;
    const leaf = certificates.find(ofKey) ?? certificates[0]!;
    // node-forge writes CRLF lines; the clouds and tools expect LF.
    const lf = (pem: string) => pem.replace(/\r\n/g, '\n').trim();
    const chain = certificates.filter((cert) => cert !== leaf).map((cert) => lf(forge.pki.certificateToPem(cert)));
    const privateKey = lf(forge.pki.privateKeyInfoToPem(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(key))));
    return { certificate: `${lf(forge.pki.certificateToPem(leaf))}\n`, privateKey: `${privateKey}\n`, chain: chain.length > 0 ? `${chain.join('\n')}\n` : null };
  } catch {
    return null;
  }
}

/** The PEM parts of a certificate's secret, by its content type (PEM, or PFX converted). */
async function certificateParts(value: string, contentType: string | undefined): Promise<PemParts | null> {
  const type = (contentType ?? '').toLowerCase();
  if (type === 'application/x-pem-file') return splitPem(value);
  if (type === 'application/x-pkcs12') return pfxToPem(value);
  return splitPem(value) ?? pfxToPem(value);
}

/** Reads the current version of every enabled item of the vault the selection wants. */
export async function readKeyVault(credentials: AzureCredentials, endpoints: CloudEndpoints, selection: SourceSelection): Promise<SourceItem[]> {
  const credential = await azureCredential(credentials, endpoints);
  const { SecretClient } = await import('@azure/keyvault-secrets');
  const { CertificateClient } = await import('@azure/keyvault-certificates');
  const override = endpoints.azureKeyVault;
  const url = override === undefined ? `https://${selection.vaultName}.vault.azure.net` : `${override.replace(/\/+$/, '')}/${selection.vaultName}`;
  const options = { retryOptions: { maxRetries: 3, retryDelayInMs: 500, maxRetryDelayInMs: 8000 }, disableChallengeResourceVerification: override !== undefined };
  const secrets = new SecretClient(url, credential, options);
  const items: SourceItem[] = [];
  if (selection.kinds.includes('secret')) {
    for await (const properties of secrets.listPropertiesOfSecrets()) {
      const tags = properties.tags ?? {};
      // A certificate's own secret (managed) is read as the certificate, not as a secret.
      if (properties.enabled === false || properties.managed === true || !selection.wanted(properties.name, tags)) continue;
      const secret = await secrets.getSecret(properties.name);
      if (secret.value === undefined || secret.properties.version === undefined) continue;
      items.push({ kind: 'secret', name: properties.name, version: secret.properties.version, tags, value: secret.value, pem: null });
    }
  }
  if (selection.kinds.includes('certificate')) {
    const certificates = new CertificateClient(url, credential, options);
    for await (const properties of certificates.listPropertiesOfCertificates()) {
      const tags = properties.tags ?? {};
      const name = properties.name;
      if (name === undefined || properties.enabled === false || !selection.wanted(name, tags)) continue;
      const secret = await secrets.getSecret(name);
      if (secret.value === undefined || secret.properties.version === undefined) continue;
      items.push({ kind: 'certificate', name, version: secret.properties.version, tags, value: secret.value, pem: await certificateParts(secret.value, secret.properties.contentType) });
    }
  }
  return items;
}

// ---------------------------------------------------------------------------------------------
// AWS (Secrets Manager, SSM Parameter Store, ACM)

type AwsStatic = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

export async function awsIdentity(credentials: AwsCredentials, endpoints: CloudEndpoints, region: string): Promise<AwsStatic | undefined> {
  let base: AwsStatic | undefined;
  if (credentials.access_key_id !== undefined && credentials.secret_access_key !== undefined) base = { accessKeyId: credentials.access_key_id, secretAccessKey: credentials.secret_access_key };
  if (credentials.role_arn === undefined) return base;
  const { STSClient, AssumeRoleCommand } = await import('@aws-sdk/client-sts');
  const sts = new STSClient({ region, ...(base ? { credentials: base } : {}), ...(endpoints.aws ? { endpoint: endpoints.aws } : {}) });
  try {
    const assumed = await sts.send(new AssumeRoleCommand({ RoleArn: credentials.role_arn, ExternalId: credentials.external_id, RoleSessionName: 'fourfold-sync', DurationSeconds: 3600 }));
    const c = assumed.Credentials!;
    return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken };
  } finally {
    sts.destroy();
  }
}

export function awsConfig(identity: AwsStatic | undefined, endpoints: CloudEndpoints, region: string) {
  return { region, maxAttempts: 3, ...(identity ? { credentials: identity } : {}), ...(endpoints.aws ? { endpoint: endpoints.aws } : {}) };
}

const isNotFound = (error: unknown) => (error as { name?: string }).name === 'ResourceNotFoundException';

export async function secretsManagerWriter(credentials: AwsCredentials, endpoints: CloudEndpoints, region: string): Promise<TargetWriter> {
  const sm = await import('@aws-sdk/client-secrets-manager');
  const client = new sm.SecretsManagerClient(awsConfig(await awsIdentity(credentials, endpoints, region), endpoints, region));
  return {
    async current(name) {
      try {
        const described = await client.send(new sm.DescribeSecretCommand({ SecretId: name }));
        const current = Object.entries(described.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'));
        return { exists: true, version: current?.[0] ?? 'none' };
      } catch (error) {
        if (isNotFound(error)) return { exists: false };
        throw error;
      }
    },
    async write({ name, item, tags, create }) {
      if (create) {
        const created = await client.send(
          new sm.CreateSecretCommand({ Name: name, SecretString: item.value, ...(tags ? { Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) } : {}) }),
        );
        return { name, version: created.VersionId! };
      }
      const put = await client.send(new sm.PutSecretValueCommand({ SecretId: name, SecretString: item.value }));
      return { name, version: put.VersionId! };
    },
    close: () => client.destroy(),
  };
}

export async function acmWriter(credentials: AwsCredentials, endpoints: CloudEndpoints, region: string): Promise<TargetWriter> {
  const acm = await import('@aws-sdk/client-acm');
  const client = new acm.ACMClient(awsConfig(await awsIdentity(credentials, endpoints, region), endpoints, region));
  const importedAt = async (arn: string): Promise<TargetState> => {
    try {
      const described = await client.send(new acm.DescribeCertificateCommand({ CertificateArn: arn }));
      const at = described.Certificate?.ImportedAt;
      return { exists: true, version: at ? at.toISOString() : 'none' };
    } catch (error) {
      if (isNotFound(error)) return { exists: false };
      throw error;
    }
  };
  return {
    // ACM has no names: a certificate fourfold never imported is not looked for.
    current: (_name, knownArn) => (knownArn === null ? Promise.resolve({ exists: false }) : importedAt(knownArn)),
    async write({ name, item, tags, previousArn }) {
      const pem = item.pem!;
      const encode = (text: string) => new TextEncoder().encode(text);
      const imported = await client.send(
        new acm.ImportCertificateCommand({
          Certificate: encode(pem.certificate),
          PrivateKey: encode(pem.privateKey),
          ...(pem.chain ? { CertificateChain: encode(pem.chain) } : {}),
          ...(previousArn ? { CertificateArn: previousArn } : { Tags: Object.entries({ ...(tags ?? {}), Name: name }).slice(0, 50).map(([Key, Value]) => ({ Key, Value })) }),
        }),
      );
      const arn = imported.CertificateArn!;
      const state = await importedAt(arn);
      return { name: arn, version: state.exists ? state.version : 'none' };
    },
    close: () => client.destroy(),
  };
}

/** SSM parameter names: letters, digits, `_ . - /`; a name with `/` is a path and starts with one. */
export function ssmParameterName(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9_.\-/]/g, '-').replace(/\/{2,}/g, '/');
  return (clean.includes('/') && !clean.startsWith('/') ? `/${clean}` : clean).slice(0, 1011);
}

/**
 * SSM Parameter Store `SecureString` parameters. A parameter's version is its `Version` and
 * `LastModifiedDate` together (a parameter deleted and made again starts at version 1 anew), read
 * with DescribeParameters so that no value is ever fetched. PutParameter overwrites only when the
 * runner decided to (`create: false`); a parameter that appeared meanwhile fails the create.
 */
export async function ssmParameterWriter(credentials: AwsCredentials, endpoints: CloudEndpoints, region: string): Promise<TargetWriter> {
  const ssm = await import('@aws-sdk/client-ssm');
  const client = new ssm.SSMClient(awsConfig(await awsIdentity(credentials, endpoints, region), endpoints, region));
  const stateOf = async (name: string): Promise<TargetState> => {
    const described = await client.send(new ssm.DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name] }] }));
    const parameter = described.Parameters?.find((p) => p.Name === name);
    if (!parameter) return { exists: false };
    return { exists: true, version: `${parameter.Version ?? 0}@${parameter.LastModifiedDate?.toISOString() ?? 'unknown'}` };
  };
  const asTags = (tags: Record<string, string>) => Object.entries(tags).slice(0, 50).map(([Key, Value]) => ({ Key, Value }));
  return {
    current: (name) => stateOf(ssmParameterName(name)),
    async write({ name, item, tags, create }) {
      const parameterName = ssmParameterName(name);
      const withTags = tags !== null && Object.keys(tags).length > 0;
      await client.send(
        new ssm.PutParameterCommand({
          Name: parameterName,
          Value: item.value,
          Type: 'SecureString',
          // Values over 4 KB (certificate bundles) need the advanced tier; smaller ones stay standard.
          Tier: 'Intelligent-Tiering',
          Overwrite: !create,
          // PutParameter takes tags only when it creates; an overwrite sets them separately.
          ...(create && withTags ? { Tags: asTags(tags) } : {}),
        }),
      );
      if (!create && withTags) await client.send(new ssm.AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: parameterName, Tags: asTags(tags) }));
      const state = await stateOf(parameterName);
      return { name: parameterName, version: state.exists ? state.version : 'none' };
    },
    close: () => client.destroy(),
  };
}

// ---------------------------------------------------------------------------------------------
// GCP Secret Manager

/** GCP secret ids take letters, digits, `-` and `_`. */
export function gcpSecretId(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 255);
}

/** GCP labels: lowercase keys and values of letters, digits, `_` and `-`. */
function gcpLabels(tags: Record<string, string>): Record<string, string> {
  const clean = (text: string) => text.toLowerCase().replace(/[^a-z0-9_-]/g, '_').slice(0, 63);
  return Object.fromEntries(Object.entries(tags).filter(([key]) => /^[a-z]/i.test(key)).slice(0, 64).map(([key, value]) => [clean(key), clean(value)]));
}

/** The options of a GCP client over REST, with the discovery endpoint override. */
function gcpClientOptions(credentials: GcpCredentials, endpoints: CloudEndpoints, projectId: string): Record<string, string | number | object> {
  const key = JSON.parse(credentials.service_account_key) as { client_email: string; private_key: string };
  const clientOptions: Record<string, string | number | object> = { credentials: { client_email: key.client_email, private_key: key.private_key }, projectId, fallback: 'rest' };
  if (endpoints.gcp !== undefined) {
    const url = new URL(endpoints.gcp);
    const https = url.protocol === 'https:';
    Object.assign(clientOptions, { apiEndpoint: url.hostname, port: Number(url.port || (https ? 443 : 80)), protocol: https ? 'https' : 'http' });
  }
  return clientOptions;
}

const gcpNotFound = (error: unknown) => (error as { code?: number }).code === 5 || (error as { code?: number }).code === 404;

export async function gcpSecretManagerWriter(credentials: GcpCredentials, endpoints: CloudEndpoints, projectId: string): Promise<TargetWriter> {
  const clientOptions = gcpClientOptions(credentials, endpoints, projectId);
  const { SecretManagerServiceClient } = await import('@google-cloud/secret-manager');
  const client = new SecretManagerServiceClient(clientOptions);
  const secretName = (name: string) => `projects/${projectId}/secrets/${gcpSecretId(name)}`;
  const versionOf = (versionName: string | null | undefined) => (versionName ?? '').split('/').at(-1) ?? 'none';
  return {
    async current(name) {
      try {
        const [version] = await client.getSecretVersion({ name: `${secretName(name)}/versions/latest` });
        return { exists: true, version: versionOf(version.name) };
      } catch (error) {
        if (gcpNotFound(error)) return { exists: false };
        throw error;
      }
    },
    async write({ name, item, tags, create }) {
      if (create) {
        try {
          await client.createSecret({
            parent: `projects/${projectId}`,
            secretId: gcpSecretId(name),
            secret: { replication: { automatic: {} }, ...(tags ? { labels: gcpLabels(tags) } : {}) },
          });
        } catch (error) {
          // A secret without versions reads as absent: add the first version to it.
          if ((error as { code?: number }).code !== 6) throw error;
        }
      }
      const [version] = await client.addSecretVersion({ parent: secretName(name), payload: { data: Buffer.from(item.value, 'utf8') } });
      return { name: gcpSecretId(name), version: versionOf(version.name) };
    },
    close: () => void client.close(),
  };
}

// ---------------------------------------------------------------------------------------------
// GCP Certificate Manager

/** Certificate Manager ids: lowercase letters, digits and `-`, starting with a letter, at most 63. */
export function gcpCertificateId(name: string): string {
  const id = name.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^[^a-z]+/, '').replace(/-+$/, '').slice(0, 63).replace(/-+$/, '');
  return id === '' ? 'certificate' : id;
}

/**
 * Self-managed certificates of Certificate Manager (global location). A certificate's version is
 * its `updateTime`; a write replaces its PEM certificate (leaf then chain) and key, and waits for
 * the operation to end.
 */
export async function gcpCertificateManagerWriter(credentials: GcpCredentials, endpoints: CloudEndpoints, projectId: string): Promise<TargetWriter> {
  const { CertificateManagerClient } = await import('@google-cloud/certificate-manager');
  const client = new CertificateManagerClient(gcpClientOptions(credentials, endpoints, projectId));
  const parent = `projects/${projectId}/locations/global`;
  const nameOf = (name: string) => `${parent}/certificates/${gcpCertificateId(name)}`;
  const timeOf = (time: { seconds?: number | string | null | { toString(): string }; nanos?: number | null } | null | undefined) =>
    time?.seconds === undefined || time.seconds === null ? 'none' : new Date(Number(time.seconds.toString()) * 1000 + Math.floor((time.nanos ?? 0) / 1e6)).toISOString();
  return {
    async current(name) {
      try {
        const [certificate] = await client.getCertificate({ name: nameOf(name) });
        return { exists: true, version: timeOf(certificate.updateTime) };
      } catch (error) {
        if (gcpNotFound(error)) return { exists: false };
        throw error;
      }
    },
    async write({ name, item, tags, create }) {
      const pem = item.pem!;
      const selfManaged = { pemCertificate: `${pem.certificate}${pem.chain ?? ''}`, pemPrivateKey: pem.privateKey };
      const labels = tags ? gcpLabels(tags) : undefined;
      const [operation] = create
        ? await client.createCertificate({ parent, certificateId: gcpCertificateId(name), certificate: { selfManaged, ...(labels ? { labels } : {}) } })
        : await client.updateCertificate({
            certificate: { name: nameOf(name), selfManaged, ...(labels ? { labels } : {}) },
            updateMask: { paths: labels ? ['self_managed', 'labels'] : ['self_managed'] },
          });
      const [written] = await operation.promise();
      return { name: gcpCertificateId(name), version: timeOf(written.updateTime) };
    },
    close: () => void client.close(),
  };
}
