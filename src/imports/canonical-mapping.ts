import { isTypeOfProvider, type Provider } from '../providers';
import type { AttributePath, CanonicalResource, ImportProblem, ParseResult } from './canonical-resource';

export type { AttributePath } from './canonical-resource';

/** One managed resource instance read from a Terraform state or `terraform show -json` document. */
export interface TerraformInstance {
  /**
   * Full Terraform address, e.g. module.net.aws_security_group.web["a"]. It stands in for the
   * native id of a resource that has none: one a plan creates, or a state written by hand.
   */
  address: string;
  type: string;
  /** Provider source such as registry.terraform.io/hashicorp/aws, or a bare name such as aws. */
  providerSource: string | null;
  attributes: Record<string, unknown>;
  /** Paths Terraform marks sensitive for this instance. */
  sensitivePaths: AttributePath[];
  /** Paths whose value Terraform knows only after apply (plans). */
  unknownPaths: AttributePath[];
  /** Plans: the `expressions` of the resource's block in `configuration`, whose references name other resources. */
  expressions: Record<string, unknown> | null;
}

const PROVIDER_BY_TERRAFORM_NAME: Readonly<Record<string, Provider>> = {
  aws: 'aws',
  azurerm: 'azure',
  azuread: 'azure',
  google: 'gcp',
  'google-beta': 'gcp',
};


// Attributes the providers' schemas declare sensitive. Terraform records those in
// `sensitive_attributes`, but files from older Terraform versions or edited by hand may not, and
// secrets must never enter the inventory, so these are blanked whatever the file says.
const SCHEMA_SENSITIVE: Readonly<Record<string, readonly string[]>> = {
  aws_db_instance: ['password'],
  aws_rds_cluster: ['master_password'],
  aws_iam_access_key: ['secret', 'ses_smtp_password_v4'],
  aws_iam_user_login_profile: ['password'],
  aws_secretsmanager_secret_version: ['secret_string', 'secret_binary'],
  azurerm_key_vault_secret: ['value'],
  azuread_application_password: ['value'],
  azuread_service_principal_password: ['value'],
  azurerm_storage_account: [
    'primary_access_key',
    'secondary_access_key',
    'primary_connection_string',
    'secondary_connection_string',
    'primary_blob_connection_string',
    'secondary_blob_connection_string',
  ],
  google_service_account_key: ['private_key'],
  google_sql_user: ['password'],
};

// The resource types an azurerm_private_endpoint commonly connects to (private_connection_resource_id).
const PRIVATE_LINK_TARGETS: readonly string[] = [
  'azurerm_storage_account',
  'azurerm_key_vault',
  'azurerm_mssql_server',
  'azurerm_cosmosdb_account',
  'azurerm_container_registry',
  'azurerm_postgresql_server',
  'azurerm_postgresql_flexible_server',
  'azurerm_mysql_server',
  'azurerm_mysql_flexible_server',
  'azurerm_redis_cache',
  'azurerm_eventhub_namespace',
  'azurerm_servicebus_namespace',
  'azurerm_search_service',
  'azurerm_app_configuration',
  'azurerm_linux_web_app',
  'azurerm_windows_web_app',
  'azurerm_linux_function_app',
  'azurerm_windows_function_app',
  'azurerm_cognitive_account',
  'azurerm_synapse_workspace',
  'azurerm_data_factory',
];

interface Reference {
  /** Dotted attribute path; `[]` after a segment walks every element of a list. */
  path: string;
  /** Resource types the value refers to, used to resolve it to their native id. */
  targets: readonly string[];
  /** Azure: the value is a name, unique only within the resource group of the referring resource. */
  inResourceGroup?: boolean;
}

const S3_BUCKET: readonly Reference[] = [{ path: 'bucket', targets: ['aws_s3_bucket'] }];
const SECURITY_GROUP: readonly Reference[] = [{ path: 'security_group_id', targets: ['aws_security_group'] }];
const IAM_ROLE: readonly Reference[] = [{ path: 'role', targets: ['aws_iam_role'] }];
const IAM_USER: readonly Reference[] = [{ path: 'user', targets: ['aws_iam_user'] }];
const IAM_GROUP: readonly Reference[] = [{ path: 'group', targets: ['aws_iam_group'] }];

