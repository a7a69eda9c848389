// Scans N synthetic resources of each cloud through the real SDKs against local stand-ins
// (test/support/fake-aws.ts, test/support/cloud-stand-ins.ts), each collector in its own process,
// and prints seconds, requests made and the collector process's peak RSS.
//   node --import tsx scripts/bench-scan.ts [--count 20000] [--clouds aws,azure,gcp]
// AWS: one region; of N, a half security groups, a quarter EBS volumes, a tenth KMS keys (each
// described and its rotation read) and the rest S3 buckets (each read in 8 calls, answering the
// bucket, its encryption and its ACL), listed 1000 a page. Then an incremental AWS scan of the
// same account with AWS Config recording and naming 1 in 100 of them (of each kind) as changed.
// Azure: N Resource Graph rows (storage accounts, NSGs, disks, VMs, 1 in 50 a Key Vault holding
// 5 secrets, 3 keys and 2 certificates counted in N). GCP: N assets (buckets, instances,
// firewalls, disks, 1 in 50 a secret) plus the project's IAM policy.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { selfSignedCertificate, startAzureStandIn, startGcpStandIn, testServiceAccountKey, type AzureStandInData } from '../test/support/cloud-stand-ins';
import { startFakeAws, type FakeAwsState, type FakeConfigItem } from '../test/support/fake-aws';

const SUBSCRIPTION = '5f1c9a52-0000-4000-8000-000000000001';

/** N resources in all (a bucket counts 3: itself, its encryption and its ACL). */
export function syntheticAws(count: number): Pick<FakeAwsState, 'securityGroups' | 'volumes' | 'kmsKeys' | 'buckets'> {
  const groups = Math.floor(count / 2);
  const volumes = Math.floor(count / 4);
  const keys = Math.floor(count / 10);
  const buckets = Math.floor((count - groups - volumes - keys) / 3);
  const securityGroups = count - volumes - keys - buckets * 3;
  return {
    securityGroups: Array.from({ length: securityGroups }, (_, i) => ({ id: `sg-${i.toString(16).padStart(17, '0')}`, name: `sg-${i}`, openPorts: i % 20 === 0 ? [22] : [] })),
    volumes: Array.from({ length: volumes }, (_, i) => ({ id: `vol-${i.toString(16).padStart(17, '0')}`, encrypted: i % 3 !== 0 })),
    kmsKeys: Array.from({ length: keys }, (_, i) => `0000${i.toString(16).padStart(4, '0')}-0000-4000-8000-000000000000`),
    buckets: Array.from({ length: buckets }, (_, i) => `bench-bucket-${i}`),
  };
}

/** One in 100 of each kind, as AWS Config's advanced query names them. */
function changedAws(state: FakeAwsState, capturedAt: string): FakeConfigItem[] {
  const every100 = <T>(items: T[]) => items.filter((_, i) => i % 100 === 0);
  return [
    ...every100(state.securityGroups).map((g) => ({ resourceType: 'AWS::EC2::SecurityGroup', resourceId: g.id, resourceName: g.name, configurationItemCaptureTime: capturedAt })),
    ...every100(state.volumes).map((v) => ({ resourceType: 'AWS::EC2::Volume', resourceId: v.id, configurationItemCaptureTime: capturedAt })),
    ...every100(state.kmsKeys).map((k) => ({ resourceType: 'AWS::KMS::Key', resourceId: k, configurationItemCaptureTime: capturedAt })),
    ...every100(state.buckets).map((b) => ({ resourceType: 'AWS::S3::Bucket', resourceId: b, resourceName: b, configurationItemCaptureTime: capturedAt })),
  ];
}

