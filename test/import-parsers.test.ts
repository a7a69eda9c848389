import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { syntheticResources, writeNativeInventory } from '../scripts/synthetic-inventory';
import type { CanonicalResource, ParseResult } from '../src/imports/canonical-resource';
import { parseInventory, type ImportFormat } from '../src/imports/import-parsers';
import { contentHashOf, contentJson, unknownAttributesOf } from '../src/imports/resource-content';
import { formatPath, parsePath } from '../src/rules/attribute-path';
import { ResourceGraph } from '../src/rules/resource-graph';

const FIXTURES = path.join(__dirname, 'fixtures', 'inventory');
const ACCOUNT = '123456789012';

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8'));
}

function parseFixture(format: ImportFormat, name: string): ParseResult {
  return parseInventory(format, fixture(name));
}

function countsByType(resources: CanonicalResource[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const resource of resources) counts[resource.type] = (counts[resource.type] ?? 0) + 1;
  return counts;
}

function bySource(resources: CanonicalResource[], source: string): CanonicalResource {
  const found = resources.find((resource) => resource.source === source);
  if (found === undefined) throw new Error(`no resource from ${source}`);
  return found;
}

function targets(resource: CanonicalResource): string[] {
  return resource.relationships.map((relationship) => relationship.resource_native_id);
}

const STATE_COUNTS = {
  aws_acm_certificate: 2,
  aws_db_instance: 2,
  aws_ebs_volume: 3,
  aws_eip: 1,
  aws_iam_access_key: 1,
  aws_iam_user: 3,
  aws_instance: 3,
  aws_kms_key: 1,
  aws_lb: 1,
  aws_s3_bucket: 2,
  aws_s3_bucket_acl: 2,
  aws_s3_bucket_public_access_block: 2,
  aws_secretsmanager_secret: 1,
  aws_security_group: 3,
  aws_volume_attachment: 2,
  azurerm_key_vault: 1,
  azurerm_key_vault_secret: 1,
  azurerm_network_interface: 1,
  azurerm_network_interface_security_group_association: 1,
  azurerm_network_security_group: 1,
  azurerm_storage_account: 1,
  google_compute_firewall: 1,
  google_compute_instance: 1,
  google_compute_network: 1,
  google_storage_bucket: 1,
};