// Attributes that hold ids, ARNs, names or self links of the resources this one is attached to.
const REFERENCES: Readonly<Record<string, readonly Reference[]>> = {
  aws_instance: [
    { path: 'vpc_security_group_ids[]', targets: ['aws_security_group'] },
    { path: 'security_groups[]', targets: ['aws_security_group'] },
    { path: 'subnet_id', targets: ['aws_subnet'] },
  ],
  aws_db_instance: [
    { path: 'vpc_security_group_ids[]', targets: ['aws_security_group'] },
    { path: 'parameter_group_name', targets: ['aws_db_parameter_group'] },
  ],
  aws_rds_cluster: [{ path: 'db_cluster_parameter_group_name', targets: ['aws_rds_cluster_parameter_group'] }],
  aws_redshift_cluster: [{ path: 'cluster_parameter_group_name', targets: ['aws_redshift_parameter_group'] }],
  aws_redshift_logging: [{ path: 'cluster_identifier', targets: ['aws_redshift_cluster'] }],
  aws_flow_log: [{ path: 'vpc_id', targets: ['aws_vpc'] }],
  aws_vpc_endpoint: [{ path: 'vpc_id', targets: ['aws_vpc'] }],
  aws_guardduty_detector_feature: [{ path: 'detector_id', targets: ['aws_guardduty_detector'] }],
  aws_cloudtrail: [{ path: 's3_bucket_name', targets: ['aws_s3_bucket'] }],
  aws_cloudwatch_event_bus_policy: [{ path: 'event_bus_name', targets: ['aws_cloudwatch_event_bus'] }],
  aws_lb: [{ path: 'security_groups[]', targets: ['aws_security_group'] }],
  aws_network_interface: [{ path: 'security_groups[]', targets: ['aws_security_group'] }],
  aws_volume_attachment: [
    { path: 'volume_id', targets: ['aws_ebs_volume'] },
    { path: 'instance_id', targets: ['aws_instance'] },
  ],
  aws_eip: [
    { path: 'instance', targets: ['aws_instance'] },
    { path: 'network_interface', targets: ['aws_network_interface'] },
  ],
  aws_eip_association: [
    { path: 'allocation_id', targets: ['aws_eip'] },
    { path: 'instance_id', targets: ['aws_instance'] },
  ],
  aws_lb_target_group_attachment: [
    { path: 'target_group_arn', targets: ['aws_lb_target_group', 'aws_alb_target_group'] },
    { path: 'target_id', targets: ['aws_instance', 'aws_lb'] },
  ],
  aws_iam_access_key: [{ path: 'user', targets: ['aws_iam_user'] }],
  // AWS provider 4+ configures a bucket through resources of its own, and a security group or an
  // IAM identity through separate rules and policy attachments: each is attached to what it configures.
  aws_s3_bucket_acl: S3_BUCKET,
  aws_s3_bucket_versioning: S3_BUCKET,
  aws_s3_bucket_server_side_encryption_configuration: S3_BUCKET,
  aws_s3_bucket_logging: S3_BUCKET,
  aws_s3_bucket_public_access_block: S3_BUCKET,
  aws_s3_bucket_policy: S3_BUCKET,
  aws_s3_bucket_lifecycle_configuration: S3_BUCKET,
  aws_s3_bucket_ownership_controls: S3_BUCKET,
  aws_s3_bucket_website_configuration: S3_BUCKET,
  aws_s3_bucket_replication_configuration: S3_BUCKET,
  aws_s3_bucket_object_lock_configuration: S3_BUCKET,
  aws_security_group_rule: SECURITY_GROUP,
  aws_vpc_security_group_ingress_rule: SECURITY_GROUP,
  aws_vpc_security_group_egress_rule: SECURITY_GROUP,
  aws_iam_role_policy_attachment: IAM_ROLE,
  aws_iam_role_policy: IAM_ROLE,
  aws_iam_user_policy_attachment: IAM_USER,
  aws_iam_user_policy: IAM_USER,
  aws_iam_group_policy_attachment: IAM_GROUP,
  aws_iam_group_policy: IAM_GROUP,
  aws_iam_policy_attachment: [
    { path: 'users[]', targets: ['aws_iam_user'] },
    { path: 'roles[]', targets: ['aws_iam_role'] },
    { path: 'groups[]', targets: ['aws_iam_group'] },
  ],
  aws_kms_alias: [{ path: 'target_key_id', targets: ['aws_kms_key'] }],
  azurerm_network_interface_security_group_association: [
    { path: 'network_interface_id', targets: ['azurerm_network_interface'] },
    { path: 'network_security_group_id', targets: ['azurerm_network_security_group'] },
  ],
  azurerm_subnet_network_security_group_association: [
    { path: 'subnet_id', targets: ['azurerm_subnet'] },
    { path: 'network_security_group_id', targets: ['azurerm_network_security_group'] },
  ],
  azurerm_network_interface: [{ path: 'ip_configuration[].subnet_id', targets: ['azurerm_subnet'] }],
  azurerm_linux_virtual_machine: [{ path: 'network_interface_ids[]', targets: ['azurerm_network_interface'] }],
  azurerm_windows_virtual_machine: [{ path: 'network_interface_ids[]', targets: ['azurerm_network_interface'] }],
  azurerm_network_security_rule: [{ path: 'network_security_group_name', targets: ['azurerm_network_security_group'], inResourceGroup: true }],
  azurerm_storage_container: [{ path: 'storage_account_id', targets: ['azurerm_storage_account'] }],
  azurerm_storage_account_network_rules: [{ path: 'storage_account_id', targets: ['azurerm_storage_account'] }],
  azurerm_storage_account_customer_managed_key: [{ path: 'storage_account_id', targets: ['azurerm_storage_account'] }],
  // A private endpoint serves the resource its connection names (storage, Key Vault, databases, ...).
  azurerm_private_endpoint: [{ path: 'private_service_connection[].private_connection_resource_id', targets: PRIVATE_LINK_TARGETS }],
  azurerm_mssql_database: [{ path: 'server_id', targets: ['azurerm_mssql_server'] }],
  azurerm_mssql_firewall_rule: [{ path: 'server_id', targets: ['azurerm_mssql_server'] }],
  azurerm_mssql_virtual_network_rule: [{ path: 'server_id', targets: ['azurerm_mssql_server'] }],
  azurerm_mssql_server_security_alert_policy: [{ path: 'server_name', targets: ['azurerm_mssql_server'], inResourceGroup: true }],
  google_compute_instance: [
    { path: 'network_interface[].network', targets: ['google_compute_network'] },
    { path: 'network_interface[].subnetwork', targets: ['google_compute_subnetwork'] },
    { path: 'attached_disk[].source', targets: ['google_compute_disk'] },
    { path: 'boot_disk[].source', targets: ['google_compute_disk'] },
  ],
  google_compute_firewall: [{ path: 'network', targets: ['google_compute_network'] }],
  google_compute_subnetwork: [{ path: 'network', targets: ['google_compute_network'] }],
};

