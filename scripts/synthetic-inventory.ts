import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { CanonicalResource } from '../src/imports/canonical-resource';
import type { Provider } from '../src/providers';

/** Share of resources given a deliberate misconfiguration for the audit rules to find. */
export const MISCONFIGURED_SHARE = 0.05;

// Fixed, so a seed always gives the same file; certificates "expire soon" relative to it.
const REFERENCE_TIME = Date.UTC(2026, 10, 22);
const DAY = 86_400_000;

const AWS_ACCOUNTS = ['123456789012', '210987654321', '345678901234'];
const AWS_REGIONS = ['eu-west-1', 'eu-central-1', 'us-east-1', 'us-west-2', 'ap-southeast-2'];
const AZURE_SUBSCRIPTIONS = ['3f2c1a7e-5b8d-4e6f-9a0b-1c2d3e4f5a6b', '8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d'];
const AZURE_LOCATIONS = ['westeurope', 'northeurope', 'eastus2', 'germanywestcentral'];
const GCP_PROJECTS = ['acme-prod-4821', 'acme-data-7310'];
const GCP_REGIONS = ['europe-west1', 'europe-west3', 'us-central1', 'asia-northeast1'];
const ENVS = ['prod', 'prod', 'staging', 'dev'];
const TEAMS = ['platform', 'web', 'data', 'payments', 'orders', 'security', 'analytics', 'mobile'];
const OWNERS = ['alice', 'bob', 'carol', 'dmitri', 'eun-ji', 'farah', 'gustavo', 'hana'];

type Kind = (typeof KINDS)[number][0];
// Weights roughly as types occur in real estates: many instances, volumes, groups and buckets.
const KINDS = [
  ['aws_instance', 14],
  ['aws_security_group', 10],
  ['aws_ebs_volume', 12],
  ['aws_s3_bucket', 10],
  ['aws_iam_user', 5],
  ['aws_iam_access_key', 3],
  ['aws_db_instance', 4],
  ['aws_eip', 3],
  ['aws_kms_key', 3],
  ['aws_secretsmanager_secret', 3],
  ['aws_acm_certificate', 2],
  ['aws_lb', 2],
  ['azurerm_storage_account', 5],
  ['azurerm_network_security_group', 5],
  ['azurerm_key_vault_secret', 3],
  ['google_storage_bucket', 6],
  ['google_compute_firewall', 5],
  ['google_compute_instance', 5],
] as const;
const TOTAL_WEIGHT = KINDS.reduce((sum, [, weight]) => sum + weight, 0);

/** mulberry32: small, fast and good enough for test data. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The most recent `size` items of a kind, so relationships point at resources already written. */
class Recent {
  private readonly items: string[] = [];
  private next = 0;
  constructor(private readonly size = 64) {}
  add(item: string): void {
    if (this.items.length < this.size) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.size;
  }
  pick(random: () => number): string | undefined {
    return this.items[Math.floor(random() * this.items.length)];
  }
}

/**
 * Yields `count` canonical resources, deterministic for `seed`. Memory stays constant whatever
 * the count: only a few recent ids are kept to draw relationships from.
 */