describe('parseInventory terraform_state', () => {
  const { resources, problems } = parseFixture('terraform_state', 'terraform.tfstate');

  it('maps every managed resource instance, skipping data sources and utility providers', () => {
    expect(problems).toEqual([]);
    expect(countsByType(resources)).toEqual(STATE_COUNTS);
    expect(resources.some((r) => r.type === 'aws_caller_identity' || r.type === 'random_password')).toBe(false);
  });

  it('writes module, count and for_each addresses into source', () => {
    const sources = resources.map((r) => r.source);
    expect(sources).toEqual(
      expect.arrayContaining([
        'module.compute.aws_instance.app[0]',
        'module.compute.aws_instance.app[1]',
        'module.network.aws_security_group.this["bastion"]',
        'aws_iam_user.team["alice"]',
        'module.azure.module.nsg.azurerm_network_security_group.this',
        'module.gcp.google_compute_instance.worker[0]',
      ]),
    );
  });

  it('takes native ids from arn, Azure resource ids and GCP self links', () => {
    expect(bySource(resources, 'module.compute.aws_instance.app[0]')).toMatchObject({
      native_id: `arn:aws:ec2:eu-west-1:${ACCOUNT}:instance/i-0a12b34c56d78e901`,
      provider: 'aws',
      name: 'acme-app-0',
    });
    expect(bySource(resources, 'module.azure.azurerm_storage_account.logs').native_id).toBe(
      '/subscriptions/3f2c1a7e-5b8d-4e6f-9a0b-1c2d3e4f5a6b/resourceGroups/rg-acme-prod/providers/Microsoft.Storage/storageAccounts/acmeprodlogs01',
    );
    expect(bySource(resources, 'module.azure.azurerm_key_vault_secret.db_password').native_id).toMatch(/\/vaults\/kv-acme-prod\/secrets\/db-password$/);
    expect(bySource(resources, 'module.gcp.google_storage_bucket.data').native_id).toBe('https://www.googleapis.com/storage/v1/b/acme-prod-data-4821');
    // No ARN: the id is all there is.
    expect(bySource(resources, 'aws_iam_access_key.deploy').native_id).toBe('AKIAQ7XK4M2N5P8R3T6V');
  });

  it('takes regions from the attribute, the ARN, the location or the zone', () => {
    expect(bySource(resources, 'aws_acm_certificate.www').region).toBe('us-east-1');
    expect(bySource(resources, 'aws_db_instance.reports').region).toBe('eu-west-1');
    expect(bySource(resources, 'aws_iam_user.deploy').region).toBeNull();
    expect(bySource(resources, 'aws_s3_bucket.assets').region).toBe('eu-west-1');
    expect(bySource(resources, 'module.azure.azurerm_storage_account.logs').region).toBe('westeurope');
    expect(bySource(resources, 'module.gcp.google_compute_instance.worker[0]').region).toBe('europe-west1');
    expect(bySource(resources, 'module.gcp.google_storage_bucket.data').region).toBe('europe-west1');
    expect(bySource(resources, 'module.gcp.google_compute_firewall.allow_ssh').region).toBeNull();
  });

  it('reads AWS tags (with default tags), Azure tags and GCP labels', () => {
    expect(bySource(resources, 'aws_db_instance.reports').tags).toEqual({
      'managed-by': 'terraform',
      'cost-center': 'cc-4410',
      env: 'prod',
      owner: 'bi-team',
      team: 'analytics',
    });
    expect(bySource(resources, 'module.azure.azurerm_key_vault.main').tags).toEqual({ env: 'prod', owner: 'platform-team', team: 'platform' });
    const worker = bySource(resources, 'module.gcp.google_compute_instance.worker[0]');
    expect(worker.tags).toEqual({ env: 'prod', owner: 'data-team', team: 'data', role: 'worker', 'goog-terraform-provisioned': 'true' });
    // GCP "tags" are network tags, not labels.
    expect(worker.attributes.tags).toEqual(['ssh', 'worker']);
  });

  it('resolves references to the native ids of resources in the same file', () => {
    const sg = (id: string): string => `arn:aws:ec2:eu-west-1:${ACCOUNT}:security-group/${id}`;
    const instance = (id: string): string => `arn:aws:ec2:eu-west-1:${ACCOUNT}:instance/${id}`;
    expect(targets(bySource(resources, 'module.compute.aws_instance.bastion'))).toContain(sg('sg-0b7e4d2c9a1f36e85'));
    expect(targets(bySource(resources, 'aws_lb.api'))).toEqual([sg('sg-0f3a9c2e7b1d45a60')]);
    expect(targets(bySource(resources, 'module.compute.aws_volume_attachment.data[1]'))).toEqual([
      `arn:aws:ec2:eu-west-1:${ACCOUNT}:volume/vol-0f2e3d4c5b6a79889`,
      instance('i-0b23c45d67e89f012'),
    ]);
    expect(targets(bySource(resources, 'module.compute.aws_ebs_volume.data[0]'))).toEqual([instance('i-0a12b34c56d78e901')]);
    expect(targets(bySource(resources, 'aws_ebs_volume.orphaned'))).toEqual([]);
    expect(targets(bySource(resources, 'module.compute.aws_eip.app'))).toContain(instance('i-0a12b34c56d78e901'));
    expect(targets(bySource(resources, 'aws_iam_access_key.deploy'))).toEqual([`arn:aws:iam::${ACCOUNT}:user/ci-deploy`]);
    expect(targets(bySource(resources, 'aws_s3_bucket_acl.public_site'))).toEqual(['arn:aws:s3:::acme-prod-public-site']);
    const nsg = bySource(resources, 'module.azure.module.nsg.azurerm_network_security_group.this').native_id;
    expect(targets(bySource(resources, 'module.azure.azurerm_network_interface.app'))).toContain(nsg);
    expect(targets(bySource(resources, 'module.gcp.google_compute_firewall.allow_ssh'))).toEqual([
      bySource(resources, 'module.gcp.google_compute_network.vpc').native_id,
    ]);
  });

  it('keeps a reference to a resource outside the file as its raw value', () => {
    expect(targets(bySource(resources, 'module.compute.aws_instance.app[0]'))).toContain('subnet-07e9d8c6b5a4f3e21');
  });

  it('blanks sensitive attributes, nested ones included, so no secret enters the inventory', () => {
    expect(bySource(resources, 'aws_db_instance.reports').attributes.password).toBeNull();
    expect(bySource(resources, 'aws_iam_access_key.deploy').attributes).toMatchObject({ secret: null, ses_smtp_password_v4: null, status: 'Active' });
    expect(bySource(resources, 'module.azure.azurerm_key_vault_secret.db_password').attributes.value).toBeNull();
    expect(bySource(resources, 'module.azure.azurerm_storage_account.logs').attributes).toMatchObject({ primary_access_key: null, primary_connection_string: null });
    expect(bySource(resources, 'module.gcp.google_compute_instance.worker[0]').attributes.metadata).toEqual({ 'enable-oslogin': 'TRUE', 'startup-script': null });
    const everything = JSON.stringify(resources);
    for (const secret of ['Xk9#pL2vQ8mR4tZ7', 'reports-2019!', 'wJalrXUtnFEMI', 'qt_live_', 'c2VjcmV0LWFjY2Vzcy1rZXkt']) expect(everything).not.toContain(secret);
  });

  it('does not modify the document it reads', () => {
    const document = fixture('terraform.tfstate');
    const before = JSON.stringify(document);
    parseInventory('terraform_state', document);
    expect(JSON.stringify(document)).toBe(before);
  });

  it('keeps the misconfigurations the audit rules look for', () => {
    expect(bySource(resources, 'aws_s3_bucket_acl.public_site').attributes.acl).toBe('public-read');
    expect(bySource(resources, 'aws_s3_bucket_public_access_block.public_site').attributes.block_public_acls).toBe(false);
    expect(bySource(resources, 'module.network.aws_security_group.this["bastion"]').attributes.ingress).toEqual([
      expect.objectContaining({ from_port: 22, to_port: 22, cidr_blocks: ['0.0.0.0/0'] }),
    ]);
    expect(bySource(resources, 'aws_db_instance.reports').attributes).toMatchObject({ storage_encrypted: false, publicly_accessible: true });
    expect(bySource(resources, 'aws_acm_certificate.api').attributes.not_after).toBe('2026-12-10T23:59:59Z');
  });
});