// Families of resources that configure one parent through the same attribute, whatever the member.
const REFERENCE_FAMILIES: readonly { prefix: string; references: readonly Reference[] }[] = [
  { prefix: 'azurerm_mssql_server_', references: [{ path: 'server_id', targets: ['azurerm_mssql_server'] }] },
  { prefix: 'azurerm_key_vault_', references: [{ path: 'key_vault_id', targets: ['azurerm_key_vault'] }] },
  { prefix: 'google_storage_bucket_iam_', references: [{ path: 'bucket', targets: ['google_storage_bucket'] }] },
];

/** The attributes of a resource type that name the resources it is attached to. */
function referencesOf(type: string): readonly Reference[] {
  return REFERENCES[type] ?? REFERENCE_FAMILIES.find((family) => type.startsWith(family.prefix))?.references ?? [];
}

// Join resources also attach one end to the other: the volume of an aws_volume_attachment is
// attached to its instance, the network interface of an NSG association to the NSG, and so on.
const JOINS: Readonly<Record<string, { attached: Reference; to: Reference }>> = {
  aws_volume_attachment: { attached: { path: 'volume_id', targets: ['aws_ebs_volume'] }, to: { path: 'instance_id', targets: ['aws_instance'] } },
  aws_eip_association: { attached: { path: 'allocation_id', targets: ['aws_eip'] }, to: { path: 'instance_id', targets: ['aws_instance'] } },
  aws_lb_target_group_attachment: {
    attached: { path: 'target_id', targets: ['aws_instance', 'aws_lb'] },
    to: { path: 'target_group_arn', targets: ['aws_lb_target_group', 'aws_alb_target_group'] },
  },
  azurerm_network_interface_security_group_association: {
    attached: { path: 'network_interface_id', targets: ['azurerm_network_interface'] },
    to: { path: 'network_security_group_id', targets: ['azurerm_network_security_group'] },
  },
  azurerm_subnet_network_security_group_association: {
    attached: { path: 'subnet_id', targets: ['azurerm_subnet'] },
    to: { path: 'network_security_group_id', targets: ['azurerm_network_security_group'] },
  },
};

