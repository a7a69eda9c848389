import type { AttributePath, CanonicalResource } from '../../imports/canonical-resource';

/** One row of the Resource Graph query: an ARM resource with its properties. */
export interface ResourceGraphRow {
  id: string;
  name: string;
  type: string;
  location?: string | null;
  resourceGroup?: string | null;
  tags?: Record<string, unknown> | null;
  properties?: Record<string, unknown> | null;
  sku?: Record<string, unknown> | null;
  kind?: string | null;
  zones?: string[] | null;
}

type Attributes = Record<string, unknown>;
type Mapped = { type: string; attributes: Attributes; unknown?: AttributePath[] };

/**
 * ARM resource types (lowercase, as Resource Graph answers them) and how each becomes the azurerm
 * resource an import of the same object would carry, with the attribute names the rules read.
 * Parts Resource Graph does not return (a storage account's blob service, a SQL server's auditing)
 * are listed as unknown so the rules answer `unknown` instead of a false finding.
 */
const MAPPERS: Record<string, (row: ResourceGraphRow, p: Attributes) => Mapped> = {
  'microsoft.storage/storageaccounts': (row, p) => {
    const acls = obj(p.networkAcls);
    const encryption = obj(p.encryption);
    const skuName = str(row.sku?.name);
    return {
      type: 'azurerm_storage_account',
      attributes: {
        account_kind: row.kind ?? null,
        account_tier: str(row.sku?.tier),
        account_replication_type: skuName === null ? null : (skuName.split('_')[1] ?? null),
        https_traffic_only_enabled: bool(p.supportsHttpsTrafficOnly, true),
        min_tls_version: str(p.minimumTlsVersion) ?? 'TLS1_0',
        allow_nested_items_to_be_public: bool(p.allowBlobPublicAccess, false),
        shared_access_key_enabled: bool(p.allowSharedKeyAccess, true),
        public_network_access_enabled: str(p.publicNetworkAccess) !== 'Disabled',
        cross_tenant_replication_enabled: bool(p.allowCrossTenantReplication, false),
        infrastructure_encryption_enabled: bool(encryption.requireInfrastructureEncryption, false),
        network_rules: Object.keys(acls).length === 0 ? [] : [{
          default_action: str(acls.defaultAction) ?? 'Allow',
          bypass: (str(acls.bypass) ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== 'None'),
          ip_rules: arr(acls.ipRules).map((r) => str(obj(r).value)).filter((v) => v !== null),
          virtual_network_subnet_ids: arr(acls.virtualNetworkRules).map((r) => str(obj(r).id)).filter((v) => v !== null),
        }],
        customer_managed_key: str(encryption.keySource)?.toLowerCase() === 'microsoft.keyvault'
          ? [{ key_vault_key_id: keyVaultKeyId(obj(encryption.keyvaultproperties)) }]
          : [],
        primary_blob_endpoint: str(obj(p.primaryEndpoints).blob),
      },
      unknown: [['blob_properties'], ['queue_properties']],
    };
  },
  'microsoft.keyvault/vaults': (_row, p) => ({
    type: 'azurerm_key_vault',
    attributes: {
      tenant_id: str(p.tenantId),
      sku_name: str(obj(p.sku).name),
      vault_uri: str(p.vaultUri),
      purge_protection_enabled: bool(p.enablePurgeProtection, false),
      soft_delete_retention_days: num(p.softDeleteRetentionInDays),
      rbac_authorization_enabled: bool(p.enableRbacAuthorization, false),
      public_network_access_enabled: str(p.publicNetworkAccess) !== 'Disabled',
      network_acls: Object.keys(obj(p.networkAcls)).length === 0 ? [] : [{
        default_action: str(obj(p.networkAcls).defaultAction) ?? 'Allow',
        bypass: str(obj(p.networkAcls).bypass) ?? 'AzureServices',
      }],
    },
  }),
  'microsoft.network/networksecuritygroups': (_row, p) => ({
    type: 'azurerm_network_security_group',
    attributes: {
      security_rule: arr(p.securityRules).map((rule) => {
        const r = obj(obj(rule).properties);
        return {
          name: str(obj(rule).name),
          priority: num(r.priority),
          direction: str(r.direction),
          access: str(r.access),
          protocol: str(r.protocol),
          source_port_range: str(r.sourcePortRange),
          source_port_ranges: strings(r.sourcePortRanges),
          destination_port_range: str(r.destinationPortRange),
          destination_port_ranges: strings(r.destinationPortRanges),
          source_address_prefix: str(r.sourceAddressPrefix),
          source_address_prefixes: strings(r.sourceAddressPrefixes),
          destination_address_prefix: str(r.destinationAddressPrefix),
          destination_address_prefixes: strings(r.destinationAddressPrefixes),
        };
      }),
    },
  }),
  'microsoft.compute/disks': (row, p) => {
    const encryption = obj(p.encryption);
    return {
      type: 'azurerm_managed_disk',
      attributes: {
        storage_account_type: str(row.sku?.name),
        disk_size_gb: num(p.diskSizeGB),
        create_option: str(obj(p.creationData).createOption),
        network_access_policy: str(p.networkAccessPolicy) ?? 'AllowAll',
        public_network_access_enabled: str(p.publicNetworkAccess) !== 'Disabled',
        disk_encryption_set_id: str(encryption.diskEncryptionSetId),
        secure_vm_disk_encryption_set_id: str(obj(obj(p.securityProfile)).secureVMDiskEncryptionSetId),
        zone: row.zones?.[0] ?? null,
        disk_state: str(p.diskState),
      },
    };
  },
  'microsoft.compute/virtualmachines': (row, p) => {
    const os = obj(p.osProfile);
    const storage = obj(p.storageProfile);
    const osDisk = obj(storage.osDisk);
    const linux = Object.keys(obj(os.linuxConfiguration)).length > 0 || str(osDisk.osType)?.toLowerCase() === 'linux';
    return {
      type: linux ? 'azurerm_linux_virtual_machine' : 'azurerm_windows_virtual_machine',
      attributes: {
        size: str(obj(p.hardwareProfile).vmSize),
        zone: row.zones?.[0] ?? null,
        availability_set_id: str(obj(p.availabilitySet).id),
        admin_username: str(os.adminUsername),
        ...(linux ? { disable_password_authentication: bool(obj(os.linuxConfiguration).disablePasswordAuthentication, true) } : {}),
        encryption_at_host_enabled: bool(obj(p.securityProfile).encryptionAtHost, false),
        os_disk: [{
          caching: str(osDisk.caching),
          storage_account_type: str(obj(osDisk.managedDisk).storageAccountType),
          disk_size_gb: num(osDisk.diskSizeGB),
        }],
        network_interface_ids: arr(obj(p.networkProfile).networkInterfaces).map((n) => str(obj(n).id)).filter((v) => v !== null),
      },
    };
  },
  'microsoft.containerservice/managedclusters': (row, p) => {
    const api = obj(p.apiServerAccessProfile);
    const pool = obj(arr(p.agentPoolProfiles)[0]);
    const oms = obj(obj(p.addonProfiles).omsagent ?? obj(p.addonProfiles).omsAgent);
    const network = obj(p.networkProfile);
    return {
      type: 'azurerm_kubernetes_cluster',
      attributes: {
        kubernetes_version: str(p.kubernetesVersion),
        sku_tier: str(row.sku?.tier) ?? 'Free',
        private_cluster_enabled: bool(api.enablePrivateCluster, false),
        api_server_access_profile: [{ authorized_ip_ranges: strings(api.authorizedIPRanges) }],
        local_account_disabled: bool(p.disableLocalAccounts, false),
        role_based_access_control_enabled: bool(p.enableRBAC, true),
        network_profile: [{ network_plugin: str(network.networkPlugin), network_policy: str(network.networkPolicy) }],
        oms_agent: oms.enabled === true ? [{ log_analytics_workspace_id: str(obj(oms.config).logAnalyticsWorkspaceResourceID) }] : [],
        default_node_pool: [{
          name: str(pool.name),
          vm_size: str(pool.vmSize),
          node_count: num(pool.count),
          min_count: num(pool.minCount),
          max_count: num(pool.maxCount),
          auto_scaling_enabled: bool(pool.enableAutoScaling, false),
          node_public_ip_enabled: bool(pool.enableNodePublicIP, false),
          zones: strings(pool.availabilityZones),
        }],
      },
    };
  },
  'microsoft.sql/servers': (_row, p) => {
    const admins = obj(p.administrators);
    return {
      type: 'azurerm_mssql_server',
      attributes: {
        version: str(p.version),
        administrator_login: str(p.administratorLogin),
        minimum_tls_version: str(p.minimalTlsVersion),
        public_network_access_enabled: str(p.publicNetworkAccess) !== 'Disabled',
        azuread_administrator: Object.keys(admins).length === 0 ? [] : [{
          login_username: str(admins.login),
          object_id: str(admins.sid),
          azuread_authentication_only: bool(admins.azureADOnlyAuthentication, false),
        }],
      },
      unknown: [['extended_auditing_policy']],
    };
  },
  'microsoft.network/virtualnetworks': (_row, p) => ({
    type: 'azurerm_virtual_network',
    attributes: {
      address_space: strings(obj(p.addressSpace).addressPrefixes),
      subnet: arr(p.subnets).map((s) => ({ name: str(obj(s).name), id: str(obj(s).id), address_prefixes: strings(obj(obj(s).properties).addressPrefixes).concat(strings([obj(obj(s).properties).addressPrefix])) })),
    },
  }),
  'microsoft.network/publicipaddresses': (row, p) => ({
    type: 'azurerm_public_ip',
    attributes: {
      allocation_method: str(p.publicIPAllocationMethod),
      sku: str(row.sku?.name),
      ip_address: str(p.ipAddress),
      zones: row.zones ?? [],
      ip_configuration_id: str(obj(p.ipConfiguration).id),
    },
  }),
  'microsoft.containerregistry/registries': (row, p) => ({
    type: 'azurerm_container_registry',
    attributes: {
      sku: str(row.sku?.name),
      admin_enabled: bool(p.adminUserEnabled, false),
      public_network_access_enabled: str(p.publicNetworkAccess) !== 'Disabled',
      anonymous_pull_enabled: bool(p.anonymousPullEnabled, false),
    },
  }),
  'microsoft.dbforpostgresql/flexibleservers': (row, p) => ({
    type: 'azurerm_postgresql_flexible_server',
    attributes: {
      version: str(p.version),
      sku_name: str(row.sku?.name),
      public_network_access_enabled: str(obj(p.network).publicNetworkAccess) !== 'Disabled',
      backup_retention_days: num(obj(p.backup).backupRetentionDays),
      geo_redundant_backup_enabled: str(obj(p.backup).geoRedundantBackup) === 'Enabled',
      high_availability: str(obj(p.highAvailability).mode) === null || str(obj(p.highAvailability).mode) === 'Disabled' ? [] : [{ mode: str(obj(p.highAvailability).mode) }],
    },
  }),
};