describe('parseInventory terraform_show', () => {
  it('reads the show -json of a state, nested child modules included, exactly like the state itself', () => {
    const show = parseFixture('terraform_show', 'show-state.json');
    const state = parseFixture('terraform_state', 'terraform.tfstate');
    expect(show.problems).toEqual([]);
    const sorted = (resources: CanonicalResource[]): CanonicalResource[] => [...resources].sort((a, b) => a.source.localeCompare(b.source));
    expect(sorted(show.resources)).toEqual(sorted(state.resources));
  });

  it('reads planned_values of a plan; resources not created yet are identified by their address', () => {
    const { resources, problems } = parseFixture('terraform_show', 'show-plan.json');
    expect(problems).toEqual([]);
    expect(countsByType(resources)).toEqual({
      aws_db_instance: 1,
      aws_instance: 1,
      aws_s3_bucket: 2,
      aws_s3_bucket_acl: 1,
      aws_security_group: 2,
      azurerm_storage_account: 1,
      google_storage_bucket: 1,
    });
    expect(bySource(resources, 'aws_s3_bucket.assets').native_id).toBe('arn:aws:s3:::acme-staging-assets');
    expect(bySource(resources, 'module.network.aws_security_group.this["ssh"]').native_id).toBe('module.network.aws_security_group.this["ssh"]');
    expect(targets(bySource(resources, 'aws_s3_bucket_acl.exports'))).toEqual(['aws_s3_bucket.exports']);
    expect(targets(bySource(resources, 'module.compute.aws_instance.app[0]'))).toContain(
      'arn:aws:ec2:eu-central-1:210987654321:security-group/sg-0123456789abcdef0',
    );
    expect(bySource(resources, 'aws_db_instance.analytics').attributes).toMatchObject({ password: null, storage_encrypted: false, publicly_accessible: true });
    expect(bySource(resources, 'google_storage_bucket.exports').region).toBe('europe-west3');
  });

  it('reads an empty state as no resources', () => {
    expect(parseInventory('terraform_show', { format_version: '1.0' })).toEqual({ resources: [], problems: [] });
  });
});

const AWS = 'registry.terraform.io/hashicorp/aws';

interface PlannedResource {
  address: string;
  values?: Record<string, unknown>;
  after_unknown?: unknown;
  after_sensitive?: unknown;
  expressions?: Record<string, unknown>;
}

/** A small `terraform show -json` plan: planned values, their changes and the root module's configuration. */
function plan(resources: PlannedResource[], options: { formatVersion?: string; children?: { address: string; resources: PlannedResource[]; call: string }[] } = {}) {
  const planned = (list: PlannedResource[]) =>
    list.map((r) => {
      const [type = '', name = ''] = r.address.replace(/^(module\.[^.]+\.)+/, '').replace(/\[.*\]$/, '').split('.');
      const provider = type.startsWith('azurerm_') ? 'registry.terraform.io/hashicorp/azurerm' : AWS;
      return { address: r.address, mode: 'managed', type, name, provider_name: provider, ...(r.values === undefined ? {} : { values: r.values }) };
    });
  const changes = (list: PlannedResource[]) =>
    list.map((r) => ({ address: r.address, mode: 'managed', change: { actions: ['create'], after: r.values ?? {}, after_unknown: r.after_unknown ?? {}, after_sensitive: r.after_sensitive ?? {} } }));
  const configured = (list: PlannedResource[]) =>
    list.filter((r) => r.expressions !== undefined).map((r) => ({ address: r.address.replace(/^(module\.[^.]+\.)+/, '').replace(/\[.*\]$/, ''), mode: 'managed', expressions: r.expressions }));
  const children = options.children ?? [];
  return {
    format_version: options.formatVersion ?? '1.2',
    planned_values: { root_module: { resources: planned(resources), child_modules: children.map((c) => ({ address: c.address, resources: planned(c.resources) })) } },
    resource_changes: [...changes(resources), ...children.flatMap((c) => changes(c.resources))],
    configuration: {
      root_module: {
        resources: configured(resources),
        module_calls: Object.fromEntries(children.map((c) => [c.call, { source: './m', module: { resources: configured(c.resources) } }])),
      },
    },
  };
}

