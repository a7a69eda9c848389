import { parseInventory } from '../src/imports/import-parsers';
import { unknownAttributesOf } from '../src/imports/resource-content';
import { loadCatalogue, type Catalogue } from '../src/rules/catalogue';
import { evaluateInventory } from '../src/rules/evaluate-inventory';
import type { RuleOutcome, RuleResource } from '../src/rules/rule-evaluation';

// Issue 15, must show 2: each case goes from a `terraform show -json` document of our own through
// the import parser, the resource graph and the catalogue, as an import and an audit do. The
// parser-level details of each case are tested in import-parsers.test.ts, the rule fixtures in
// rules-catalogue.test.ts, and the HTTP side in imports.test.ts and audits.test.ts.

const AWS = 'registry.terraform.io/hashicorp/aws';
const NOW = new Date('2026-11-26T00:00:00Z');

interface Planned {
  address: string;
  values?: Record<string, unknown>;
  after_unknown?: Record<string, unknown>;
  expressions?: Record<string, unknown>;
}

function typeOf(address: string): string {
  return address.split('.')[0] ?? '';
}

/** A plan: planned values, their changes and the configuration of the resources that have one. */
function plan(resources: Planned[], formatVersion = '1.2') {
  return {
    format_version: formatVersion,
    planned_values: {
      root_module: {
        resources: resources.map((r) => ({ address: r.address, mode: 'managed', type: typeOf(r.address), name: r.address.split('.')[1], provider_name: AWS, ...(r.values ? { values: r.values } : {}) })),
      },
    },
    resource_changes: resources.map((r) => ({ address: r.address, mode: 'managed', type: typeOf(r.address), change: { actions: ['create'], after: r.values ?? {}, after_unknown: r.after_unknown ?? {} } })),
    configuration: { root_module: { resources: resources.filter((r) => r.expressions).map((r) => ({ address: r.address, mode: 'managed', type: typeOf(r.address), expressions: r.expressions })) } },
  };
}

/** A `terraform show -json` of a state. */
function state(resources: { address: string; values: Record<string, unknown> }[]) {
  return {
    format_version: '1.0',
    values: { root_module: { resources: resources.map((r) => ({ address: r.address, mode: 'managed', type: typeOf(r.address), name: r.address.split('.')[1], provider_name: AWS, values: r.values })) } },
  };
}

let catalogue: Catalogue;
beforeAll(async () => {
  catalogue = await loadCatalogue();
});

/** Imports the document as one account and evaluates the catalogue: address → rule id → outcome. */
function audit(document: unknown): { native_ids: Record<string, string>; outcomes: Record<string, Record<string, RuleOutcome>> } {
  const parsed = parseInventory('terraform_show', document);
  expect(parsed.problems).toEqual([]);
  const resources: RuleResource[] = parsed.resources.map(({ source: _source, unknown_paths: _paths, ...resource }, i) => ({
    id: null,
    ...resource,
    unknown_paths: unknownAttributesOf(parsed.resources[i]!),
    account_id: 'acc_1',
  }));
  const addressOf = new Map(resources.map((r, i) => [r, parsed.resources[i]!.source]));
  const outcomes: Record<string, Record<string, RuleOutcome>> = {};
  for (const { rule, resource, outcome } of evaluateInventory(catalogue, resources, NOW)) (outcomes[addressOf.get(resource)!] ??= {})[rule.rule.id] = outcome;
  return { native_ids: Object.fromEntries(parsed.resources.map((r) => [r.source, r.native_id])), outcomes };
}

const openSsh = { type: 'ingress', protocol: 'tcp', from_port: 22, to_port: 22, cidr_blocks: ['0.0.0.0/0'] };