/** The ARM types the collector reads, lowercase: the query asks for exactly these. */
export const AZURE_ARM_TYPES = Object.keys(MAPPERS);

/** The azurerm types a full Resource Graph read covers completely. */
export const AZURE_GRAPH_TERRAFORM_TYPES = [
  'azurerm_storage_account', 'azurerm_key_vault', 'azurerm_network_security_group', 'azurerm_managed_disk',
  'azurerm_linux_virtual_machine', 'azurerm_windows_virtual_machine', 'azurerm_kubernetes_cluster', 'azurerm_mssql_server',
  'azurerm_virtual_network', 'azurerm_public_ip', 'azurerm_container_registry', 'azurerm_postgresql_flexible_server',
];

export function mapResourceGraphRow(row: ResourceGraphRow): CanonicalResource | null {
  const mapper = MAPPERS[row.type.toLowerCase()];
  if (mapper === undefined) return null;
  const mapped = mapper(row, obj(row.properties));
  const location = normaliseLocation(row.location);
  const tags = stringTags(row.tags);
  return {
    type: mapped.type,
    native_id: row.id,
    provider: 'azure',
    region: location,
    name: row.name,
    tags,
    attributes: {
      id: row.id,
      name: row.name,
      location,
      resource_group_name: row.resourceGroup ?? resourceGroupOf(row.id),
      tags,
      ...mapped.attributes,
    },
    relationships: [],
    unknown_paths: mapped.unknown ?? [],
    source: row.id,
  };
}