const NAME_ATTRIBUTES = ['name', 'bucket', 'identifier', 'domain_name'] as const;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** The provider's short name from a source such as registry.terraform.io/hashicorp/aws. */
function providerNameOf(source: string | null, type: string): string {
  if (source !== null) return source.split('/').at(-1) ?? source;
  return type.split('_')[0] ?? type;
}

/** Maps Terraform resource instances onto canonical resources, then resolves their references. */
/**
 * Plans: a module's outputs, keyed by configuration module and output (`module.a.` + `module.b.id`
 * for output `id` of the call `b` in module `a`), each with the references of its expression, as
 * written inside the called module.
 */
export type ModuleOutputs = ReadonlyMap<string, readonly string[]>;

export function mapTerraformInstances(instances: readonly TerraformInstance[], problems: ImportProblem[], moduleOutputs: ModuleOutputs = new Map()): ParseResult {
  const resources: CanonicalResource[] = [];
  const mapped: { instance: TerraformInstance; resource: CanonicalResource }[] = [];
  for (const instance of instances) {
    const providerName = providerNameOf(instance.providerSource, instance.type);
    const provider = PROVIDER_BY_TERRAFORM_NAME[providerName];
    // Real states also hold resources of other providers (random, tls, kubernetes, helm, ...):
    // they are not cloud objects fourfold audits, so they are skipped rather than refused.
    if (provider === undefined) continue;
    if (!isTypeOfProvider(instance.type, provider)) {
      problems.push({ item: instance.address, field: 'type', message: `type "${instance.type}" does not belong to the ${providerName} provider` });
      continue;
    }
    const attributes = redactSensitive(instance.type, instance.attributes, instance.sensitivePaths);
    // A resource a plan creates has no cloud id yet, nor does one of a state written by hand:
    // its address identifies it.
    const nativeId = nativeIdOf(provider, attributes) ?? instance.address;
    const tags = tagsOf(provider, attributes);
    const resource: CanonicalResource = {
      type: instance.type,
      native_id: nativeId,
      provider,
      region: regionOf(provider, attributes, nativeId),
      name: nameOf(attributes, tags),
      tags,
      attributes,
      relationships: [],
      unknown_paths: instance.unknownPaths,
      source: instance.address,
    };
    resources.push(resource);
    mapped.push({ instance, resource });
  }
  reportDuplicates(resources, problems);
  resolveRelationships(resources, configurationReferences(mapped, moduleOutputs));
  return { resources, problems };
}