describe('detection on plans of our own (issue 15, must show 2)', () => {
  it('1. reads a legacy format_version 0.1 plan (Terraform 0.12) and judges it', () => {
    const { outcomes } = audit(plan([{ address: 'aws_s3_bucket.b', values: { bucket: 'acme-public', acl: 'public-read' } }], '0.1'));
    expect(outcomes['aws_s3_bucket.b']?.['aws.s3.bucket_public_read']).toMatchObject({ outcome: 'fail' });
  });

  it('2. imports a resource without values, identified by its address, and judges nothing it does not know', () => {
    const document = plan([{ address: 'aws_sqs_queue_policy.q', after_unknown: { id: true, policy: true, queue_url: true } }]);
    const { native_ids, outcomes } = audit(document);
    expect(native_ids).toEqual({ 'aws_sqs_queue_policy.q': 'aws_sqs_queue_policy.q' });
    expect(outcomes['aws_sqs_queue_policy.q']?.['aws.sqs.queue_policy_public']).toEqual({ outcome: 'unknown', unknown_paths: ['policy'] });
  });

  it('3. identifies a resource without an id by its address, and judges it', () => {
    const { native_ids, outcomes } = audit(state([{ address: 'aws_ebs_volume.data', values: { availability_zone: 'eu-west-1a', size: 100, encrypted: false } }]));
    expect(native_ids).toEqual({ 'aws_ebs_volume.data': 'aws_ebs_volume.data' });
    expect(outcomes['aws_ebs_volume.data']?.['aws.ec2.ebs_volume_unencrypted']).toMatchObject({ outcome: 'fail' });
  });

  it('4. keeps two resources sharing a native id apart, each configuring the bucket it names', () => {
    const publicPolicy = JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::acme-logs/*' }] });
    const { native_ids, outcomes } = audit(
      state([
        { address: 'aws_s3_bucket.logs', values: { id: 'acme-logs', bucket: 'acme-logs', arn: 'arn:aws:s3:::acme-logs' } },
        { address: 'aws_s3_bucket_policy.logs', values: { id: 'acme-logs', bucket: 'acme-logs', policy: publicPolicy } },
        { address: 'aws_s3_bucket_logging.logs', values: { id: 'acme-logs', bucket: 'acme-logs', target_bucket: 'acme-audit', target_prefix: 's3/' } },
      ]),
    );
    expect(native_ids['aws_s3_bucket_policy.logs']).toBe('acme-logs');
    expect(native_ids['aws_s3_bucket_logging.logs']).toBe('acme-logs');
    // The policy makes the bucket public; the logging resource gives it access logs.
    expect(outcomes['aws_s3_bucket.logs']?.['aws.s3.bucket_policy_public']).toMatchObject({ outcome: 'fail' });
    expect(outcomes['aws_s3_bucket.logs']?.['aws.s3.access_logging_disabled']).toEqual({ outcome: 'pass' });
  });

  it('5. answers unknown, not a finding, when the value a rule needs is known only after apply', () => {
    const { outcomes } = audit(
      plan([
        { address: 'aws_security_group.sg', values: { name: 'web', ingress: [] }, after_unknown: { id: true } },
        {
          address: 'aws_security_group_rule.ssh',
          values: { type: 'ingress', protocol: 'tcp', from_port: 22, to_port: 22 },
          after_unknown: { cidr_blocks: true, security_group_id: true },
          expressions: { cidr_blocks: { references: ['aws_vpc.main.cidr_block', 'aws_vpc.main'] }, security_group_id: { references: ['aws_security_group.sg.id', 'aws_security_group.sg'] } },
        },
      ]),
    );
    expect(outcomes['aws_security_group.sg']?.['aws.ec2.security_group_ssh_open']).toMatchObject({ outcome: 'unknown', unknown_paths: [expect.stringContaining('cidr_blocks')] });
    expect(outcomes['aws_security_group_rule.ssh']?.['aws.ec2.security_group_ssh_open']).toEqual({ outcome: 'pass' });
  });

  it('6. takes a bucket as versioned when a separate aws_s3_bucket_versioning enables it', () => {
    const bucket = { address: 'aws_s3_bucket.b', values: { bucket: 'acme-data' }, after_unknown: { id: true, arn: true, versioning: true }, expressions: { bucket: { constant_value: 'acme-data' } } };
    const versioning = {
      address: 'aws_s3_bucket_versioning.b',
      values: { versioning_configuration: [{ status: 'Enabled' }] },
      after_unknown: { id: true, bucket: true },
      expressions: { bucket: { references: ['aws_s3_bucket.b.id', 'aws_s3_bucket.b'] }, versioning_configuration: [{ status: { constant_value: 'Enabled' } }] },
    };
    expect(audit(plan([bucket, versioning])).outcomes['aws_s3_bucket.b']?.['aws.s3.versioning_disabled']).toEqual({ outcome: 'pass' });
    expect(audit(plan([bucket])).outcomes['aws_s3_bucket.b']?.['aws.s3.versioning_disabled']).toMatchObject({ outcome: 'fail' });
  });

  it('7. finds port 22 open to the world through a standalone rule resource, on the group it opens', () => {
    const { outcomes } = audit(
      plan([
        { address: 'aws_security_group.sg', values: { name: 'web', ingress: [] }, after_unknown: { id: true } },
        {
          address: 'aws_vpc_security_group_ingress_rule.ssh',
          values: { ip_protocol: 'tcp', from_port: 22, to_port: 22, cidr_ipv4: '0.0.0.0/0' },
          after_unknown: { id: true, security_group_id: true },
          expressions: { security_group_id: { references: ['aws_security_group.sg.id', 'aws_security_group.sg'] } },
        },
        { address: 'aws_security_group_rule.legacy', values: { ...openSsh, from_port: 3389, to_port: 3389, security_group_id: 'sg-0outside' } },
      ]),
    );
    expect(outcomes['aws_security_group.sg']?.['aws.ec2.security_group_ssh_open']).toMatchObject({ outcome: 'fail' });
    // The rule resource linked to its group leaves the finding to the group.
    expect(outcomes['aws_vpc_security_group_ingress_rule.ssh']?.['aws.ec2.security_group_ssh_open']).toEqual({ outcome: 'pass' });
    // One whose group is outside the file is judged on its own.
    expect(outcomes['aws_security_group_rule.legacy']?.['aws.ec2.security_group_rdp_open']).toMatchObject({ outcome: 'fail' });
  });

  it('8. lets an account-level default (IMDSv2 required) decide for an instance that leaves the setting to the provider', () => {
    const instance = { address: 'aws_instance.web', values: { ami: 'ami-0abc', instance_type: 't3.micro' }, after_unknown: { id: true, metadata_options: true }, expressions: { ami: { constant_value: 'ami-0abc' }, instance_type: { constant_value: 't3.micro' } } };
    const defaults = { address: 'aws_ec2_instance_metadata_defaults.this', values: { http_tokens: 'required', http_endpoint: 'enabled' } };
    expect(audit(plan([instance, defaults])).outcomes['aws_instance.web']?.['aws.ec2.instance_imdsv1_allowed']).toEqual({ outcome: 'pass' });
    expect(audit(plan([instance])).outcomes['aws_instance.web']?.['aws.ec2.instance_imdsv1_allowed']).toMatchObject({ outcome: 'fail' });
    // An instance that sets http_tokens itself keeps its own setting.
    const optional = { ...instance, values: { ...instance.values, metadata_options: [{ http_endpoint: 'enabled', http_tokens: 'optional' }] }, after_unknown: { id: true } };
    expect(audit(plan([optional, defaults])).outcomes['aws_instance.web']?.['aws.ec2.instance_imdsv1_allowed']).toMatchObject({ outcome: 'fail' });
  });
});
