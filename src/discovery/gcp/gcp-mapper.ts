import type { AttributePath, CanonicalResource } from '../../imports/canonical-resource';

/** One Cloud Asset Inventory asset as `listAssets` answers it (REST JSON, camelCase). */
export interface GcpAsset {
  name: string;
  assetType: string;
  updateTime?: unknown;
  resource?: { data?: Record<string, unknown> | null; location?: string | null; parent?: string | null } | null;
  iamPolicy?: { bindings?: { role?: string | null; members?: string[] | null }[] | null } | null;
}

type Attributes = Record<string, unknown>;
type Mapped = { type: string; attributes: Attributes; unknown?: AttributePath[] };

/**
 * Cloud Asset types and how each becomes the google resource an import of the same object would
 * carry, with the attribute names the rules read. `data` is the service's own REST representation.
 */
const MAPPERS: Record<string, (d: Attributes) => Mapped> = {
  'storage.googleapis.com/Bucket': (d) => {
    const iam = obj(d.iamConfiguration);
    return {
      type: 'google_storage_bucket',
      attributes: {
        storage_class: str(d.storageClass),
        versioning: [{ enabled: obj(d.versioning).enabled === true }],
        uniform_bucket_level_access: obj(iam.uniformBucketLevelAccess).enabled === true,
        public_access_prevention: str(iam.publicAccessPrevention) ?? 'inherited',
        logging: d.logging === undefined ? [] : [{ log_bucket: str(obj(d.logging).logBucket), log_object_prefix: str(obj(d.logging).logObjectPrefix) }],
        lifecycle_rule: arr(obj(d.lifecycle).rule).map((r) => ({ action: [obj(obj(r).action)], condition: [obj(obj(r).condition)] })),
        retention_policy: d.retentionPolicy === undefined ? [] : [{ is_locked: obj(d.retentionPolicy).isLocked === true, retention_period: num(obj(d.retentionPolicy).retentionPeriod) }],
        soft_delete_policy: d.softDeletePolicy === undefined ? [] : [{ retention_duration_seconds: num(obj(d.softDeletePolicy).retentionDurationSeconds) }],
        encryption: d.encryption === undefined ? [] : [{ default_kms_key_name: str(obj(d.encryption).defaultKmsKeyName) }],
      },
    };
  },
  'compute.googleapis.com/Instance': (d) => ({
    type: 'google_compute_instance',
    attributes: {
      zone: last(d.zone),
      machine_type: last(d.machineType),
      can_ip_forward: d.canIpForward === true,
      deletion_protection: d.deletionProtection === true,
      current_status: str(d.status),
      metadata: Object.fromEntries(arr(obj(d.metadata).items).map((i) => [str(obj(i).key) ?? '', obj(i).value])),
      service_account: arr(d.serviceAccounts).map((s) => ({ email: str(obj(s).email), scopes: strings(obj(s).scopes) })),
      shielded_instance_config: d.shieldedInstanceConfig === undefined ? [] : [{
        enable_secure_boot: obj(d.shieldedInstanceConfig).enableSecureBoot === true,
        enable_vtpm: obj(d.shieldedInstanceConfig).enableVtpm === true,
        enable_integrity_monitoring: obj(d.shieldedInstanceConfig).enableIntegrityMonitoring === true,
      }],
      confidential_instance_config: d.confidentialInstanceConfig === undefined ? [] : [{
        enable_confidential_compute: obj(d.confidentialInstanceConfig).enableConfidentialCompute === true,
        confidential_instance_type: str(obj(d.confidentialInstanceConfig).confidentialInstanceType),
      }],
      network_interface: arr(d.networkInterfaces).map((n) => ({
        network: str(obj(n).network),
        subnetwork: str(obj(n).subnetwork),
        network_ip: str(obj(n).networkIP),
        access_config: arr(obj(n).accessConfigs).map((a) => ({ nat_ip: str(obj(a).natIP), network_tier: str(obj(a).networkTier) })),
      })),
      boot_disk: arr(d.disks).filter((k) => obj(k).boot === true).map(diskOf),
      attached_disk: arr(d.disks).filter((k) => obj(k).boot !== true).map(diskOf),
      scheduling: [{
        automatic_restart: obj(d.scheduling).automaticRestart !== false,
        preemptible: obj(d.scheduling).preemptible === true,
        provisioning_model: str(obj(d.scheduling).provisioningModel) ?? 'STANDARD',
      }],
    },
    // The boot disk's type lives on the disk resource, not on the instance.
    unknown: [['boot_disk', 0, 'initialize_params']],
  }),
  'compute.googleapis.com/Firewall': (d) => ({
    type: 'google_compute_firewall',
    attributes: {
      network: str(d.network),
      direction: str(d.direction) ?? 'INGRESS',
      disabled: d.disabled === true,
      priority: num(d.priority),
      source_ranges: strings(d.sourceRanges),
      destination_ranges: strings(d.destinationRanges),
      source_tags: strings(d.sourceTags),
      target_tags: strings(d.targetTags),
      allow: arr(d.allowed).map((a) => ({ protocol: str(obj(a).IPProtocol), ports: strings(obj(a).ports) })),
      deny: arr(d.denied).map((a) => ({ protocol: str(obj(a).IPProtocol), ports: strings(obj(a).ports) })),
      log_config: obj(d.logConfig).enable === true ? [{ metadata: str(obj(d.logConfig).metadata) ?? 'INCLUDE_ALL_METADATA' }] : [],
    },
  }),
  'compute.googleapis.com/Network': (d) => ({
    type: 'google_compute_network',
    attributes: { auto_create_subnetworks: d.autoCreateSubnetworks === true, routing_mode: str(obj(d.routingConfig).routingMode) },
  }),
  'compute.googleapis.com/Subnetwork': (d) => ({
    type: 'google_compute_subnetwork',
    attributes: {
      network: str(d.network),
      region: last(d.region),
      ip_cidr_range: str(d.ipCidrRange),
      purpose: str(d.purpose) ?? 'PRIVATE',
      private_ip_google_access: d.privateIpGoogleAccess === true,
      log_config: obj(d.logConfig).enable === true || d.enableFlowLogs === true
        ? [{ aggregation_interval: str(obj(d.logConfig).aggregationInterval), flow_sampling: num(obj(d.logConfig).flowSampling), metadata: str(obj(d.logConfig).metadata) }]
        : [],
    },
  }),
  'compute.googleapis.com/Disk': (d) => ({
    type: 'google_compute_disk',
    attributes: {
      zone: last(d.zone),
      type: last(d.type),
      size: num(Number(d.sizeGb)),
      users: strings(d.users),
      disk_encryption_key: d.diskEncryptionKey === undefined ? [] : [{ kms_key_self_link: str(obj(d.diskEncryptionKey).kmsKeyName) }],
    },
  }),
  'sqladmin.googleapis.com/Instance': (d) => {
    const s = obj(d.settings);
    const ip = obj(s.ipConfiguration);
    const backup = obj(s.backupConfiguration);
    return {
      type: 'google_sql_database_instance',
      attributes: {
        region: str(d.region),
        database_version: str(d.databaseVersion),
        master_instance_name: str(d.masterInstanceName),
        deletion_protection: s.deletionProtectionEnabled === true,
        settings: [{
          tier: str(s.tier),
          availability_type: str(s.availabilityType) ?? 'ZONAL',
          deletion_protection_enabled: s.deletionProtectionEnabled === true,
          user_labels: obj(s.userLabels),
          ip_configuration: [{
            ipv4_enabled: ip.ipv4Enabled !== false,
            ssl_mode: str(ip.sslMode),
            require_ssl: ip.requireSsl === true,
            private_network: str(ip.privateNetwork),
            authorized_networks: arr(ip.authorizedNetworks).map((n) => ({ name: str(obj(n).name), value: str(obj(n).value) })),
          }],
          backup_configuration: [{
            enabled: backup.enabled === true,
            binary_log_enabled: backup.binaryLogEnabled === true,
            point_in_time_recovery_enabled: backup.pointInTimeRecoveryEnabled === true,
          }],
          database_flags: arr(s.databaseFlags).map((f) => ({ name: str(obj(f).name), value: str(obj(f).value) })),
        }],
      },
    };
  },
  'container.googleapis.com/Cluster': (d) => {
    const mac = obj(d.masterAuthorizedNetworksConfig);
    return {
      type: 'google_container_cluster',
      attributes: {
        location: str(d.location),
        enable_autopilot: obj(d.autopilot).enabled === true,
        enable_legacy_abac: obj(d.legacyAbac).enabled === true,
        enable_shielded_nodes: obj(d.shieldedNodes).enabled === true,
        private_cluster_config: [{ enable_private_nodes: obj(d.privateClusterConfig).enablePrivateNodes === true, enable_private_endpoint: obj(d.privateClusterConfig).enablePrivateEndpoint === true }],
        network_policy: [{ enabled: obj(d.networkPolicy).enabled === true, provider: str(obj(d.networkPolicy).provider) }],
        datapath_provider: str(obj(d.networkConfig).datapathProvider),
        workload_identity_config: d.workloadIdentityConfig === undefined ? [] : [{ workload_pool: str(obj(d.workloadIdentityConfig).workloadPool) }],
        master_auth: [{ client_certificate_config: [{ issue_client_certificate: obj(obj(obj(d.masterAuth).clientCertificateConfig)).issueClientCertificate === true }] }],
        master_authorized_networks_config: mac.enabled === true
          ? [{ cidr_blocks: arr(mac.cidrBlocks).map((c) => ({ cidr_block: str(obj(c).cidrBlock), display_name: str(obj(c).displayName) })) }]
          : [],
        logging_service: str(d.loggingService),
        min_master_version: str(d.currentMasterVersion),
      },
    };
  },
  'cloudkms.googleapis.com/CryptoKey': (d) => ({
    type: 'google_kms_crypto_key',
    attributes: { purpose: str(d.purpose), rotation_period: str(d.rotationPeriod), next_rotation_time: str(d.nextRotationTime) },
  }),
  'secretmanager.googleapis.com/Secret': (d) => secretAttributes(d),
  // A key of a service account: user-managed keys live until deleted or `validBeforeTime`.
  'iam.googleapis.com/ServiceAccountKey': (d) => {
    const name = str(d.name);
    return {
      type: 'google_service_account_key',
      attributes: {
        id: name,
        service_account_id: name === null ? null : (/serviceAccounts\/([^/]+)/.exec(name)?.[1] ?? null),
        key_id: last(name),
        key_algorithm: str(d.keyAlgorithm),
        key_origin: str(d.keyOrigin),
        key_type: str(d.keyType),
        valid_after: time(d.validAfterTime),
        valid_before: time(d.validBeforeTime),
        disabled: d.disabled === true,
      },
    };
  },
  'cloudresourcemanager.googleapis.com/Project': (d) => ({
    type: 'google_project',
    attributes: { project_id: str(d.projectId), number: str(d.projectNumber) },
  }),
};