/** N resources in all: Resource Graph rows plus the vault items they hold. */
export function syntheticAzure(count: number): Pick<AzureStandInData, 'rows' | 'vaults'> {
  const rows: Record<string, unknown>[] = [];
  const vaults: AzureStandInData['vaults'] = {};
  let total = 0;
  for (let i = 0; total < count; i += 1) {
    const group = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-${i % 40}/providers`;
    const location = ['westeurope', 'northeurope', 'eastus'][i % 3];
    if (i % 50 === 0 && count - total >= 11) {
      const name = `kv-${i}`;
      rows.push({ id: `${group}/Microsoft.KeyVault/vaults/${name}`, name, type: 'microsoft.keyvault/vaults', location, tags: { env: 'prod' }, properties: { vaultUri: `https://${name}.vault.azure.net/`, enableRbacAuthorization: true } });
      const uri = `https://${name}.vault.azure.net`;
      vaults[name] = {
        secrets: Array.from({ length: 5 }, (_, j) => ({ id: `${uri}/secrets/s${j}`, attributes: { enabled: true, exp: 1798761600 + j, created: 1733000000, updated: 1733000000 } })),
        keys: Array.from({ length: 3 }, (_, j) => ({ kid: `${uri}/keys/k${j}`, attributes: { enabled: true, created: 1733000000, updated: 1733000000 } })),
        certificates: Array.from({ length: 2 }, (_, j) => ({ id: `${uri}/certificates/c${j}`, attributes: { enabled: true, exp: 1767225600, created: 1733000000, updated: 1733000000 } })),
      };
      total += 11;
      continue;
    }
    const kind = i % 4;
    if (kind === 0) rows.push({ id: `${group}/Microsoft.Storage/storageAccounts/st${i}`, name: `st${i}`, type: 'microsoft.storage/storageaccounts', location, kind: 'StorageV2', sku: { name: 'Standard_LRS', tier: 'Standard' }, tags: { env: 'dev' }, properties: { supportsHttpsTrafficOnly: i % 7 !== 0, minimumTlsVersion: 'TLS1_2', allowBlobPublicAccess: false, networkAcls: { defaultAction: 'Deny', bypass: 'AzureServices' } } });
    else if (kind === 1) rows.push({ id: `${group}/Microsoft.Network/networkSecurityGroups/nsg${i}`, name: `nsg${i}`, type: 'microsoft.network/networksecuritygroups', location, properties: { securityRules: [{ name: 'ssh', properties: { priority: 100, direction: 'Inbound', access: 'Allow', protocol: 'Tcp', destinationPortRange: '22', sourceAddressPrefix: i % 5 === 0 ? '*' : '10.0.0.0/8' } }] } });
    else if (kind === 2) rows.push({ id: `${group}/Microsoft.Compute/disks/disk${i}`, name: `disk${i}`, type: 'microsoft.compute/disks', location, sku: { name: 'Premium_LRS' }, zones: ['1'], properties: { diskSizeGB: 128, networkAccessPolicy: 'DenyAll', publicNetworkAccess: 'Disabled', encryption: { type: 'EncryptionAtRestWithPlatformKey' } } });
    else rows.push({ id: `${group}/Microsoft.Compute/virtualMachines/vm${i}`, name: `vm${i}`, type: 'microsoft.compute/virtualmachines', location, zones: ['2'], properties: { hardwareProfile: { vmSize: 'Standard_D2s_v5' }, osProfile: { adminUsername: 'azureuser', linuxConfiguration: { disablePasswordAuthentication: true } }, storageProfile: { osDisk: { osType: 'Linux', managedDisk: { storageAccountType: 'Premium_LRS' } } } } });
    total += 1;
  }
  return { rows, vaults };
}