export interface VaultRef {
  id: string;
  name: string;
  uri: string;
  location: string | null;
}

/** What the Key Vault data plane answers for a secret, key or certificate (the SDKs' *Properties). */
export interface VaultItemProperties {
  id?: string;
  name: string;
  enabled?: boolean;
  expiresOn?: Date;
  notBefore?: Date;
  createdOn?: Date;
  updatedOn?: Date;
  contentType?: string;
  tags?: Record<string, string>;
  x509Thumbprint?: Uint8Array;
}

export type VaultItemKind = 'secret' | 'key' | 'certificate';

const KIND_TYPE: Record<VaultItemKind, string> = {
  secret: 'azurerm_key_vault_secret',
  key: 'azurerm_key_vault_key',
  certificate: 'azurerm_key_vault_certificate',
};

/** A Key Vault secret, key or certificate; the versionless id keeps it stable across rotations. */
export function mapVaultItem(
  kind: VaultItemKind,
  vault: VaultRef,
  item: VaultItemProperties,
  extra: Attributes = {},
  unknown: AttributePath[] = [],
): CanonicalResource {
  const versionless = `${vault.uri.replace(/\/+$/, '')}/${kind}s/${item.name}`;
  const expires = item.expiresOn?.toISOString() ?? null;
  const tags = item.tags ?? {};
  const attributes: Attributes = {
    id: item.id ?? versionless,
    name: item.name,
    key_vault_id: vault.id,
    versionless_id: versionless,
    resource_versionless_id: versionless,
    enabled: item.enabled ?? true,
    not_before_date: item.notBefore?.toISOString() ?? null,
    tags,
    ...extra,
  };
  if (kind === 'certificate') {
    attributes.certificate_attribute = [{
      enabled: item.enabled ?? true,
      expires,
      not_before: item.notBefore?.toISOString() ?? null,
      created: item.createdOn?.toISOString() ?? null,
      updated: item.updatedOn?.toISOString() ?? null,
    }];
    attributes.thumbprint = item.x509Thumbprint === undefined ? null : Buffer.from(item.x509Thumbprint).toString('hex').toUpperCase();
  } else {
    attributes.expiration_date = expires;
    if (kind === 'secret') attributes.content_type = item.contentType ?? null;
  }
  return {
    type: KIND_TYPE[kind],
    native_id: versionless,
    provider: 'azure',
    region: vault.location,
    name: item.name,
    tags,
    attributes,
    relationships: [{ type: 'attached_to', resource_native_id: vault.id, resource_types: ['azurerm_key_vault'] }],
    unknown_paths: unknown,
    source: versionless,
  };
}