describe('parseInventory terraform_show of older Terraform and of incomplete plans (issue 15)', () => {
  it.each(['0.1', '0.2', '1.0', '1.2'])('reads format_version %s, laid out alike', (formatVersion) => {
    const { resources, problems } = parseInventory('terraform_show', plan([{ address: 'aws_s3_bucket.b', values: { bucket: 'acme-logs', arn: 'arn:aws:s3:::acme-logs' } }], { formatVersion }));
    expect(problems).toEqual([]);
    expect(resources.map((r) => r.native_id)).toEqual(['arn:aws:s3:::acme-logs']);
  });

  it('still refuses a format it does not know, naming it', () => {
    expect(parseInventory('terraform_show', { format_version: '2.0', planned_values: { root_module: {} } }).problems).toEqual([
      { item: '$', field: null, message: 'unsupported `terraform show -json` format_version "2.0": fourfold reads formats 0.1, 0.2 and 1.x' },
    ]);
    expect(parseInventory('terraform_show', plan([{ address: 'aws_s3_bucket.b', values: 'nonsense' as unknown as Record<string, unknown> }])).problems).toEqual([
      { item: 'aws_s3_bucket.b', field: 'values', message: 'expected a "values" object' },
    ]);
  });

  it('imports a resource without values with what is known, identified by its address', () => {
    const document = plan([{ address: 'aws_sqs_queue_policy.q', after_unknown: { id: true, policy: true } }]);
    const { resources, problems } = parseInventory('terraform_show', document);
    expect(problems).toEqual([]);
    expect(resources[0]).toMatchObject({ type: 'aws_sqs_queue_policy', native_id: 'aws_sqs_queue_policy.q', attributes: {}, unknown_paths: [['id'], ['policy']] });
  });

  it('records the attributes known only after apply, leaves and whole blocks, and redacts after_sensitive', () => {
    const { resources } = parseInventory('terraform_show', plan([
      {
        address: 'aws_s3_bucket.b',
        values: { bucket: 'acme-logs', versioning: [{ mfa_delete: false }], tags: { env: 'dev' }, secret_note: 'x' },
        after_unknown: { arn: true, id: true, versioning: [{ enabled: true, mfa_delete: false }], tags_all: true, tags: { 'kubernetes.io/role': true }, logging: false },
        after_sensitive: { secret_note: true },
      },
    ]));
    const [bucket] = resources;
    expect(bucket?.unknown_paths).toEqual([['arn'], ['id'], ['versioning', 0, 'enabled'], ['tags_all'], ['tags', 'kubernetes.io/role']]);
    expect(bucket?.attributes.secret_note).toBeNull();
    // As rules write paths; a key the syntax cannot write is named by its nearest ancestor.
    expect(unknownAttributesOf(bucket!)).toEqual(['arn', 'id', 'tags', 'tags_all', 'versioning[0].enabled']);
  });

  it('keeps only the unknowns the configuration sets: a computed attribute it leaves out takes the provider default', () => {
    const { resources } = parseInventory('terraform_show', plan([
      {
        address: 'aws_s3_bucket.b',
        values: { bucket: 'acme-logs' },
        // versioning and arn are computed (not configured); kms_master_key_id is configured from another resource's arn.
        after_unknown: { arn: true, versioning: true, server_side_encryption_configuration: [{ rule: [{ apply_server_side_encryption_by_default: [{ kms_master_key_id: true }] }] }] },
        expressions: {
          bucket: { constant_value: 'acme-logs' },
          server_side_encryption_configuration: [{ rule: [{ apply_server_side_encryption_by_default: [{ kms_master_key_id: { references: ['aws_kms_key.k.arn', 'aws_kms_key.k'] } }] }] }],
        },
      },
      // A plan without this resource's configuration (rebuilt from a mock) keeps every mark.
      { address: 'aws_s3_bucket.c', values: { bucket: 'acme-data' }, after_unknown: { versioning: true } },
    ]));
    expect(resources.find((r) => r.source === 'aws_s3_bucket.b')?.unknown_paths).toEqual([
      ['server_side_encryption_configuration', 0, 'rule', 0, 'apply_server_side_encryption_by_default', 0, 'kms_master_key_id'],
    ]);
    expect(resources.find((r) => r.source === 'aws_s3_bucket.c')?.unknown_paths).toEqual([['versioning']]);
  });

  it('judges unknowns inside configured blocks alike: what a block leaves out takes the default, what it sets stays unknown', () => {
    const { resources } = parseInventory('terraform_show', plan([
      {
        address: 'aws_launch_template.t',
        values: { metadata_options: [{ http_endpoint: 'enabled' }], root_directory: [{}], ingress: [{ from_port: 22 }] },
        after_unknown: {
          // http_tokens: computed, left out of the block; http_put_response_hop_limit: set from another resource.
          metadata_options: [{ http_tokens: true, http_put_response_hop_limit: true }],
          // an empty block: everything in it is left out.
          root_directory: [{ path: true }],
          // a block the configuration does not list but the plan partly knows comes from a `dynamic` block: kept.
          ingress: [{ cidr_blocks: true }],
        },
        expressions: {
          metadata_options: [{ http_endpoint: { constant_value: 'enabled' }, http_put_response_hop_limit: { references: ['var.hops'] } }],
          root_directory: [{}],
        },
      },
    ]));
    expect(resources[0]?.unknown_paths).toEqual([
      ['metadata_options', 0, 'http_put_response_hop_limit'],
      ['ingress', 0, 'cidr_blocks'],
    ]);
  });

  it("keeps tags_all unknown when the provider's default_tags fill it, and lets it follow tags when there are none", () => {
    const bucket = { address: 'aws_s3_bucket.b', values: { bucket: 'acme-logs', tags: { owner: 'data' } }, after_unknown: { tags_all: true }, expressions: { bucket: { constant_value: 'acme-logs' }, tags: { constant_value: { owner: 'data' } } } };
    const withDefaults = plan([bucket]);
    (withDefaults.configuration as Record<string, unknown>).provider_config = { aws: { name: 'aws', full_name: AWS, expressions: { default_tags: [{ tags: { references: ['var.tags'] } }] } } };
    expect(parseInventory('terraform_show', withDefaults).resources[0]?.unknown_paths).toEqual([['tags_all']]);
    const withoutDefaults = plan([bucket]);
    (withoutDefaults.configuration as Record<string, unknown>).provider_config = { aws: { name: 'aws', full_name: AWS, expressions: { region: { constant_value: 'eu-west-1' } } } };
    expect(parseInventory('terraform_show', withoutDefaults).resources[0]?.unknown_paths).toEqual([]);
  });

  it('makes a change of what is unknown a change of content', () => {
    const parse = (afterUnknown: unknown) => parseInventory('terraform_show', plan([{ address: 'aws_s3_bucket.b', values: { bucket: 'acme-logs' }, after_unknown: afterUnknown }])).resources[0]!;
    const hash = (afterUnknown: unknown) => contentHashOf(contentJson(parse(afterUnknown)));
    expect(hash({ arn: true })).not.toBe(hash({ arn: true, id: true }));
    expect(hash({ arn: true })).toBe(hash({ arn: true }));
    // Without unknowns, the content is what it was before they were recorded.
    expect(contentJson(parse({}))).not.toContain('unknown');
  });
});

describe('formatPath', () => {
  it('writes the paths parsePath reads', () => {
    for (const path of ['versioning[0].enabled', 'tags_all', 'rule[2].apply_server_side_encryption_by_default[0].sse_algorithm']) {
      expect(formatPath(parsePath(path))).toBe(path);
    }
    expect(formatPath(['tags', 'a.b'])).toBe('tags');
    expect(formatPath([0, 'x'])).toBeNull();
    expect(formatPath(['a b'])).toBeNull();
  });
});