/** The Cloud Asset types the collector asks for. */
export const GCP_ASSET_TYPES = Object.keys(MAPPERS);

/** The google types a full RESOURCE read covers completely (IAM bindings come from the IAM_POLICY read). */
export const GCP_RESOURCE_TERRAFORM_TYPES = [
  'google_storage_bucket', 'google_compute_instance', 'google_compute_firewall', 'google_compute_network', 'google_compute_subnetwork',
  'google_compute_disk', 'google_sql_database_instance', 'google_container_cluster', 'google_kms_crypto_key', 'google_secret_manager_secret', 'google_project',
  'google_service_account_key',
];

export const GCP_IAM_TERRAFORM_TYPES = ['google_project_iam_binding', 'google_storage_bucket_iam_binding'];

/** A secret as Secret Manager describes it (REST JSON): the fields the expiry alerts read. */
export function secretAttributes(d: Attributes): Mapped {
  const rotation = obj(d.rotation);
  return {
    type: 'google_secret_manager_secret',
    attributes: {
      secret_id: last(d.name),
      expire_time: time(d.expireTime),
      ttl: duration(d.ttl),
      rotation: d.rotation === undefined || d.rotation === null ? [] : [{ next_rotation_time: time(rotation.nextRotationTime), rotation_period: duration(rotation.rotationPeriod) }],
      replication: d.replication === undefined || d.replication === null ? [] : [obj(d.replication)],
      create_time: time(d.createTime),
    },
  };
}