export function syntheticGcp(count: number): { resources: Record<string, unknown>[]; secrets: Record<string, Record<string, unknown>[]> } {
  const resources: Record<string, unknown>[] = [];
  const secrets: Record<string, unknown>[] = [];
  const parent = '//cloudresourcemanager.googleapis.com/projects/482915730112';
  for (let i = 0; i < count; i += 1) {
    const zone = ['us-central1-a', 'europe-west1-b'][i % 2] as string;
    if (i % 50 === 0) {
      const name = `projects/482915730112/secrets/secret-${i}`;
      resources.push({ name: `//secretmanager.googleapis.com/${name}`, assetType: 'secretmanager.googleapis.com/Secret', updateTime: '2026-11-01T00:00:00Z', resource: { parent, location: 'global', data: { name, replication: { automatic: {} } } } });
      secrets.push({ name, expireTime: '2027-01-01T00:00:00Z', replication: { automatic: {} } });
      continue;
    }
    const kind = i % 4;
    const self = (path: string): string => `https://www.googleapis.com/compute/v1/projects/acme-prod/${path}`;
    if (kind === 0) resources.push({ name: `//storage.googleapis.com/bucket-${i}`, assetType: 'storage.googleapis.com/Bucket', updateTime: '2026-11-01T00:00:00Z', resource: { parent, location: 'us', data: { name: `bucket-${i}`, selfLink: `https://www.googleapis.com/storage/v1/b/bucket-${i}`, location: 'US', labels: { env: 'dev' }, iamConfiguration: { uniformBucketLevelAccess: { enabled: i % 3 !== 0 } }, versioning: { enabled: true } } } });
    else if (kind === 1) resources.push({ name: `//compute.googleapis.com/projects/acme-prod/zones/${zone}/instances/vm-${i}`, assetType: 'compute.googleapis.com/Instance', updateTime: '2026-11-01T00:00:00Z', resource: { parent, location: zone, data: { id: String(i), name: `vm-${i}`, selfLink: self(`zones/${zone}/instances/vm-${i}`), zone: self(`zones/${zone}`), machineType: self(`zones/${zone}/machineTypes/e2-standard-2`), status: 'RUNNING', networkInterfaces: [{ network: self('global/networks/default') }], disks: [{ boot: true, source: self(`zones/${zone}/disks/vm-${i}`) }], shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true }, metadata: { items: [{ key: 'enable-oslogin', value: 'TRUE' }] } } } });
    else if (kind === 2) resources.push({ name: `//compute.googleapis.com/projects/acme-prod/global/firewalls/fw-${i}`, assetType: 'compute.googleapis.com/Firewall', updateTime: '2026-11-01T00:00:00Z', resource: { parent, location: 'global', data: { id: String(i), name: `fw-${i}`, selfLink: self(`global/firewalls/fw-${i}`), network: self('global/networks/default'), direction: 'INGRESS', sourceRanges: [i % 5 === 0 ? '0.0.0.0/0' : '10.0.0.0/8'], allowed: [{ IPProtocol: 'tcp', ports: ['22'] }] } } });
    else resources.push({ name: `//compute.googleapis.com/projects/acme-prod/zones/${zone}/disks/disk-${i}`, assetType: 'compute.googleapis.com/Disk', updateTime: '2026-11-01T00:00:00Z', resource: { parent, location: zone, data: { id: String(i), name: `disk-${i}`, selfLink: self(`zones/${zone}/disks/disk-${i}`), zone: self(`zones/${zone}`), type: self(`zones/${zone}/diskTypes/pd-balanced`), sizeGb: '100' } } });
  }
  return { resources, secrets: { '482915730112': secrets } };
}

interface Run {
  ok: boolean;
  result?: { resources: unknown[]; failures: unknown[]; requests: number };
  error?: unknown;
  seconds: number;
  peakRssBytes: number;
}

function runCollector(input: unknown, extraEnv: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../test/support/run-collector.ts')], {
      env: { ...process.env, ...extraEnv, COLLECTOR_INPUT: JSON.stringify(input) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.on('error', reject);
    child.on('exit', () => {
      try {
        resolve(JSON.parse(stdout) as Run);
      } catch {
        reject(new Error('the collector process printed no result'));
      }
    });
  });
}