export function* syntheticResources(count: number, seed = 1): Generator<CanonicalResource> {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const hex = (length: number): string => {
    let out = '';
    while (out.length < length) out += Math.floor(random() * 0x100000000).toString(16).padStart(8, '0');
    return out.slice(0, length);
  };
  const recent = { sg: new Recent(), instance: new Recent(), user: new Recent(), kms: new Recent(), network: new Recent(), vault: new Recent() };

  for (let n = 0; n < count; n++) {
    // The counter in every id keeps (type, native_id) unique whatever the random draws.
    const serial = n.toString(16).padStart(8, '0');
    const kind = kindAt(random() * TOTAL_WEIGHT);
    const bad = random() < MISCONFIGURED_SHARE;
    const env = pick(ENVS);
    const team = pick(TEAMS);
    const tags: Record<string, string> = { env, owner: `${pick(OWNERS)}@acme.example`, team };
    const base = { relationships: [] as CanonicalResource['relationships'], source: `resources[${n}]` };
    const attach = (nativeId: string | undefined): void => {
      if (nativeId !== undefined) base.relationships.push({ type: 'attached_to', resource_native_id: nativeId });
    };
    const provider: Provider = kind.startsWith('aws_') ? 'aws' : kind.startsWith('azurerm_') ? 'azure' : 'gcp';
    const account = pick(AWS_ACCOUNTS);
    const region = provider === 'aws' ? pick(AWS_REGIONS) : provider === 'azure' ? pick(AZURE_LOCATIONS) : pick(GCP_REGIONS);
    const arn = (service: string, resource: string, arnRegion: string = region): string => `arn:aws:${service}:${arnRegion}:${account}:${resource}`;
    const awsTags = { tags, tags_all: { ...tags, 'managed-by': 'terraform' } };
    const subscription = pick(AZURE_SUBSCRIPTIONS);
    const resourceGroup = `rg-${team}-${env}`;
    const azureId = (path: string): string => `/subscriptions/${subscription}/resourceGroups/${resourceGroup}/providers/${path}`;
    const project = pick(GCP_PROJECTS);
    const gcpLabels = { labels: tags, effective_labels: { ...tags, 'goog-terraform-provisioned': 'true' } };
    const name = `${team}-${env}-${serial}`;

    let resource: Omit<CanonicalResource, keyof typeof base | 'provider' | 'tags' | 'unknown_paths'>;
    switch (kind) {
      case 'aws_instance': {
        const id = `i-0${serial}${hex(9)}`;
        const zone = `${region}${pick(['a', 'b', 'c'])}`;
        attach(recent.sg.pick(random));
        const instanceArn = arn('ec2', `instance/${id}`);
        recent.instance.add(instanceArn);
        resource = {
          type: kind,
          native_id: instanceArn,
          region,
          name,
          attributes: {
            arn: instanceArn,
            id,
            ami: `ami-0${hex(16)}`,
            availability_zone: zone,
            instance_type: pick(['t3.micro', 't3.medium', 'm6i.large', 'c6i.xlarge', 'r6g.2xlarge']),
            instance_state: 'running',
            associate_public_ip_address: bad,
            public_ip: bad ? `52.${Math.floor(random() * 255)}.${Math.floor(random() * 255)}.${Math.floor(random() * 255)}` : '',
            private_ip: `10.${Math.floor(random() * 255)}.${Math.floor(random() * 255)}.${Math.floor(random() * 254) + 1}`,
            metadata_options: [{ http_endpoint: 'enabled', http_tokens: bad ? 'optional' : 'required', http_put_response_hop_limit: 1 }],
            monitoring: !bad,
            root_block_device: [{ device_name: '/dev/xvda', encrypted: !bad, volume_size: 20, volume_type: 'gp3' }],
            subnet_id: `subnet-0${hex(16)}`,
            vpc_security_group_ids: base.relationships.map((r) => r.resource_native_id.split('/').at(-1)),
            ...awsTags,
          },
        };
        break;
      }
      case 'aws_security_group': {
        const id = `sg-0${serial}${hex(8)}`;
        const sgArn = arn('ec2', `security-group/${id}`);
        recent.sg.add(sgArn);
        const open = bad ? { from_port: 22, to_port: 22, cidr_blocks: ['0.0.0.0/0'] } : { from_port: 443, to_port: 443, cidr_blocks: ['10.0.0.0/8'] };
        resource = {
          type: kind,
          native_id: sgArn,
          region,
          name,
          attributes: {
            arn: sgArn,
            id,
            name,
            description: `${team} ${env}`,
            vpc_id: `vpc-0${hex(16)}`,
            ingress: [{ ...open, protocol: 'tcp', description: '', ipv6_cidr_blocks: [], prefix_list_ids: [], security_groups: [], self: false }],
            egress: [{ from_port: 0, to_port: 0, protocol: '-1', cidr_blocks: ['0.0.0.0/0'], description: '', ipv6_cidr_blocks: [], prefix_list_ids: [], security_groups: [], self: false }],
            ...awsTags,
          },
        };
        break;
      }
      case 'aws_ebs_volume': {
        const id = `vol-0${serial}${hex(9)}`;
        // An unattached volume costs money for nothing: the misconfiguration here.
        if (!bad) attach(recent.instance.pick(random));
        resource = {
          type: kind,
          native_id: arn('ec2', `volume/${id}`),
          region,
          name: null,
          attributes: {
            arn: arn('ec2', `volume/${id}`),
            id,
            availability_zone: `${region}a`,
            encrypted: true,
            size: pick([8, 20, 50, 100, 500]),
            type: pick(['gp3', 'gp2', 'io2']),
            ...awsTags,
          },
        };
        break;
      }
      case 'aws_s3_bucket': {
        const bucket = `acme-${name}`;
        resource = {
          type: kind,
          native_id: `arn:aws:s3:::${bucket}`,
          region,
          name: bucket,
          attributes: {
            arn: `arn:aws:s3:::${bucket}`,
            id: bucket,
            bucket,
            region,
            acl: bad ? 'public-read' : null,
            grant: bad
              ? [{ id: '', permissions: ['READ'], type: 'Group', uri: 'http://acs.amazonaws.com/groups/global/AllUsers' }]
              : [{ id: hex(64), permissions: ['FULL_CONTROL'], type: 'CanonicalUser', uri: '' }],
            versioning: [{ enabled: random() < 0.6, mfa_delete: false }],
            server_side_encryption_configuration: [{ rule: [{ apply_server_side_encryption_by_default: [{ sse_algorithm: 'AES256', kms_master_key_id: '' }] }] }],
            ...awsTags,
          },
        };
        break;
      }
      case 'aws_iam_user': {
        const userName = `${pick(OWNERS)}-${serial}`;
        const userArn = `arn:aws:iam::${account}:user/${userName}`;
        recent.user.add(userArn);
        resource = {
          type: kind,
          native_id: userArn,
          region: null,
          name: userName,
          attributes: { arn: userArn, id: userName, name: userName, path: '/', force_destroy: false, unique_id: `AIDA${hex(17).toUpperCase()}`, ...awsTags },
        };
        break;
      }
      case 'aws_iam_access_key': {
        const id = `AKIA${serial.toUpperCase()}${hex(8).toUpperCase()}`;
        const user = recent.user.pick(random);
        attach(user);
        // A key older than 90 days should have been rotated.
        const created = REFERENCE_TIME - (bad ? 400 + Math.floor(random() * 300) : Math.floor(random() * 80)) * DAY;
        resource = {
          type: kind,
          native_id: id,
          region: null,
          name: null,
          attributes: { id, user: user?.split('/').at(-1) ?? null, status: 'Active', create_date: new Date(created).toISOString().replace('.000', ''), secret: null },
        };
        break;
      }
      case 'aws_db_instance': {
        const identifier = `${team}-${env}-${serial}`;
        const dbArn = arn('rds', `db:${identifier}`);
        attach(recent.sg.pick(random));
        resource = {
          type: kind,
          native_id: dbArn,
          region,
          name: identifier,
          attributes: {
            arn: dbArn,
            id: `db-${hex(26).toUpperCase()}`,
            identifier,
            engine: pick(['postgres', 'mysql', 'mariadb']),
            instance_class: pick(['db.t3.medium', 'db.m6g.large', 'db.r6g.xlarge']),
            allocated_storage: pick([20, 100, 500]),
            storage_encrypted: !bad,
            publicly_accessible: bad,
            multi_az: env === 'prod',
            backup_retention_period: bad ? 0 : 7,
            deletion_protection: env === 'prod' && !bad,
            password: null,
            vpc_security_group_ids: base.relationships.map((r) => r.resource_native_id.split('/').at(-1)),
            ...awsTags,
          },
        };
        break;
      }
      case 'aws_eip': {
        const id = `eipalloc-0${serial}${hex(9)}`;
        const instance = bad ? undefined : recent.instance.pick(random);
        attach(instance);
        resource = {
          type: kind,
          native_id: arn('ec2', `elastic-ip/${id}`),
          region,
          name: null,
          attributes: {
            arn: arn('ec2', `elastic-ip/${id}`),
            id,
            allocation_id: id,
            domain: 'vpc',
            instance: instance?.split('/').at(-1) ?? '',
            public_ip: `34.${Math.floor(random() * 255)}.${Math.floor(random() * 255)}.${Math.floor(random() * 255)}`,
            ...awsTags,
          },
        };
        break;
      }
      case 'aws_kms_key': {
        const keyId = `${serial}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`;
        const keyArn = arn('kms', `key/${keyId}`);
        recent.kms.add(keyArn);
        resource = {
          type: kind,
          native_id: keyArn,
          region,
          name: null,
          attributes: { arn: keyArn, id: keyId, key_id: keyId, description: `${team} ${env} data`, enable_key_rotation: !bad, is_enabled: true, key_usage: 'ENCRYPT_DECRYPT', ...awsTags },
        };
        break;
      }
      case 'aws_secretsmanager_secret': {
        const secretName = `${env}/${team}/${serial}`;
        const secretArn = arn('secretsmanager', `secret:${secretName}-${hex(6)}`);
        resource = {
          type: kind,
          native_id: secretArn,
          region,
          name: secretName,
          attributes: { arn: secretArn, id: secretArn, name: secretName, kms_key_id: bad ? '' : (recent.kms.pick(random) ?? ''), recovery_window_in_days: 30, ...awsTags },
        };
        break;
      }
      case 'aws_acm_certificate': {
        const certArn = arn('acm', `certificate/${serial}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`);
        const notAfter = REFERENCE_TIME + (bad ? 3 + Math.floor(random() * 25) : 60 + Math.floor(random() * 300)) * DAY;
        const domain = `${team}-${serial}.acme.example`;
        resource = {
          type: kind,
          native_id: certArn,
          region,
          name: domain,
          attributes: {
            arn: certArn,
            id: certArn,
            domain_name: domain,
            type: bad ? 'IMPORTED' : 'AMAZON_ISSUED',
            status: 'ISSUED',
            not_before: new Date(notAfter - 395 * DAY).toISOString().replace('.000', ''),
            not_after: new Date(notAfter).toISOString().replace('.000', ''),
            key_algorithm: 'RSA_2048',
            ...awsTags,
          },
        };
        break;
      }
      case 'aws_lb': {
        const lbName = `${team}-${env}-${serial}`.slice(0, 32);
        const lbArn = arn('elasticloadbalancing', `loadbalancer/app/${lbName}/${hex(16)}`);
        attach(recent.sg.pick(random));
        resource = {
          type: kind,
          native_id: lbArn,
          region,
          name: lbName,
          attributes: {
            arn: lbArn,
            id: lbArn,
            name: lbName,
            internal: false,
            load_balancer_type: 'application',
            drop_invalid_header_fields: !bad,
            access_logs: [{ bucket: '', enabled: false, prefix: '' }],
            security_groups: base.relationships.map((r) => r.resource_native_id.split('/').at(-1)),
            ...awsTags,
          },
        };
        break;
      }
      case 'azurerm_storage_account': {
        const accountName = `acme${team.slice(0, 6)}${serial}`;
        const id = azureId(`Microsoft.Storage/storageAccounts/${accountName}`);
        resource = {
          type: kind,
          native_id: id,
          region,
          name: accountName,
          attributes: {
            id,
            name: accountName,
            location: region,
            resource_group_name: resourceGroup,
            account_tier: 'Standard',
            account_replication_type: pick(['LRS', 'GRS', 'ZRS']),
            allow_nested_items_to_be_public: bad,
            https_traffic_only_enabled: true,
            min_tls_version: bad ? 'TLS1_0' : 'TLS1_2',
            public_network_access_enabled: true,
            primary_access_key: null,
            tags,
          },
        };
        break;
      }
      case 'azurerm_network_security_group': {
        const nsgName = `nsg-${name}`;
        const id = azureId(`Microsoft.Network/networkSecurityGroups/${nsgName}`);
        resource = {
          type: kind,
          native_id: id,
          region,
          name: nsgName,
          attributes: {
            id,
            name: nsgName,
            location: region,
            resource_group_name: resourceGroup,
            security_rule: [
              {
                name: bad ? 'allow-ssh' : 'allow-https',
                priority: 100,
                direction: 'Inbound',
                access: 'Allow',
                protocol: 'Tcp',
                source_port_range: '*',
                destination_port_range: bad ? '22' : '443',
                source_address_prefix: bad ? '*' : 'VirtualNetwork',
                destination_address_prefix: '*',
              },
            ],
            tags,
          },
        };
        break;
      }
      case 'azurerm_key_vault_secret': {
        let vault = recent.vault.pick(random);
        if (vault === undefined || random() < 0.2) {
          vault = azureId(`Microsoft.KeyVault/vaults/kv-${team}-${env}`);
          recent.vault.add(vault);
        }
        const secretName = `secret-${serial}`;
        const id = `${vault}/secrets/${secretName}`;
        attach(vault);
        resource = {
          type: kind,
          native_id: id,
          region: null,
          name: secretName,
          attributes: {
            id,
            name: secretName,
            key_vault_id: vault,
            content_type: 'password',
            expiration_date: bad ? null : new Date(REFERENCE_TIME + 180 * DAY).toISOString().replace('.000', ''),
            value: null,
            tags,
          },
        };
        break;
      }
      case 'google_storage_bucket': {
        const bucket = `acme-${name}`;
        const selfLink = `https://www.googleapis.com/storage/v1/b/${bucket}`;
        resource = {
          type: kind,
          native_id: selfLink,
          region,
          name: bucket,
          attributes: {
            id: bucket,
            name: bucket,
            self_link: selfLink,
            project,
            location: region.toUpperCase(),
            storage_class: 'STANDARD',
            uniform_bucket_level_access: !bad,
            public_access_prevention: bad ? 'inherited' : 'enforced',
            versioning: [{ enabled: random() < 0.5 }],
            ...gcpLabels,
          },
        };
        break;
      }
      case 'google_compute_firewall': {
        let network = recent.network.pick(random);
        if (network === undefined || random() < 0.1) {
          network = `https://www.googleapis.com/compute/v1/projects/${project}/global/networks/vpc-${team}`;
          recent.network.add(network);
        }
        attach(network);
        const fwName = `fw-${name}`;
        const selfLink = `https://www.googleapis.com/compute/v1/projects/${project}/global/firewalls/${fwName}`;
        resource = {
          type: kind,
          native_id: selfLink,
          region: null,
          name: fwName,
          attributes: {
            id: `projects/${project}/global/firewalls/${fwName}`,
            name: fwName,
            self_link: selfLink,
            network,
            project,
            direction: 'INGRESS',
            priority: 1000,
            disabled: false,
            allow: [{ protocol: 'tcp', ports: [bad ? '22' : '443'] }],
            source_ranges: [bad ? '0.0.0.0/0' : '10.0.0.0/8'],
          },
        };
        break;
      }
      case 'google_compute_instance': {
        const zone = `${region}-${pick(['a', 'b', 'c'])}`;
        const vmName = `vm-${name}`;
        const selfLink = `https://www.googleapis.com/compute/v1/projects/${project}/zones/${zone}/instances/${vmName}`;
        const network = recent.network.pick(random) ?? `https://www.googleapis.com/compute/v1/projects/${project}/global/networks/default`;
        attach(network);
        resource = {
          type: kind,
          native_id: selfLink,
          region,
          name: vmName,
          attributes: {
            id: `projects/${project}/zones/${zone}/instances/${vmName}`,
            name: vmName,
            self_link: selfLink,
            project,
            zone,
            machine_type: pick(['e2-standard-2', 'n2-standard-4', 'c3-standard-8']),
            network_interface: [{ network, access_config: bad ? [{ nat_ip: `35.${Math.floor(random() * 255)}.${Math.floor(random() * 255)}.${Math.floor(random() * 255)}`, network_tier: 'PREMIUM' }] : [] }],
            service_account: [{ email: `${project}-compute@developer.gserviceaccount.com`, scopes: [bad ? 'https://www.googleapis.com/auth/cloud-platform' : 'https://www.googleapis.com/auth/logging.write'] }],
            shielded_instance_config: [{ enable_secure_boot: !bad, enable_vtpm: true, enable_integrity_monitoring: true }],
            ...gcpLabels,
          },
        };
        break;
      }
    }
    // What the parsers read as tags: AWS tags_all, GCP effective_labels.
    const effectiveTags = provider === 'aws' && resource.type !== 'aws_iam_access_key' ? awsTags.tags_all : provider === 'gcp' ? gcpLabels.effective_labels : provider === 'azure' ? tags : {};
    yield {
      type: resource.type,
      native_id: resource.native_id,
      provider,
      region: resource.region,
      name: resource.name,
      tags: effectiveTags,
      attributes: resource.attributes,
      relationships: base.relationships,
      unknown_paths: [],
      source: base.source,
    };
  }
}

function kindAt(point: number): Kind {
  let remaining = point;
  for (const [kind, weight] of KINDS) {
    remaining -= weight;
    if (remaining < 0) return kind;
  }
  return KINDS[0][0];
}

/** Writes resources as a native inventory document, in chunks, honouring backpressure. */
export async function writeNativeInventory(resources: Iterable<CanonicalResource>, out: Writable): Promise<void> {
  let chunk = '{"resources": [\n';
  let first = true;
  for (const resource of resources) {
    // `source` is where a parsed resource came from, not part of the native format.
    const { source: _source, ...item } = resource;
    chunk += (first ? '' : ',\n') + JSON.stringify(item);
    first = false;
    if (chunk.length >= 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  chunk += '\n]}\n';
  if (!out.write(chunk)) await once(out, 'drain');
}