export function mapAssetResource(asset: GcpAsset): CanonicalResource | null {
  const mapper = MAPPERS[asset.assetType];
  const data = obj(asset.resource?.data);
  if (mapper === undefined || asset.resource === undefined || asset.resource === null) return null;
  const mapped = mapper(data);
  const labels = stringMap(data.labels);
  const name = str(data.name) === null ? last(asset.name) : last(data.name);
  const nativeId = str(data.selfLink) ?? asset.name;
  const region = regionOf(mapped.attributes, str(asset.resource.location));
  return {
    type: mapped.type,
    native_id: nativeId,
    provider: 'gcp',
    region,
    name,
    tags: labels,
    attributes: {
      id: str(data.id) ?? asset.name,
      name,
      project: projectOf(asset.name) ?? projectOf(asset.resource.parent ?? ''),
      self_link: str(data.selfLink),
      labels,
      ...(mapped.attributes.location === undefined ? { location: str(asset.resource.location) } : {}),
      ...mapped.attributes,
    },
    relationships: [],
    unknown_paths: mapped.unknown ?? [],
    source: asset.name,
  };
}

/** One `google_*_iam_binding` per role of an asset's IAM policy (project and bucket policies). */
export function mapAssetIamPolicy(asset: GcpAsset, resourceNativeId: string | null): CanonicalResource[] {
  const bindings = asset.iamPolicy?.bindings ?? [];
  const target = asset.assetType === 'cloudresourcemanager.googleapis.com/Project'
    ? { type: 'google_project_iam_binding', key: 'project', value: projectOf(asset.name) }
    : asset.assetType === 'storage.googleapis.com/Bucket'
      ? { type: 'google_storage_bucket_iam_binding', key: 'bucket', value: last(asset.name) }
      : null;
  if (target === null) return [];
  return bindings
    .filter((b) => typeof b.role === 'string' && b.role !== '')
    .map((binding) => ({
      type: target.type,
      native_id: `${asset.name}/${binding.role as string}`,
      provider: 'gcp' as const,
      region: null,
      name: binding.role as string,
      tags: {},
      attributes: { [target.key]: target.value, role: binding.role, members: [...(binding.members ?? [])] },
      relationships: resourceNativeId === null ? [] : [{ type: 'attached_to' as const, resource_native_id: resourceNativeId }],
      unknown_paths: [],
      source: asset.name,
    }));
}