/** A key's rotation policy as azurerm's `rotation_policy` block; [] when none is set. */
export function mapRotationPolicy(policy: { expiresIn?: string; lifetimeActions?: { action: string; timeAfterCreate?: string; timeBeforeExpiry?: string }[] } | undefined): Attributes[] {
  const actions = policy?.lifetimeActions ?? [];
  if (actions.length === 0 && policy?.expiresIn === undefined) return [];
  const rotate = actions.find((a) => a.action.toLowerCase() === 'rotate');
  const notify = actions.find((a) => a.action.toLowerCase() === 'notify');
  return [{
    expire_after: policy?.expiresIn ?? null,
    notify_before_expiry: notify?.timeBeforeExpiry ?? null,
    automatic: rotate === undefined ? [] : [{ time_after_creation: rotate.timeAfterCreate ?? null, time_before_expiry: rotate.timeBeforeExpiry ?? null }],
  }];
}

export function vaultRefOf(row: ResourceGraphRow): VaultRef | null {
  const uri = str(obj(row.properties).vaultUri);
  return uri === null ? null : { id: row.id, name: row.name, uri, location: normaliseLocation(row.location) };
}

function keyVaultKeyId(props: Attributes): string | null {
  const uri = str(props.keyvaulturi);
  const name = str(props.keyname);
  if (uri === null || name === null) return null;
  return `${uri.replace(/\/+$/, '')}/keys/${name}${str(props.keyversion) ? `/${str(props.keyversion)}` : ''}`;
}

function normaliseLocation(location: string | null | undefined): string | null {
  return typeof location === 'string' && location !== '' ? location.toLowerCase().replace(/\s+/g, '') : null;
}

function resourceGroupOf(id: string): string | null {
  return /\/resourceGroups\/([^/]+)/i.exec(id)?.[1] ?? null;
}

function stringTags(tags: Record<string, unknown> | null | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags ?? {})) if (typeof value === 'string') result[key] = value;
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
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
function bool(value: unknown, fallback: boolean): boolean {
  return typeof value === 'boolean' ? value : fallback;
}