function report(cloud: string, count: number, run: Run, served: Record<string, number>): void {
  if (!run.ok || run.result === undefined) throw new Error(`${cloud}: ${JSON.stringify(run.error)}`);
  const mb = (run.peakRssBytes / 1024 / 1024).toFixed(0);
  console.log(`${cloud}: ${run.result.resources.length} resources (asked ${count}) in ${run.seconds.toFixed(2)} s, ${run.result.requests} requests counted by the collector (${Object.values(served).reduce((a, b) => a + b, 0)} served: ${JSON.stringify(served)}), failures ${run.result.failures.length}, peak RSS ${mb} MB`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '20000' }, clouds: { type: 'string', default: 'aws,azure,gcp' } } });
  const count = Number(values.count);
  const clouds = new Set(values.clouds.split(','));

  if (clouds.has('aws')) {
    const fake = await startFakeAws({ ...syntheticAws(count), pageSize: 1000 });
    try {
      const run = await runCollector({
        cloud: 'aws',
        credentials: { account_id: fake.state.accountId, access_key_id: fake.state.accessKeyId, secret_access_key: 'bench-secret', regions: ['us-east-1'] },
        endpoints: { aws: fake.url },
        mode: 'full',
        changedSince: null,
      }, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_EC2_METADATA_DISABLED: 'true' });
      report('aws', count, run, { aws: fake.requests });
      const before = fake.requests;
      fake.state.config = { recording: true, startedAt: '2026-01-01T00:00:00Z', items: changedAws(fake.state, new Date().toISOString()) };
      const incremental = await runCollector({
        cloud: 'aws',
        credentials: { account_id: fake.state.accountId, access_key_id: fake.state.accessKeyId, secret_access_key: 'bench-secret', regions: ['us-east-1'] },
        endpoints: { aws: fake.url },
        mode: 'incremental',
        changedSince: new Date(Date.now() - 60_000).toISOString(),
      }, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_EC2_METADATA_DISABLED: 'true' });
      report(`aws incremental (Config naming ${fake.state.config.items.length} changed)`, count, incremental, { aws: fake.requests - before });
    } finally {
      await fake.close();
    }
  }
  if (clouds.has('azure')) await benchAzure(count);
  if (clouds.has('gcp')) await benchGcp(count);
}

async function benchAzure(count: number): Promise<void> {
  const certificate = selfSignedCertificate();
  const azureData = syntheticAzure(count);
  const azure = await startAzureStandIn(certificate, { tenantId: 'tenant-bench', clientSecret: 'bench-secret', pageSize: 1000, ...azureData });
  try {
    const run = await runCollector({
      cloud: 'azure',
      credentials: { tenant_id: 'tenant-bench', client_id: 'client-bench', client_secret: 'bench-secret' },
      target: SUBSCRIPTION,
      endpoints: { azureAuthorityHost: azure.url, azureResourceManager: azure.url, azureKeyVault: azure.url, azureGraph: azure.url },
      mode: 'full',
      changedSince: null,
    }, { NODE_EXTRA_CA_CERTS: certificate.certPath });
    report('azure', count, run, azure.hits);
  } finally {
    await azure.close();
  }
}

async function benchGcp(count: number): Promise<void> {
  const key = testServiceAccountKey('acme-prod');
  const gcpData = syntheticGcp(count);
  const iamPolicies = [{ name: '//cloudresourcemanager.googleapis.com/projects/482915730112', assetType: 'cloudresourcemanager.googleapis.com/Project', iamPolicy: { bindings: [{ role: 'roles/viewer', members: ['group:sre@acme.example'] }] } }];
  const gcp = await startGcpStandIn({ publicKeyPem: key.publicKeyPem, iamPolicies, pageSize: 1000, ...gcpData });
  try {
    const run = await runCollector({ cloud: 'gcp', credentials: { service_account_key: key.keyJson }, target: { project_id: 'acme-prod' }, endpoints: { gcp: gcp.url }, mode: 'full', changedSince: null }, {});
    report('gcp', count, run, gcp.hits);
  } finally {
    await gcp.close();
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