/** `projects/<number or id>` of an asset name such as //compute.googleapis.com/projects/p/zones/z/instances/i. */
export function projectOf(assetName: string): string | null {
  return /\/projects\/([^/]+)/.exec(assetName)?.[1] ?? null;
}

function diskOf(disk: unknown): Attributes {
  const d = obj(disk);
  return {
    source: str(d.source),
    device_name: str(d.deviceName),
    mode: str(d.mode),
    disk_encryption_key_sha256: str(obj(d.diskEncryptionKey).sha256),
    kms_key_self_link: str(obj(d.diskEncryptionKey).kmsKeyName),
  };
}

function regionOf(attributes: Attributes, location: string | null): string | null {
  const value = last(str(attributes.region) ?? location ?? str(attributes.zone))?.toLowerCase() ?? null;
  // A zone (us-central1-a) belongs to its region (us-central1).
  return value !== null && /\d-[a-z]$/.test(value) ? value.slice(0, -2) : value;
}

/** An RFC 3339 string, as REST JSON has it, or a decoded google.protobuf.Timestamp ({seconds, nanos}). */
function time(value: unknown): string | null {
  if (typeof value === 'string') return value === '' ? null : value;
  const t = obj(value);
  if (t.seconds === undefined || t.seconds === null) return null;
  return new Date(Number(t.seconds) * 1000 + Math.floor(Number(t.nanos ?? 0) / 1e6)).toISOString().replace('.000Z', 'Z');
}

/** "7776000s", as REST JSON has it, from a string or a decoded google.protobuf.Duration. */
function duration(value: unknown): string | null {
  if (typeof value === 'string') return value === '' ? null : value;
  const d = obj(value);
  return d.seconds === undefined || d.seconds === null ? null : `${Number(d.seconds)}s`;
}

function last(value: unknown): string | null {
  const s = str(value);
  return s === null ? null : (s.split('/').at(-1) ?? s);
}
function stringMap(value: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, entry] of Object.entries(obj(value))) if (typeof entry === 'string') result[key] = entry;
  return result;
}
function obj(value: unknown): Attributes {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Attributes) : {};
}
function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}
function strings(value: unknown): string[] {
  return arr(value).filter((v): v is string => typeof v === 'string' && v !== '');
}
function num(value: unknown): number | null {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}