describe('relationships of split resources (issue 15)', () => {
  const relationshipsOf = (resources: CanonicalResource[], source: string) => bySource(resources, source).relationships;

  it('links what a plan configures from elsewhere through the configuration, when the reference is unknown', () => {
    const { resources, problems } = parseInventory('terraform_show', plan([
      { address: 'aws_s3_bucket.b', values: { bucket: 'acme-logs' }, after_unknown: { arn: true, id: true } },
      { address: 'aws_s3_bucket_versioning.v', values: { versioning_configuration: [{ status: 'Enabled' }] }, after_unknown: { bucket: true }, expressions: { bucket: { references: ['aws_s3_bucket.b.id', 'aws_s3_bucket.b'] } } },
      { address: 'aws_s3_bucket_server_side_encryption_configuration.e', values: {}, expressions: { bucket: { references: ['aws_s3_bucket.b.bucket', 'aws_s3_bucket.b'] } } },
      { address: 'aws_security_group.sg', values: { name: 'web' }, after_unknown: { id: true, arn: true } },
      { address: 'aws_vpc_security_group_ingress_rule.r', values: { from_port: 22 }, expressions: { security_group_id: { references: ['aws_security_group.sg.id', 'aws_security_group.sg'] } } },
      { address: 'aws_iam_role.r', values: { name: 'deploy' }, after_unknown: { arn: true, id: true } },
      { address: 'aws_iam_role_policy_attachment.a', values: { policy_arn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }, expressions: { role: { references: ['aws_iam_role.r.name', 'aws_iam_role.r'] } } },
      { address: 'aws_iam_policy_attachment.p', values: { name: 'p' }, expressions: { roles: { references: ['aws_iam_role.r.name', 'aws_iam_role.r', 'var.extra'] } } },
    ]));
    expect(problems).toEqual([]);
    const toBucket = [{ type: 'attached_to', resource_native_id: 'aws_s3_bucket.b', resource_types: ['aws_s3_bucket'] }];
    expect(relationshipsOf(resources, 'aws_s3_bucket_versioning.v')).toEqual(toBucket);
    expect(relationshipsOf(resources, 'aws_s3_bucket_server_side_encryption_configuration.e')).toEqual(toBucket);
    expect(targets(bySource(resources, 'aws_vpc_security_group_ingress_rule.r'))).toEqual(['aws_security_group.sg']);
    expect(targets(bySource(resources, 'aws_iam_role_policy_attachment.a'))).toEqual(['aws_iam_role.r']);
    expect(targets(bySource(resources, 'aws_iam_policy_attachment.p'))).toEqual(['aws_iam_role.r']);
    expect(relationshipsOf(resources, 'aws_s3_bucket.b')).toEqual([]);
  });

  it('links AWS resources that configure another one: flow logs and endpoints to their VPC, logging and parameter groups to their cluster, features to their detector', () => {
    const { resources, problems } = parseInventory('terraform_show', plan([
      { address: 'aws_vpc.v', values: { cidr_block: '10.0.0.0/16' }, after_unknown: { id: true, arn: true } },
      { address: 'aws_flow_log.f', values: { traffic_type: 'ALL' }, after_unknown: { vpc_id: true }, expressions: { vpc_id: { references: ['aws_vpc.v.id', 'aws_vpc.v'] } } },
      { address: 'aws_vpc_endpoint.e', values: { service_name: 'com.amazonaws.us-east-1.ec2' }, after_unknown: { vpc_id: true }, expressions: { vpc_id: { references: ['aws_vpc.v.id', 'aws_vpc.v'] } } },
      { address: 'aws_redshift_cluster.c', values: { cluster_identifier: 'dw' }, after_unknown: { id: true, arn: true } },
      { address: 'aws_redshift_logging.l', values: { log_destination_type: 'cloudwatch' }, expressions: { cluster_identifier: { references: ['aws_redshift_cluster.c.id', 'aws_redshift_cluster.c'] } } },
      { address: 'aws_redshift_parameter_group.p', values: { name: 'tls', family: 'redshift-1.0' } },
      { address: 'aws_redshift_cluster.d', values: { cluster_identifier: 'dw2', cluster_parameter_group_name: 'tls' } },
      { address: 'aws_db_parameter_group.g', values: { name: 'mariadb-tls', family: 'mariadb10.6' } },
      { address: 'aws_db_instance.i', values: { engine: 'mariadb', parameter_group_name: 'mariadb-tls' } },
      { address: 'aws_rds_cluster_parameter_group.cg', values: { name: 'aurora-logs', family: 'aurora-postgresql15' } },
      { address: 'aws_rds_cluster.a', values: { engine: 'aurora-postgresql', db_cluster_parameter_group_name: 'aurora-logs' } },
      { address: 'aws_guardduty_detector.d', values: { enable: true }, after_unknown: { id: true, arn: true } },
      { address: 'aws_guardduty_detector_feature.eks', values: { name: 'EKS_AUDIT_LOGS', status: 'ENABLED' }, expressions: { detector_id: { references: ['aws_guardduty_detector.d.id', 'aws_guardduty_detector.d'] } } },
      { address: 'aws_s3_bucket.trail', values: { bucket: 'acme-trail' } },
      { address: 'aws_cloudtrail.t', values: { name: 'main', s3_bucket_name: 'acme-trail' } },
      { address: 'aws_cloudwatch_event_bus.b', values: { name: 'orders' } },
      { address: 'aws_cloudwatch_event_bus_policy.bp', values: { event_bus_name: 'orders', policy: '{}' } },
    ]));
    expect(problems).toEqual([]);
    expect(targets(bySource(resources, 'aws_flow_log.f'))).toEqual(['aws_vpc.v']);
    expect(targets(bySource(resources, 'aws_vpc_endpoint.e'))).toEqual(['aws_vpc.v']);
    expect(targets(bySource(resources, 'aws_redshift_logging.l'))).toEqual(['aws_redshift_cluster.c']);
    expect(targets(bySource(resources, 'aws_redshift_cluster.d'))).toEqual([bySource(resources, 'aws_redshift_parameter_group.p').native_id]);
    expect(targets(bySource(resources, 'aws_db_instance.i'))).toEqual([bySource(resources, 'aws_db_parameter_group.g').native_id]);
    expect(targets(bySource(resources, 'aws_rds_cluster.a'))).toEqual([bySource(resources, 'aws_rds_cluster_parameter_group.cg').native_id]);
    expect(targets(bySource(resources, 'aws_guardduty_detector_feature.eks'))).toEqual(['aws_guardduty_detector.d']);
    expect(targets(bySource(resources, 'aws_cloudtrail.t'))).toEqual([bySource(resources, 'aws_s3_bucket.trail').native_id]);
    expect(targets(bySource(resources, 'aws_cloudwatch_event_bus_policy.bp'))).toEqual([bySource(resources, 'aws_cloudwatch_event_bus.b').native_id]);
    expect(targets(bySource(resources, 'aws_vpc.v'))).toEqual([]);
  });

  it('links an Azure storage account customer-managed key and a private endpoint to the account they configure or serve', () => {
    const { resources, problems } = parseInventory('terraform_show', plan([
      { address: 'azurerm_storage_account.sa', values: { name: 'acmelogs', resource_group_name: 'rg' }, after_unknown: { id: true } },
      { address: 'azurerm_storage_account_customer_managed_key.k', values: {}, after_unknown: { storage_account_id: true }, expressions: { storage_account_id: { references: ['azurerm_storage_account.sa.id', 'azurerm_storage_account.sa'] } } },
      {
        address: 'azurerm_private_endpoint.pe',
        values: { private_service_connection: [{ name: 'blob', is_manual_connection: false }] },
        after_unknown: { private_service_connection: [{ private_connection_resource_id: true }] },
        expressions: { private_service_connection: [{ private_connection_resource_id: { references: ['azurerm_storage_account.sa.id', 'azurerm_storage_account.sa'] } }] },
      },
      {
        address: 'azurerm_private_endpoint.kv',
        values: { private_service_connection: [{ private_connection_resource_id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv' }] },
      },
    ]));
    expect(problems).toEqual([]);
    const toAccount = [{ type: 'attached_to', resource_native_id: 'azurerm_storage_account.sa', resource_types: ['azurerm_storage_account'] }];
    expect(relationshipsOf(resources, 'azurerm_storage_account_customer_managed_key.k')).toEqual(toAccount);
    expect(relationshipsOf(resources, 'azurerm_private_endpoint.pe')).toEqual(toAccount);
    // An id that names no resource of the file is kept as it is.
    expect(targets(bySource(resources, 'azurerm_private_endpoint.kv'))).toEqual(['/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv']);
  });

  it('attaches the ends of a join resource through the configuration', () => {
    const { resources, problems } = parseInventory('terraform_show', plan([
      { address: 'azurerm_subnet.s', values: { name: 'app' } },
      { address: 'azurerm_network_security_group.n', values: { name: 'app-nsg' } },
      {
        address: 'azurerm_subnet_network_security_group_association.a',
        values: {},
        expressions: { subnet_id: { references: ['azurerm_subnet.s.id', 'azurerm_subnet.s'] }, network_security_group_id: { references: ['azurerm_network_security_group.n.id', 'azurerm_network_security_group.n'] } },
      },
    ]));
    expect(problems).toEqual([]);
    expect(targets(bySource(resources, 'azurerm_subnet_network_security_group_association.a'))).toEqual(['azurerm_subnet.s', 'azurerm_network_security_group.n']);
    expect(targets(bySource(resources, 'azurerm_subnet.s'))).toEqual(['azurerm_network_security_group.n']);
  });

  it('resolves references inside a module to the same module instance, and count instances by their key', () => {
    const { resources } = parseInventory('terraform_show', plan([], {
      children: [
        {
          address: 'module.logs',
          call: 'logs',
          resources: [
            { address: 'module.logs.aws_s3_bucket.b[0]', values: { bucket: 'l0' } },
            { address: 'module.logs.aws_s3_bucket.b[1]', values: { bucket: 'l1' } },
            { address: 'module.logs.aws_s3_bucket_acl.a[1]', values: { acl: 'private' }, expressions: { bucket: { references: ['aws_s3_bucket.b'] } } },
            { address: 'module.logs.aws_s3_bucket_policy.p', values: {}, expressions: { bucket: { references: ['aws_s3_bucket.b[0].id', 'aws_s3_bucket.b[0]', 'aws_s3_bucket.b'] } } },
          ],
        },
      ],
    }));
    expect(targets(bySource(resources, 'module.logs.aws_s3_bucket_acl.a[1]'))).toEqual(['module.logs.aws_s3_bucket.b[1]']);
    expect(targets(bySource(resources, 'module.logs.aws_s3_bucket_policy.p'))).toEqual(['module.logs.aws_s3_bucket.b[0]']);
  });

  it("follows a reference to a module's output to the resource the output names", () => {
    const document = plan(
      [
        // Configured outside the module: bucket = module.logs.id, unknown until apply.
        { address: 'aws_s3_bucket_versioning.v', values: { versioning_configuration: [{ status: 'Enabled' }] }, after_unknown: { bucket: true }, expressions: { bucket: { references: ['module.logs.id', 'module.logs'] } } },
        { address: 'aws_s3_bucket_acl.a', values: { acl: 'private' }, after_unknown: { bucket: true }, expressions: { bucket: { references: ['module.other.id', 'module.other'] } } },
      ],
      { children: [{ address: 'module.logs', call: 'logs', resources: [{ address: 'module.logs.aws_s3_bucket.this', values: { bucket: 'acme-logs' }, after_unknown: { id: true, arn: true } }] }] },
    );
    const calls = (document.configuration.root_module as { module_calls: Record<string, { module: Record<string, unknown> }> }).module_calls;
    calls.logs!.module.outputs = { id: { expression: { references: ['aws_s3_bucket.this.id', 'aws_s3_bucket.this'] } } };
    const { resources, problems } = parseInventory('terraform_show', document);
    expect(problems).toEqual([]);
    expect(targets(bySource(resources, 'aws_s3_bucket_versioning.v'))).toEqual(['module.logs.aws_s3_bucket.this']);
    // An output of a module that is not in the file names nothing.
    expect(bySource(resources, 'aws_s3_bucket_acl.a').relationships).toEqual([]);
  });

  it('keeps resources of different types that share a native id apart, and the graph follows the types named', () => {
    const { resources, problems } = parseInventory('terraform_state', {
      version: 4,
      resources: [
        ['aws_s3_bucket', 'b', { id: 'acme-logs', bucket: 'acme-logs' }],
        ['aws_s3_bucket_policy', 'p', { id: 'acme-logs', bucket: 'acme-logs', policy: '{}' }],
        ['aws_s3_bucket_logging', 'l', { id: 'acme-logs', bucket: 'acme-logs', target_bucket: 'acme-audit' }],
      ].map(([type, name, attributes]) => ({ mode: 'managed', type, name, provider: `provider["${AWS}"]`, instances: [{ attributes }] })),
    });
    expect(problems).toEqual([]);
    expect(resources.map((r) => [r.type, r.native_id])).toEqual([
      ['aws_s3_bucket', 'acme-logs'],
      ['aws_s3_bucket_policy', 'acme-logs'],
      ['aws_s3_bucket_logging', 'acme-logs'],
    ]);
    expect(relationshipsOf(resources, 'aws_s3_bucket_policy.p')).toEqual([{ type: 'attached_to', resource_native_id: 'acme-logs', resource_types: ['aws_s3_bucket'] }]);

    const subjects = resources.map(({ source: _source, unknown_paths: _unknownPaths, ...r }) => ({ id: null, ...r }));
    const graph = new ResourceGraph(subjects);
    const [bucket, policy, logging] = subjects;
    const now = new Date();
    expect(graph.contextOf(bucket!, now)).toMatchObject({ related: [], referencedBy: [policy, logging] });
    expect(graph.contextOf(policy!, now)).toMatchObject({ related: [bucket], referencedBy: [] });
    // A relationship that names no types (native files may leave them out) names every resource with the native id.
    const untypedPolicy = { ...policy!, relationships: [{ type: 'attached_to', resource_native_id: 'acme-logs' }] };
    expect(new ResourceGraph([bucket!, untypedPolicy, logging!]).contextOf(untypedPolicy, now).related).toEqual([bucket, logging]);
  });

  it('resolves an Azure security rule to the security group of that name in its own resource group', () => {
    const group = (rg: string) => ({ id: `/subscriptions/s/resourceGroups/${rg}/providers/Microsoft.Network/networkSecurityGroups/web`, name: 'web', resource_group_name: rg });
    const { resources } = parseInventory('terraform_state', {
      version: 4,
      resources: [
        { mode: 'managed', type: 'azurerm_network_security_group', name: 'a', provider: 'provider["registry.terraform.io/hashicorp/azurerm"]', instances: [{ attributes: group('rg-a') }] },
        { mode: 'managed', type: 'azurerm_network_security_group', name: 'b', provider: 'provider["registry.terraform.io/hashicorp/azurerm"]', instances: [{ attributes: group('RG-B') }] },
        {
          mode: 'managed',
          type: 'azurerm_network_security_rule',
          name: 'ssh',
          provider: 'provider["registry.terraform.io/hashicorp/azurerm"]',
          instances: [{ attributes: { id: '/subscriptions/s/resourceGroups/rg-b/providers/Microsoft.Network/networkSecurityGroups/web/securityRules/ssh', name: 'ssh', resource_group_name: 'rg-b', network_security_group_name: 'web' } }],
        },
      ],
    });
    expect(targets(bySource(resources, 'azurerm_network_security_rule.ssh'))).toEqual([group('RG-B').id]);
  });
});

describe('parseInventory native', () => {
  it('accepts valid canonical resources as they are, with their index as source', () => {
    const { resources, problems } = parseFixture('native', 'native.json');
    expect(problems).toEqual([]);
    expect(resources).toHaveLength(12);
    expect(countsByType(resources)).toMatchObject({ aws_s3_bucket: 1, aws_security_group: 1, azurerm_storage_account: 1, google_compute_instance: 1 });
    const instance = resources[2];
    expect(instance).toMatchObject({ type: 'aws_instance', source: 'resources[2]', region: 'us-west-2' });
    expect(targets(instance as CanonicalResource)).toEqual([resources[1]?.native_id]);
    expect(resources.find((r) => r.type === 'google_storage_bucket')?.tags).toEqual({ env: 'dev', team: 'data', 'goog-terraform-provisioned': 'true' });
  });

  it('reports every invalid item with its index and field', () => {
    const { problems } = parseFixture('native', 'broken/native-invalid-items.json');
    expect(problems).toEqual([
      { item: 'resources[1]', field: 'native_id', message: expect.stringContaining('required') },
      { item: 'resources[2]', field: 'type', message: 'aws resource types start with "aws_"' },
      { item: 'resources[3]', field: 'provider', message: 'required: one of aws, azure, gcp' },
      { item: 'resources[3]', field: 'tags.env', message: 'expected a string' },
      { item: 'resources[3]', field: 'attributes', message: 'expected an object' },
      { item: 'resources[3]', field: 'relationships[0].type', message: 'expected "attached_to"' },
      { item: 'resources[3]', field: 'relationships[0].resource_native_id', message: 'required: a non-empty string' },
      { item: 'resources[4]', field: 'native_id', message: 'duplicate aws_s3_bucket "arn:aws:s3:::acme-dev-uploads", also at resources[0]' },
    ]);
  });

  it('defaults the optional fields', () => {
    const { resources, problems } = parseInventory('native', { resources: [{ type: 'aws_kms_key', native_id: 'arn:aws:kms:eu-west-1:1:key/k', provider: 'aws' }] });
    expect(problems).toEqual([]);
    expect(resources[0]).toEqual({
      type: 'aws_kms_key',
      native_id: 'arn:aws:kms:eu-west-1:1:key/k',
      provider: 'aws',
      region: null,
      name: null,
      tags: {},
      attributes: {},
      relationships: [],
      unknown_paths: [],
      source: 'resources[0]',
    });
  });
});

describe('parseInventory with a file of the wrong format', () => {
  const only = (result: ParseResult): string => {
    expect(result.resources).toEqual([]);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatchObject({ item: '$', field: null });
    return result.problems[0]?.message ?? '';
  };

  it('names the expected format', () => {
    expect(only(parseFixture('native', 'broken/aws-cli-describe-instances.json'))).toBe('not a native inventory: expected an object with a "resources" array');
    expect(only(parseFixture('terraform_state', 'broken/aws-cli-describe-instances.json'))).toBe('not a Terraform state: missing "version" or "resources"');
    expect(only(parseFixture('terraform_show', 'broken/aws-cli-describe-instances.json'))).toBe('not `terraform show -json` output: missing "format_version"');
    expect(only(parseInventory('terraform_state', []))).toBe('not a Terraform state: expected a JSON object');
  });

  it('says which format a Terraform file really is', () => {
    expect(only(parseFixture('terraform_show', 'terraform.tfstate'))).toMatch(/looks like a Terraform state file; import it with format terraform_state/);
    expect(only(parseFixture('terraform_state', 'show-state.json'))).toMatch(/looks like `terraform show -json` output; import it with format terraform_show/);
    expect(only(parseFixture('native', 'terraform.tfstate'))).toMatch(/looks like a Terraform state file/);
    expect(only(parseFixture('native', 'show-plan.json'))).toMatch(/looks like `terraform show -json` output/);
  });

  it('refuses a state version other than 4, naming it', () => {
    expect(only(parseFixture('terraform_state', 'broken/state-version-3.tfstate'))).toMatch(/^unsupported Terraform state version 3: fourfold reads version 4/);
  });
});

describe('parseInventory with unmappable Terraform items', () => {
  // Issue 15: a state written by hand may leave out ids; such an item was refused before.
  it('identifies an item without an id by its address, and skips resources of non-cloud providers', () => {
    const { resources, problems } = parseFixture('terraform_state', 'state-item-without-id.tfstate');
    expect(problems).toEqual([]);
    expect(resources.map((r) => [r.source, r.native_id])).toEqual([
      ['aws_s3_bucket.ok', 'arn:aws:s3:::acme-import-ok'],
      ['module.network.aws_security_group.this["web"]', 'module.network.aws_security_group.this["web"]'],
    ]);
  });

  it('reports resources without instances or attributes', () => {
    const { problems } = parseInventory('terraform_state', {
      version: 4,
      resources: [
        { mode: 'managed', type: 'aws_s3_bucket', name: 'a', provider: 'provider["registry.terraform.io/hashicorp/aws"]' },
        { mode: 'managed', type: 'aws_s3_bucket', name: 'b', provider: 'provider["registry.terraform.io/hashicorp/aws"]', instances: [{ index_key: 2 }] },
        'nonsense',
      ],
    });
    expect(problems).toEqual([
      { item: 'aws_s3_bucket.a', field: 'instances', message: 'expected an array of instances' },
      { item: 'aws_s3_bucket.b[2]', field: 'attributes', message: 'expected an "attributes" object' },
      { item: 'resources[2]', field: null, message: 'expected a resource object' },
    ]);
  });
});

describe('synthetic inventory generator', () => {
  it('writes a native inventory that parses without problems', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (chunk: Buffer) => chunks.push(chunk));
    await writeNativeInventory(syntheticResources(2000, 1), out);
    out.end();
    const { resources, problems } = parseInventory('native', JSON.parse(Buffer.concat(chunks).toString('utf8')));
    expect(problems).toEqual([]);
    expect(resources).toHaveLength(2000);
    expect(new Set(resources.map((r) => r.provider))).toEqual(new Set(['aws', 'azure', 'gcp']));
    expect(Object.keys(countsByType(resources)).length).toBeGreaterThanOrEqual(15);
    expect(resources.filter((r) => r.relationships.length > 0).length).toBeGreaterThan(200);
    expect(resources.every((r) => r.type === 'aws_iam_access_key' || (r.tags.env !== undefined && r.tags.team !== undefined))).toBe(true);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const one = JSON.stringify([...syntheticResources(300, 42)]);
    expect(JSON.stringify([...syntheticResources(300, 42)])).toBe(one);
    expect(JSON.stringify([...syntheticResources(300, 43)])).not.toBe(one);
  });

  it('misconfigures about 5% of the resources', () => {
    const resources = [...syntheticResources(20000, 7)];
    const sshOpen = resources.filter(
      (r) => r.type === 'aws_security_group' && JSON.stringify(r.attributes.ingress).includes('"from_port":22'),
    ).length;
    const securityGroups = resources.filter((r) => r.type === 'aws_security_group').length;
    expect(sshOpen / securityGroups).toBeGreaterThan(0.03);
    expect(sshOpen / securityGroups).toBeLessThan(0.07);
    const publicDatabases = resources.filter((r) => r.type === 'aws_db_instance' && r.attributes.publicly_accessible === true).length;
    expect(publicDatabases).toBeGreaterThan(0);
  });
});