/** Problems for resources that share a type and native id with an earlier one. */
export function reportDuplicates(resources: readonly CanonicalResource[], problems: ImportProblem[]): void {
  const seen = new Map<string, string>();
  for (const resource of resources) {
    const key = `${resource.type}\u0000${resource.native_id}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, resource.source);
    else problems.push({ item: resource.source, field: 'native_id', message: `duplicate ${resource.type} "${resource.native_id}", also at ${first}` });
  }
}

function nativeIdOf(provider: Provider, attributes: Record<string, unknown>): string | null {
  switch (provider) {
    case 'aws':
      return nonEmptyString(attributes.arn) ?? nonEmptyString(attributes.id);
    case 'azure':
      // Key Vault secrets and keys have versioned ids that change on every rotation; the
      // versionless id keeps the resource (and its findings) stable.
      return nonEmptyString(attributes.resource_versionless_id) ?? nonEmptyString(attributes.versionless_id) ?? nonEmptyString(attributes.id);
    case 'gcp':
      return nonEmptyString(attributes.self_link) ?? nonEmptyString(attributes.id);
  }
}

/** The region of an ARN (arn:partition:service:region:account:resource); null for global services. */
export function regionFromArn(arn: string): string | null {
  if (!arn.startsWith('arn:')) return null;
  return nonEmptyString(arn.split(':')[3]);
}

function lastSegment(value: string): string {
  return value.split('/').at(-1) ?? value;
}

function regionOf(provider: Provider, attributes: Record<string, unknown>, nativeId: string): string | null {
  switch (provider) {
    case 'aws': {
      const explicit = nonEmptyString(attributes.region);
      if (explicit !== null) return explicit;
      const fromArn = regionFromArn(nonEmptyString(attributes.arn) ?? nativeId);
      if (fromArn !== null) return fromArn;
      const zone = nonEmptyString(attributes.availability_zone);
      return zone !== null && /^[a-z]{2}(-[a-z]+)+-\d[a-z]$/.test(zone) ? zone.slice(0, -1) : null;
    }
    case 'azure': {
      const location = nonEmptyString(attributes.location);
      // Azure accepts "West Europe" and "westeurope" alike and stores the latter.
      return location === null ? null : location.toLowerCase().replace(/\s+/g, '');
    }
    case 'gcp': {
      const region = nonEmptyString(attributes.region) ?? nonEmptyString(attributes.location);
      if (region !== null) return lastSegment(region).toLowerCase();
      const zone = nonEmptyString(attributes.zone);
      return zone === null ? null : lastSegment(zone).replace(/-[a-z]$/, '');
    }
  }
}

function stringMap(value: unknown): Record<string, string> | null {
  if (!isPlainObject(value)) return null;
  const result: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) if (typeof entry === 'string') result[key] = entry;
  return result;
}

function tagsOf(provider: Provider, attributes: Record<string, unknown>): Record<string, string> {
  switch (provider) {
    case 'aws':
      // tags_all adds the provider's default_tags: what is really on the resource.
      return stringMap(attributes.tags_all) ?? stringMap(attributes.tags) ?? {};
    case 'azure':
      return stringMap(attributes.tags) ?? {};
    case 'gcp':
      // effective_labels (provider 5+) includes labels set outside this configuration.
      return stringMap(attributes.effective_labels) ?? stringMap(attributes.labels) ?? {};
  }
}

function nameOf(attributes: Record<string, unknown>, tags: Record<string, string>): string | null {
  for (const key of NAME_ATTRIBUTES) {
    const value = nonEmptyString(attributes[key]);
    if (value !== null) return value;
  }
  return nonEmptyString(tags.Name);
}

/** The attributes with every sensitive value replaced by null; the input is not modified. */
export function redactSensitive(type: string, attributes: Record<string, unknown>, sensitivePaths: readonly AttributePath[]): Record<string, unknown> {
  let result = attributes;
  const paths = [...sensitivePaths, ...(SCHEMA_SENSITIVE[type] ?? []).map((key) => [key])];
  for (const path of paths) result = nullAt(result, path) as Record<string, unknown>;
  return result;
}

/** A copy of `value` with the value at `path` replaced by null, copying only along the path. */
function nullAt(value: unknown, path: AttributePath): unknown {
  const [step, ...rest] = path;
  if (step === undefined) return value === undefined ? value : null;
  if (Array.isArray(value) && typeof step === 'number' && step < value.length) {
    const copy = [...value];
    copy[step] = nullAt(value[step], rest);
    return copy;
  }
  if (isPlainObject(value) && typeof step === 'string' && Object.hasOwn(value, step)) {
    if (rest.length === 0 && value[step] === null) return value;
    return { ...value, [step]: nullAt(value[step], rest) };
  }
  return value;
}

/** Every non-empty string at a reference path such as network_interface[].network. */
function valuesAt(attributes: Record<string, unknown>, path: string): string[] {
  let current: unknown[] = [attributes];
  for (const segment of path.split('.')) {
    const each = segment.endsWith('[]');
    const key = each ? segment.slice(0, -2) : segment;
    const next: unknown[] = [];
    for (const value of current) {
      if (!isPlainObject(value)) continue;
      const child = value[key];
      if (each && Array.isArray(child)) next.push(...child);
      else if (!each) next.push(child);
    }
    current = next;
  }
  return current.flatMap((value) => (Array.isArray(value) ? value : [value])).filter((value): value is string => typeof value === 'string' && value !== '');
}

// GCP references use self links while ids are relative names ("projects/p/global/networks/n").
function gcpRelative(value: string): string {
  return value.replace(/^https:\/\/www\.googleapis\.com\/[a-z]+\/(v1|beta)\//, '');
}

/** The keys a reference may use for a resource: native id, id, ARN, self link, name, bucket name. */
function referenceKeys(resource: CanonicalResource): string[] {
  const a = resource.attributes;
  const keys = [resource.native_id, a.id, a.arn, a.self_link, a.name, a.bucket].filter((key): key is string => typeof key === 'string' && key !== '');
  if (resource.provider === 'gcp') keys.push(...keys.map(gcpRelative));
  const group = resourceGroupKey(resource, a.name);
  if (group !== null) keys.push(group);
  return [...new Set(keys)];
}

/** Azure names are unique within a resource group (whose name is case-insensitive): the key of a name there. */
function resourceGroupKey(resource: CanonicalResource, name: unknown): string | null {
  const group = resource.attributes.resource_group_name;
  if (resource.provider !== 'azure' || typeof group !== 'string' || group === '' || typeof name !== 'string' || name === '') return null;
  return `resource group\u0000${group.toLowerCase()}\u0000${name}`;
}

/** For each resource, the resources its configuration's references name, by reference. */
type ConfiguredTargets = Map<CanonicalResource, Map<Reference, CanonicalResource[]>>;

function resolveRelationships(resources: readonly CanonicalResource[], configured: ConfiguredTargets): void {
  // type + key → resource; null when two resources share the key (e.g. a name), so it stays raw.
  const index = new Map<string, CanonicalResource | null>();
  for (const resource of resources) {
    for (const key of referenceKeys(resource)) {
      const indexKey = `${resource.type}\u0000${key}`;
      const known = index.get(indexKey);
      index.set(indexKey, known === undefined || known === resource ? resource : null);
    }
  }
  const resolve = (from: CanonicalResource, value: string, reference: Reference): CanonicalResource | null => {
    const keys = reference.inResourceGroup ? [resourceGroupKey(from, value)].filter((key): key is string => key !== null) : [value, gcpRelative(value)];
    for (const type of reference.targets) {
      for (const key of keys) {
        const found = index.get(`${type}\u0000${key}`);
        if (found !== undefined) return found;
      }
    }
    return null;
  };
  const attach = (resource: CanonicalResource, target: string, types: readonly string[]): void => {
    if (target === resource.native_id && types.includes(resource.type)) return;
    const known = resource.relationships.find((r) => r.resource_native_id === target);
    if (known === undefined) resource.relationships.push({ type: 'attached_to', resource_native_id: target, resource_types: [...types] });
    else if (known.resource_types !== undefined) known.resource_types = [...new Set([...known.resource_types, ...types])];
  };
  const attachTo = (resource: CanonicalResource, target: CanonicalResource): void => {
    if (target !== resource) attach(resource, target.native_id, [target.type]);
  };

  for (const resource of resources) {
    const fromConfiguration = [...(configured.get(resource) ?? [])];
    // The resources the configuration's references at `path` name (a plan's, often for a value known after apply).
    const namedAt = (path: string): CanonicalResource[] => fromConfiguration.filter(([reference]) => reference.path === path).flatMap(([, named]) => named);
    for (const reference of referencesOf(resource.type)) {
      // A value that names no resource of the file is kept as it is, unless the configuration named one.
      const named = namedAt(reference.path);
      const unresolved: string[] = [];
      for (const value of valuesAt(resource.attributes, reference.path)) {
        const found = resolve(resource, value, reference);
        if (found !== null) attachTo(resource, found);
        else unresolved.push(value);
      }
      for (const target of named) attachTo(resource, target);
      if (named.length === 0) for (const value of unresolved) attach(resource, value, reference.targets);
    }
    const join = JOINS[resource.type];
    if (join === undefined) continue;
    const attachedOnes = new Set([...valuesAt(resource.attributes, join.attached.path).map((value) => resolve(resource, value, join.attached)), ...namedAt(join.attached.path)]);
    const toNamed = namedAt(join.to.path);
    for (const attached of attachedOnes) {
      if (attached === null) continue;
      for (const target of toNamed) attachTo(attached, target);
      for (const toValue of valuesAt(resource.attributes, join.to.path)) {
        const found = resolve(resource, toValue, join.to);
        if (found !== null) attachTo(attached, found);
        else if (toNamed.length === 0) attach(attached, toValue, join.to.targets);
      }
    }
  }
}

// Terraform addresses: [module.NAME[KEY].]… TYPE.NAME[KEY], where a KEY is a number or a quoted string.
const KEY = String.raw`\[(?:\d+|"(?:[^"\\]|\\.)*")\]`;
const ADDRESS = new RegExp(String.raw`^((?:module\.[A-Za-z0-9_-]+(?:${KEY})?\.)*)([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)((?:${KEY})?)$`);
const KEYS = new RegExp(KEY, 'g');
// A reference inside a module's configuration: TYPE.NAME, maybe an instance key, maybe an attribute.
const REFERENCE = new RegExp(String.raw`^([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)(${KEY})?(?:\.|$)`);
// A module's output: module.NAME, maybe an instance key, then the output's name.
const MODULE_OUTPUT = new RegExp(String.raw`^module\.([A-Za-z0-9_-]+)(${KEY})?\.([A-Za-z0-9_-]+)`);

/** Module instance path (`module.a[0].`), resource (`aws_s3_bucket.b`) and instance key (`[0]`) of an address. */
export function splitAddress(address: string): { module: string; resource: string; key: string } | null {
  const match = ADDRESS.exec(address);
  return match === null ? null : { module: match[1] ?? '', resource: match[2] ?? '', key: match[3] ?? '' };
}

/** `module.a.module.b.` for `module.a[0].module.b["x"].`: the configuration a module instance runs. */
export function configurationModuleOf(modulePath: string): string {
  return modulePath.replace(KEYS, '');
}

/**
 * The resources each plan resource's configuration names in its reference attributes: a
 * reference such as `aws_s3_bucket.b.id` names the instances of `aws_s3_bucket.b` in the same
 * module instance; of several (count, for_each), the one with the referrer's own key if there is
 * one, else all.
 */
function configurationReferences(mapped: readonly { instance: TerraformInstance; resource: CanonicalResource }[], moduleOutputs: ModuleOutputs): ConfiguredTargets {
  const result: ConfiguredTargets = new Map();
  const instancesOf = new Map<string, { resource: CanonicalResource; key: string }[]>();
  const parts = new Map<CanonicalResource, { module: string; key: string }>();
  for (const { instance, resource } of mapped) {
    const address = splitAddress(instance.address);
    if (address === null) continue;
    parts.set(resource, address);
    const list = instancesOf.get(`${address.module}${address.resource}`) ?? [];
    list.push({ resource, key: address.key });
    instancesOf.set(`${address.module}${address.resource}`, list);
  }
  for (const { instance, resource } of mapped) {
    const own = parts.get(resource);
    if (instance.expressions === null || own === undefined) continue;
    for (const reference of referencesOf(resource.type)) {
      // Terraform lists `aws_s3_bucket.b[0].id`, `aws_s3_bucket.b[0]` and `aws_s3_bucket.b` for one
      // reference: the keyed ones, when there are, say which instance.
      // Module path (as in addresses) + resource → the instance keys the references name.
      const keysByTarget = new Map<string, Set<string | undefined>>();
      const collect = (texts: readonly string[], modulePath: string, depth: number): void => {
        for (const text of texts) {
          const output = MODULE_OUTPUT.exec(text);
          if (output !== null && depth < 8) {
            // A module's output: follow its expression's references into the module's instances.
            const [, call = '', callKey = '', name = ''] = output;
            const outputs = moduleOutputs.get(`${configurationModuleOf(modulePath)}module.${call}.${name}`) ?? [];
            const instancesPaths = callKey !== '' ? [`${modulePath}module.${call}${callKey}.`] : moduleInstancesOf(instancesOf, `${modulePath}module.${call}`);
            for (const path of instancesPaths) collect(outputs, path, depth + 1);
            continue;
          }
          const match = REFERENCE.exec(text);
          if (match === null) continue;
          const [, target = '', key] = match;
          if (!reference.targets.includes(target.split('.')[0] ?? '')) continue;
          const keys = keysByTarget.get(`${modulePath}${target}`) ?? new Set();
          keysByTarget.set(`${modulePath}${target}`, keys.add(key));
        }
      };
      collect(referencesAt(instance.expressions, reference.path), own.module, 0);
      const named = new Set<CanonicalResource>();
      for (const [target, keys] of keysByTarget) {
        const candidates = instancesOf.get(target) ?? [];
        const keyed = [...keys].filter((key): key is string => key !== undefined);
        const sameKey = candidates.filter((c) => c.key === own.key);
        const chosen = keyed.length > 0 ? candidates.filter((c) => keyed.includes(c.key)) : sameKey.length > 0 ? sameKey : candidates;
        for (const candidate of chosen) named.add(candidate.resource);
      }
      if (named.size === 0) continue;
      const byReference = result.get(resource) ?? new Map<Reference, CanonicalResource[]>();
      byReference.set(reference, [...named]);
      result.set(resource, byReference);
    }
  }
  return result;
}

/** The module instance paths (`module.b.`, `module.b[0].`, …) of a module call (`module.b`) that hold resources. */
function moduleInstancesOf(instancesOf: ReadonlyMap<string, unknown>, call: string): string[] {
  const paths = new Set<string>();
  const instance = new RegExp(String.raw`^${call.replace(/[.[\]\\^$*+?(){}|]/g, '\\$&')}(?:${KEY})?\.`);
  for (const key of instancesOf.keys()) {
    const match = instance.exec(key);
    if (match !== null) paths.add(match[0]);
  }
  return [...paths];
}

/** The `references` of the expressions at a reference path (`ip_configuration[].subnet_id`: a block's attribute). */
function referencesAt(expressions: Record<string, unknown>, path: string): string[] {
  const segments = path.split('.');
  let blocks: Record<string, unknown>[] = [expressions];
  const found: string[] = [];
  segments.forEach((segment, index) => {
    const key = segment.endsWith('[]') ? segment.slice(0, -2) : segment;
    const next: Record<string, unknown>[] = [];
    for (const block of blocks) {
      const child = block[key];
      if (index === segments.length - 1) {
        if (isPlainObject(child) && Array.isArray(child.references)) found.push(...child.references.filter((r): r is string => typeof r === 'string'));
      } else if (Array.isArray(child)) next.push(...child.filter(isPlainObject));
      else if (isPlainObject(child)) next.push(child);
    }
    blocks = next;
  });
  return found;
}
