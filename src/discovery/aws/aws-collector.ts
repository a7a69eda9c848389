import type { CanonicalResource } from '../../imports/canonical-resource';
import {
  CollectorError,
  type AwsCredentials,
  type CollectorContext,
  type CollectorFailure,
  type CollectorResult,
  type CompleteCoverage,
  type PermissionCheck,
} from '../collector';
import { actionOf, AWS_CALLS, type AwsCall } from './aws-calls';
import { CONFIG_PAGE_LIMIT, ConfigChanges, changedKeys, changesQuery, EVERYTHING, inScope, listed, modifiedSince, recordedTypes, recordingSince, type ReadScope, type RegionChanges } from './aws-changes';

/* eslint-disable @typescript-eslint/no-explicit-any -- the SDK's outputs are read field by field into Terraform's shapes */
type Output = any;

interface SdkClient {
  send(command: unknown, options?: { abortSignal?: AbortSignal }): Promise<Output>;
  destroy(): void;
}
type Static = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'ThrottledException', 'TooManyRequestsException', 'RequestLimitExceeded', 'SlowDown', 'RequestThrottled']);
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError', 'UnauthorizedAccess', 'Forbidden']);
const BAD_CREDENTIALS = new Set(['InvalidClientTokenId', 'SignatureDoesNotMatch', 'ExpiredToken', 'UnrecognizedClientException', 'InvalidAccessKeyId', 'AuthFailure', 'IncompleteSignature']);
/** An item deleted between its listing and its description: skipped, not a failure. */
const GONE = new Set(['NotFoundException', 'NoSuchEntity', 'NoSuchBucket', 'ResourceNotFoundException', 'DBInstanceNotFound', 'InvalidGroup.NotFound']);
/** Items (buckets, keys, certificates, …) one unit describes at once; units themselves run `ctx.concurrency` at once. */
const ITEM_CONCURRENCY = 4;
/** Extra attempts after the SDK's own (standard mode, adaptive rate) for throttling that outlasts them. */
const THROTTLE_RETRIES = 3;

/** A (service, region) the scan reads: the resource types it reads completely when it succeeds. */
interface Unit {
  service: string;
  region: string | null;
  types: string[];
  read(session: Session, region: string, scope: ReadScope): Promise<CanonicalResource[]>;
}

/** The clients of one scan, and the calls it makes through them (counted, retried when throttled, failing with the missing permission). */
class Session {
  requests = 0;
  readonly #clients = new Map<string, SdkClient>();

  constructor(
    readonly accountId: string,
    readonly credentials: Static | undefined,
    readonly ctx: Pick<CollectorContext, 'signal' | 'endpoints'>,
  ) {}

  async client(service: string, region: string): Promise<SdkClient> {
    const key = `${service}\u0000${region}`;
    let client = this.#clients.get(key);
    if (!client) {
      client = await makeClient(service, {
        region,
        ...(this.credentials ? { credentials: this.credentials } : {}),
        ...(this.ctx.endpoints.aws ? { endpoint: this.ctx.endpoints.aws } : {}),
        ...(service === 's3' ? { forcePathStyle: this.ctx.endpoints.aws !== undefined } : {}),
        retryMode: 'adaptive',
        maxAttempts: 3,
      });
      this.#clients.set(key, client);
    }
    return client;
  }

  /** Calls `permission`'s API in `region`; answers undefined when the cloud says the item is gone (or one of `absent` says it has none). */
  async call(call: AwsCall, region: string, input: object, absent: string[] = []): Promise<Output> {
    const { service, command } = AWS_CALLS[call];
    const client = await this.client(service === 'sts' ? 'sts' : service, region);
    const Command = await commandClass(service, command);
    for (let attempt = 0; ; attempt++) {
      this.ctx.signal.throwIfAborted();
      this.requests++;
      try {
        return await client.send(new Command(input), { abortSignal: this.ctx.signal });
      } catch (error) {
        const name = errorName(error);
        if (absent.includes(name) || GONE.has(name)) return undefined;
        if (THROTTLING.has(name) && attempt < THROTTLE_RETRIES) {
          await delay(Math.min(2000, 100 * 2 ** attempt), this.ctx.signal);
          continue;
        }
        if (BAD_CREDENTIALS.has(name)) throw new CollectorError('invalid_credentials', `AWS refused the credentials (${name}).`);
        throw new CallFailure(name, messageOf(error), DENIED.has(name) ? actionOf(call) : null);
      }
    }
  }

  /** Every page of a listing: `next` names the request's token field and the answer's. */
  async pages(call: AwsCall, region: string, input: object, tokens: { in: string; out: string }): Promise<Output[]> {
    const pages: Output[] = [];
    let token: string | undefined;
    do {
      const page = await this.call(call, region, token === undefined ? input : { ...input, [tokens.in]: token });
      if (page === undefined) break;
      pages.push(page);
      token = page[tokens.out] || undefined;
    } while (token !== undefined);
    return pages;
  }

  close(): void {
    for (const client of this.#clients.values()) client.destroy();
  }
}

class CallFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly permission: string | null,
  ) {
    super(message);
  }
}

/**
 * Reads the account: every unit of every region, `ctx.concurrency` at a time. An incremental
 * read describes only what AWS Config says changed since `ctx.changedSince` where Config records
 * it (see aws-changes.ts), and everything else as a full read does.
 */
export async function collectAws(credentials: AwsCredentials, ctx: CollectorContext): Promise<CollectorResult> {
  const session = await openSession(credentials, ctx);
  try {
    const regions = credentials.regions ?? (await enabledRegions(session));
    const incremental = ctx.mode === 'incremental' && ctx.changedSince !== null;
    const scope = incremental ? await configChanges(session, regions, ctx.changedSince as Date, ctx) : EVERYTHING;
    const units = [...GLOBAL_UNITS, ...regions.flatMap((region) => REGIONAL_UNITS.map((unit) => ({ ...unit, region })))];
    const resources: CanonicalResource[] = [];
    const failures: CollectorFailure[] = [];
    const complete: CompleteCoverage[] = [];
    await eachLimited(units, ctx.concurrency, async (unit) => {
      ctx.progress({ service: unit.service, region: unit.region, status: 'running', resources: 0 });
      try {
        const read = await unit.read(session, unit.region ?? HOME_REGION, scope);
        resources.push(...read);
        // Only a full scan may say what it saw completely: an incremental one never marks anything gone.
        if (!incremental) complete.push({ types: unit.types, region: unit.region });
        ctx.progress({ service: unit.service, region: unit.region, status: 'succeeded', resources: read.length });
      } catch (error) {
        if (!(error instanceof CallFailure)) throw error;
        failures.push({ service: unit.service, region: unit.region, code: error.code, message: error.message, missing_permission: error.permission });
        ctx.progress({ service: unit.service, region: unit.region, status: 'failed', resources: 0 });
      }
    });
    return { resources, failures, complete, requests: session.requests };
  } finally {
    session.close();
  }
}

/**
 * Asks each region's AWS Config what changed since `since`: regions where Config has not
 * recorded all along, or may not be read, are left out (read without it); an incremental scan
 * never fails for want of Config.
 */
async function configChanges(session: Session, regions: string[], since: Date, ctx: CollectorContext): Promise<ReadScope> {
  const answered: RegionChanges[] = [];
  await eachLimited(regions, ctx.concurrency, async (region) => {
    try {
      const statuses = ((await session.call('config:DescribeConfigurationRecorderStatus', region, {}))?.ConfigurationRecordersStatus ?? []) as Output[];
      const recordingNames = new Set(statuses.filter((status) => recordingSince(status, since)).map((status) => status.name as string));
      if (recordingNames.size === 0) return;
      const recorders = ((await session.call('config:DescribeConfigurationRecorders', region, {}))?.ConfigurationRecorders ?? []) as Output[];
      const recorded = new Set(recorders.filter((r) => recordingNames.has(r.name)).flatMap((r) => [...recordedTypes(r.recordingGroup)]));
      if (recorded.size === 0) return;
      const pages = await session.pages('config:SelectResourceConfig', region, { Expression: changesQuery(since, recorded), Limit: CONFIG_PAGE_LIMIT }, { in: 'NextToken', out: 'NextToken' });
      const results = pages.flatMap((page) => (page.Results ?? []) as string[]);
      answered.push({ region, recorded, changed: changedKeys(results) });
      ctx.progress({ service: 'config', region, status: 'succeeded', resources: results.length });
    } catch (error) {
      if (!(error instanceof CallFailure)) throw error;
    }
  });
  return answered.length > 0 ? new ConfigChanges(answered, since) : modifiedSince(since);
}

/** One cheap call per permission a scan needs, in the first region; the exact missing permission where one fails. */
export async function verifyAws(credentials: AwsCredentials, ctx: CollectorContext): Promise<PermissionCheck[]> {
  const session = await openSession(credentials, ctx);
  const region = credentials.regions?.[0] ?? HOME_REGION;
  const checks: PermissionCheck[] = [];
  const tries: [AwsCall, object][] = [
    ['ec2:DescribeRegions', {}],
    ['s3:ListAllMyBuckets', {}],
    ['ec2:DescribeSecurityGroups', { MaxResults: 5 }],
    ['ec2:DescribeInstances', { MaxResults: 5 }],
    ['ec2:DescribeVolumes', { MaxResults: 5 }],
    ['ec2:DescribeVpcs', {}],
    ['ec2:DescribeFlowLogs', {}],
    ['iam:ListUsers', { MaxItems: 1 }],
    ['iam:ListRoles', { MaxItems: 1 }],
    ['iam:ListPolicies', { Scope: 'Local', MaxItems: 1 }],
    ['kms:ListKeys', { Limit: 1 }],
    ['cloudtrail:DescribeTrails', {}],
    ['secretsmanager:ListSecrets', { MaxResults: 1 }],
    ['acm:ListCertificates', { MaxItems: 1 }],
    ['rds:DescribeDBInstances', { MaxRecords: 20 }],
    ['lambda:ListFunctions', { MaxItems: 1 }],
    ['dynamodb:ListTables', { Limit: 1 }],
    ['logs:DescribeLogGroups', { limit: 1 }],
    ['elasticloadbalancing:DescribeLoadBalancers', { PageSize: 1 }],
    ['iam:GenerateCredentialReport', {}],
    ['config:DescribeConfigurationRecorderStatus', {}],
    ['config:DescribeConfigurationRecorders', {}],
    ['config:SelectResourceConfig', { Expression: "SELECT resourceId WHERE resourceType = 'AWS::S3::Bucket'", Limit: 1 }],
  ];
  try {
    for (const [call, input] of tries) {
      const { service } = AWS_CALLS[call];
      try {
        await session.call(call, service === 'iam' || call === 's3:ListAllMyBuckets' ? HOME_REGION : region, input);
        checks.push({ permission: actionOf(call), service, ok: true, error: null });
      } catch (error) {
        if (!(error instanceof CallFailure)) throw error;
        checks.push({ permission: error.permission ?? actionOf(call), service, ok: false, error: `${error.code}: ${error.message}` });
      }
    }
  } finally {
    session.close();
  }
  return checks;
}

const HOME_REGION = 'us-east-1';

/** Credentials for the scan: the access key as given, or the role assumed (with the organization's external id) from the server's own identity. */
async function openSession(credentials: AwsCredentials, ctx: CollectorContext): Promise<Session> {
  let base: Static | undefined;
  if (credentials.access_key_id !== undefined && credentials.secret_access_key !== undefined) {
    base = { accessKeyId: credentials.access_key_id, secretAccessKey: credentials.secret_access_key };
  }
  if (credentials.role_arn !== undefined) {
    const sts = new Session(credentials.account_id, base, ctx);
    try {
      const client = await sts.client('sts', HOME_REGION);
      const { AssumeRoleCommand } = await import('@aws-sdk/client-sts');
      sts.requests++;
      const assumed = await client.send(new AssumeRoleCommand({ RoleArn: credentials.role_arn, ExternalId: credentials.external_id, RoleSessionName: 'fourfold-discovery', DurationSeconds: 3600 }), {
        abortSignal: ctx.signal,
      });
      const c = assumed.Credentials;
      base = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
    } catch (error) {
      if (error instanceof CollectorError) throw error;
      const name = errorName(error);
      if (DENIED.has(name)) throw new CollectorError('access_denied', `fourfold's identity may not assume ${credentials.role_arn} with this organization's external id (${name}).`);
      throw unreachable(error);
    } finally {
      sts.close();
    }
  }
  const session = new Session(credentials.account_id, base, ctx);
  try {
    const identity = await session.call('sts:GetCallerIdentity', HOME_REGION, {});
    if (identity?.Account && identity.Account !== credentials.account_id) {
      throw new CollectorError('access_denied', `The credentials belong to AWS account ${identity.Account}, not ${credentials.account_id}.`);
    }
  } catch (error) {
    session.close();
    if (error instanceof CollectorError) throw error;
    if (error instanceof CallFailure) throw new CollectorError('access_denied', `AWS refused sts:GetCallerIdentity (${error.code}).`);
    throw unreachable(error);
  }
  return session;
}

function unreachable(error: unknown): CollectorError {
  const name = errorName(error);
  if (name === 'AbortError') return new CollectorError('cloud_unreachable', 'The scan was stopped.');
  return new CollectorError('cloud_unreachable', `AWS could not be reached (${name}).`);
}

async function enabledRegions(session: Session): Promise<string[]> {
  try {
    const answer = await session.call('ec2:DescribeRegions', HOME_REGION, { AllRegions: false });
    return ((answer?.Regions ?? []) as Output[]).map((r) => r.RegionName as string).sort();
  } catch (error) {
    if (error instanceof CallFailure) throw new CollectorError('access_denied', `The enabled regions could not be listed (${error.code}); give the connection its regions, or allow ec2:DescribeRegions.`);
    throw error;
  }
}

// ---- what is read, as Terraform's AWS provider names it ----

const GLOBAL_UNITS: Unit[] = [
  { service: 's3', region: null, types: S3_TYPES(), read: readS3 },
  { service: 'iam', region: null, types: ['aws_iam_user', 'aws_iam_access_key', 'aws_iam_role', 'aws_iam_policy', 'aws_iam_account_password_policy'], read: readIam },
];

const REGIONAL_UNITS: Omit<Unit, 'region'>[] = [
  { service: 'ec2', types: ['aws_security_group', 'aws_instance', 'aws_ebs_volume', 'aws_ebs_snapshot', 'aws_vpc', 'aws_flow_log', 'aws_ebs_encryption_by_default'], read: readEc2 },
  { service: 'kms', types: ['aws_kms_key'], read: readKms },
  { service: 'cloudtrail', types: ['aws_cloudtrail'], read: readCloudTrail },
  { service: 'secretsmanager', types: ['aws_secretsmanager_secret'], read: readSecrets },
  { service: 'acm', types: ['aws_acm_certificate'], read: readAcm },
  { service: 'rds', types: ['aws_db_instance'], read: readRds },
  { service: 'lambda', types: ['aws_lambda_function'], read: readLambda },
  { service: 'dynamodb', types: ['aws_dynamodb_table'], read: readDynamo },
  { service: 'logs', types: ['aws_cloudwatch_log_group'], read: readLogGroups },
  { service: 'elbv2', types: ['aws_lb'], read: readLoadBalancers },
  { service: 'elb', types: ['aws_elb'], read: readClassicLoadBalancers },
];

function S3_TYPES(): string[] {
  return [
    'aws_s3_bucket',
    'aws_s3_bucket_server_side_encryption_configuration',
    'aws_s3_bucket_versioning',
    'aws_s3_bucket_public_access_block',
    'aws_s3_bucket_policy',
    'aws_s3_bucket_acl',
    'aws_s3_bucket_logging',
  ];
}

function resource(type: string, nativeId: string, region: string | null, attributes: Record<string, unknown>, extra: Partial<CanonicalResource> = {}): CanonicalResource {
  const tags = (attributes.tags as Record<string, string> | undefined) ?? {};
  return {
    type,
    native_id: nativeId,
    provider: 'aws',
    region,
    name: (typeof attributes.name === 'string' ? attributes.name : null) ?? tags.Name ?? (typeof attributes.bucket === 'string' ? attributes.bucket : null),
    tags,
    attributes,
    relationships: [],
    unknown_paths: [],
    source: `aws:${type}:${nativeId}`,
    ...extra,
  };
}

function attachedTo(nativeId: string, types: string[]) {
  return [{ type: 'attached_to' as const, resource_native_id: nativeId, resource_types: types }];
}

function tagsOf(list: Output[] | undefined): Record<string, string> {
  return Object.fromEntries((list ?? []).map((t) => [t.Key ?? t.key, t.Value ?? t.value ?? '']));
}

function iso(value: unknown): string | null {
  return value instanceof Date ? value.toISOString() : typeof value === 'string' ? value : null;
}

async function readS3(session: Session, _region: string, scope: ReadScope): Promise<CanonicalResource[]> {
  const pages = await session.pages('s3:ListAllMyBuckets', HOME_REGION, { MaxBuckets: 1000 }, { in: 'ContinuationToken', out: 'ContinuationToken' });
  const buckets = pages.flatMap((page) => (page.Buckets ?? []) as Output[]);
  const out: CanonicalResource[] = [];
  await eachLimited(buckets, ITEM_CONCURRENCY, async (bucket) => {
    const name = bucket.Name as string;
    const region = (bucket.BucketRegion as string | undefined) ?? (await bucketRegion(session, name));
    if (region === undefined) return; // deleted since the listing
    const arn = `arn:aws:s3:::${name}`;
    if (!inScope(scope, 'aws_s3_bucket', region, [name, arn])) return;
    const b = { Bucket: name };
    const [tagging, encryption, versioning, block, policy, acl, logging] = [
      await session.call('s3:GetBucketTagging', region, b, ['NoSuchTagSet']),
      await session.call('s3:GetEncryptionConfiguration', region, b, ['ServerSideEncryptionConfigurationNotFoundError']),
      await session.call('s3:GetBucketVersioning', region, b),
      await session.call('s3:GetBucketPublicAccessBlock', region, b, ['NoSuchPublicAccessBlockConfiguration']),
      await session.call('s3:GetBucketPolicy', region, b, ['NoSuchBucketPolicy']),
      await session.call('s3:GetBucketAcl', region, b),
      await session.call('s3:GetBucketLogging', region, b),
    ];
    const part = (type: string, attributes: Record<string, unknown>) =>
      out.push(resource(type, name, region, { id: name, bucket: name, ...attributes }, { relationships: attachedTo(arn, ['aws_s3_bucket']), name }));
    out.push(resource('aws_s3_bucket', arn, region, { id: name, arn, bucket: name, region, tags: tagsOf(tagging?.TagSet), creation_date: iso(bucket.CreationDate) }));
    const rules = (encryption?.ServerSideEncryptionConfiguration?.Rules ?? []) as Output[];
    if (rules.length > 0) {
      part('aws_s3_bucket_server_side_encryption_configuration', {
        rule: rules.map((r) => ({
          apply_server_side_encryption_by_default: r.ApplyServerSideEncryptionByDefault
            ? [{ sse_algorithm: r.ApplyServerSideEncryptionByDefault.SSEAlgorithm, kms_master_key_id: r.ApplyServerSideEncryptionByDefault.KMSMasterKeyID ?? '' }]
            : [],
          bucket_key_enabled: r.BucketKeyEnabled ?? false,
        })),
      });
    }
    if (versioning?.Status) part('aws_s3_bucket_versioning', { versioning_configuration: [{ status: versioning.Status, mfa_delete: versioning.MFADelete ?? 'Disabled' }] });
    const pab = block?.PublicAccessBlockConfiguration;
    if (pab) {
      part('aws_s3_bucket_public_access_block', {
        block_public_acls: pab.BlockPublicAcls ?? false,
        block_public_policy: pab.BlockPublicPolicy ?? false,
        ignore_public_acls: pab.IgnorePublicAcls ?? false,
        restrict_public_buckets: pab.RestrictPublicBuckets ?? false,
      });
    }
    if (policy?.Policy) part('aws_s3_bucket_policy', { policy: policy.Policy });
    if (acl) {
      part('aws_s3_bucket_acl', {
        access_control_policy: [
          {
            owner: [{ id: acl.Owner?.ID ?? '', display_name: acl.Owner?.DisplayName ?? '' }],
            grant: ((acl.Grants ?? []) as Output[]).map((g) => ({
              permission: g.Permission,
              grantee: [{ type: g.Grantee?.Type, uri: g.Grantee?.URI ?? '', id: g.Grantee?.ID ?? '', email_address: g.Grantee?.EmailAddress ?? '' }],
            })),
          },
        ],
      });
    }
    if (logging?.LoggingEnabled) part('aws_s3_bucket_logging', { target_bucket: logging.LoggingEnabled.TargetBucket, target_prefix: logging.LoggingEnabled.TargetPrefix ?? '' });
  });
  return out;
}

/** ListBuckets answers each bucket's region nowadays; GetBucketLocation where it does not. */
async function bucketRegion(session: Session, name: string): Promise<string | undefined> {
  const location = await session.call('s3:GetBucketLocation', HOME_REGION, { Bucket: name });
  if (location === undefined) return undefined;
  return !location.LocationConstraint ? 'us-east-1' : location.LocationConstraint === 'EU' ? 'eu-west-1' : (location.LocationConstraint as string);
}

/**
 * EC2 describes by filter: with Config naming the changed items, the call asks for them alone
 * (a filter, unlike an id list, does not fail for an item deleted since).
 */
function ec2Filter(scope: ReadScope, type: string, region: string, name: string, idPrefix: string): object {
  const only = scope.only(type, region);
  const ids = only === null ? [] : [...only].filter((key) => key.startsWith(idPrefix)).sort();
  return ids.length === 0 || ids.length > EC2_FILTER_VALUES ? {} : { Filters: [{ Name: name, Values: ids }] };
}
const EC2_FILTER_VALUES = 200;

function ipRules(permissions: Output[] | undefined) {
  return (permissions ?? []).map((p) => ({
    protocol: String(p.IpProtocol),
    from_port: p.FromPort ?? 0,
    to_port: p.ToPort ?? 0,
    cidr_blocks: ((p.IpRanges ?? []) as Output[]).map((r) => r.CidrIp),
    ipv6_cidr_blocks: ((p.Ipv6Ranges ?? []) as Output[]).map((r) => r.CidrIpv6),
    prefix_list_ids: ((p.PrefixListIds ?? []) as Output[]).map((r) => r.PrefixListId),
    security_groups: ((p.UserIdGroupPairs ?? []) as Output[]).map((r) => r.GroupId),
    self: false,
    description: ((p.IpRanges ?? []) as Output[])[0]?.Description ?? '',
  }));
}

async function readEc2(session: Session, region: string, scope: ReadScope): Promise<CanonicalResource[]> {
  const account = session.accountId;
  const arn = (kind: string, id: string) => `arn:aws:ec2:${region}:${account}:${kind}/${id}`;
  const out: CanonicalResource[] = [];
  const next = { in: 'NextToken', out: 'NextToken' };
  const wanted = (type: string, keys: unknown[]) => inScope(scope, type, region, keys);
  const groups = listed(scope, 'aws_security_group', region) ? await session.pages('ec2:DescribeSecurityGroups', region, { MaxResults: 1000, ...ec2Filter(scope, 'aws_security_group', region, 'group-id', 'sg-') }, next) : [];
  for (const page of groups) {
    for (const g of (page.SecurityGroups ?? []) as Output[]) {
      if (!wanted('aws_security_group', [g.GroupId, g.GroupName, arn('security-group', g.GroupId)])) continue;
      out.push(
        resource('aws_security_group', arn('security-group', g.GroupId), region, {
          id: g.GroupId,
          arn: arn('security-group', g.GroupId),
          name: g.GroupName,
          description: g.Description ?? '',
          vpc_id: g.VpcId ?? '',
          owner_id: g.OwnerId ?? account,
          ingress: ipRules(g.IpPermissions),
          egress: ipRules(g.IpPermissionsEgress),
          tags: tagsOf(g.Tags),
        }),
      );
    }
  }
  const instances = listed(scope, 'aws_instance', region) ? await session.pages('ec2:DescribeInstances', region, { MaxResults: 1000, ...ec2Filter(scope, 'aws_instance', region, 'instance-id', 'i-') }, next) : [];
  for (const page of instances) {
    for (const reservation of (page.Reservations ?? []) as Output[]) {
      for (const i of (reservation.Instances ?? []) as Output[]) {
        if (i.State?.Name === 'terminated' || !wanted('aws_instance', [i.InstanceId, arn('instance', i.InstanceId)])) continue;
        const rootName = i.RootDeviceName;
        const root = ((i.BlockDeviceMappings ?? []) as Output[]).find((m) => m.DeviceName === rootName);
        out.push(
          resource('aws_instance', arn('instance', i.InstanceId), region, {
            id: i.InstanceId,
            arn: arn('instance', i.InstanceId),
            ami: i.ImageId,
            instance_type: i.InstanceType,
            availability_zone: i.Placement?.AvailabilityZone ?? '',
            subnet_id: i.SubnetId ?? '',
            vpc_security_group_ids: ((i.SecurityGroups ?? []) as Output[]).map((g) => g.GroupId),
            associate_public_ip_address: Boolean(i.PublicIpAddress),
            public_ip: i.PublicIpAddress ?? '',
            iam_instance_profile: i.IamInstanceProfile?.Arn ?? '',
            ebs_optimized: i.EbsOptimized ?? false,
            monitoring: i.Monitoring?.State === 'enabled',
            metadata_options: [{ http_endpoint: i.MetadataOptions?.HttpEndpoint ?? 'enabled', http_tokens: i.MetadataOptions?.HttpTokens ?? 'optional', http_put_response_hop_limit: i.MetadataOptions?.HttpPutResponseHopLimit ?? 1 }],
            root_block_device: root ? [{ volume_id: root.Ebs?.VolumeId ?? '', delete_on_termination: root.Ebs?.DeleteOnTermination ?? true }] : [],
            instance_state: i.State?.Name ?? '',
            tags: tagsOf(i.Tags),
          }),
        );
      }
    }
  }
  const volumes = listed(scope, 'aws_ebs_volume', region) ? await session.pages('ec2:DescribeVolumes', region, { MaxResults: 1000, ...ec2Filter(scope, 'aws_ebs_volume', region, 'volume-id', 'vol-') }, next) : [];
  for (const page of volumes) {
    for (const v of (page.Volumes ?? []) as Output[]) {
      if (!wanted('aws_ebs_volume', [v.VolumeId, arn('volume', v.VolumeId)])) continue;
      out.push(
        resource('aws_ebs_volume', arn('volume', v.VolumeId), region, {
          id: v.VolumeId,
          arn: arn('volume', v.VolumeId),
          availability_zone: v.AvailabilityZone,
          encrypted: v.Encrypted ?? false,
          kms_key_id: v.KmsKeyId ?? '',
          size: v.Size,
          type: v.VolumeType,
          iops: v.Iops ?? 0,
          attached: ((v.Attachments ?? []) as Output[]).length > 0,
          tags: tagsOf(v.Tags),
        }),
      );
    }
  }
  for (const page of await session.pages('ec2:DescribeSnapshots', region, { OwnerIds: ['self'], MaxResults: 1000 }, next)) {
    for (const s of (page.Snapshots ?? []) as Output[]) {
      out.push(
        resource('aws_ebs_snapshot', `arn:aws:ec2:${region}::snapshot/${s.SnapshotId}`, region, {
          id: s.SnapshotId,
          arn: `arn:aws:ec2:${region}::snapshot/${s.SnapshotId}`,
          volume_id: s.VolumeId ?? '',
          encrypted: s.Encrypted ?? false,
          kms_key_id: s.KmsKeyId ?? '',
          volume_size: s.VolumeSize ?? 0,
          start_time: iso(s.StartTime),
          tags: tagsOf(s.Tags),
        }),
      );
    }
  }
  // Every VPC is listed (a flow log's relationship names its VPC); only those in scope are answered.
  const vpcs = (await session.pages('ec2:DescribeVpcs', region, { MaxResults: 1000 }, next)).flatMap((page) => (page.Vpcs ?? []) as Output[]);
  for (const v of vpcs) {
    if (!wanted('aws_vpc', [v.VpcId, arn('vpc', v.VpcId)])) continue;
    out.push(resource('aws_vpc', arn('vpc', v.VpcId), region, { id: v.VpcId, arn: arn('vpc', v.VpcId), cidr_block: v.CidrBlock, is_default: v.IsDefault ?? false, tags: tagsOf(v.Tags) }));
  }
  for (const page of await session.pages('ec2:DescribeFlowLogs', region, { MaxResults: 1000 }, next)) {
    for (const f of (page.FlowLogs ?? []) as Output[]) {
      const target = f.ResourceId as string;
      const vpc = vpcs.find((v) => v.VpcId === target);
      out.push(
        resource(
          'aws_flow_log',
          arn('vpc-flow-log', f.FlowLogId),
          region,
          {
            id: f.FlowLogId,
            arn: arn('vpc-flow-log', f.FlowLogId),
            vpc_id: target.startsWith('vpc-') ? target : '',
            traffic_type: f.TrafficType ?? 'ALL',
            log_destination: f.LogDestination ?? f.LogGroupName ?? '',
            log_destination_type: f.LogDestinationType ?? 'cloud-watch-logs',
            tags: tagsOf(f.Tags),
          },
          vpc ? { relationships: attachedTo(arn('vpc', vpc.VpcId), ['aws_vpc']) } : {},
        ),
      );
    }
  }
  const ebsDefault = await session.call('ec2:GetEbsEncryptionByDefault', region, {});
  if (ebsDefault) {
    const id = `arn:aws:ec2:${region}:${account}:ebs-encryption-by-default`;
    out.push(resource('aws_ebs_encryption_by_default', id, region, { id: region, enabled: ebsDefault.EbsEncryptionByDefault ?? false }));
  }
  return out;
}

async function readIam(session: Session, _region: string, scope: ReadScope): Promise<CanonicalResource[]> {
  const out: CanonicalResource[] = [];
  const marker = { in: 'Marker', out: 'Marker' };
  const users = (await session.pages('iam:ListUsers', HOME_REGION, {}, marker)).flatMap((page) => (page.Users ?? []) as Output[]);
  const report = await credentialReport(session);
  await eachLimited(users, ITEM_CONCURRENCY, async (u) => {
    const row = report?.get(u.Arn);
    // MFA and console password exist only in the credential report: without one they are unknown, not false.
    const reported = row === undefined ? {} : { password_enabled: row.password_enabled === 'true', mfa_active: row.mfa_active === 'true', password_last_changed: reportDate(row.password_last_changed) };
    out.push(
      resource(
        'aws_iam_user',
        u.Arn,
        null,
        { id: u.UserName, arn: u.Arn, name: u.UserName, path: u.Path ?? '/', unique_id: u.UserId, create_date: iso(u.CreateDate), password_last_used: iso(u.PasswordLastUsed), ...reported, tags: tagsOf(u.Tags) },
        row === undefined ? { unknown_paths: [['password_enabled'], ['mfa_active']] } : {},
      ),
    );
    for (const page of await session.pages('iam:ListAccessKeys', HOME_REGION, { UserName: u.UserName }, marker)) {
      for (const k of (page.AccessKeyMetadata ?? []) as Output[]) {
        out.push(resource('aws_iam_access_key', k.AccessKeyId, null, { id: k.AccessKeyId, user: u.UserName, status: k.Status, create_date: iso(k.CreateDate) }, { relationships: attachedTo(u.Arn, ['aws_iam_user']), name: u.UserName }));
      }
    }
  });
  // Users, their access keys, the credential report and the password policy are read every time: Config records none of what the rules judge of them.
  for (const page of listed(scope, 'aws_iam_role', null) ? await session.pages('iam:ListRoles', HOME_REGION, {}, marker) : []) {
    for (const r of (page.Roles ?? []) as Output[]) {
      if (!inScope(scope, 'aws_iam_role', null, [r.Arn, r.RoleName, r.RoleId])) continue;
      out.push(
        resource('aws_iam_role', r.Arn, null, {
          id: r.RoleName,
          arn: r.Arn,
          name: r.RoleName,
          path: r.Path ?? '/',
          assume_role_policy: r.AssumeRolePolicyDocument ? decodeURIComponent(r.AssumeRolePolicyDocument) : '',
          max_session_duration: r.MaxSessionDuration ?? 3600,
          create_date: iso(r.CreateDate),
          tags: tagsOf(r.Tags),
        }),
      );
    }
  }
  const policiesModifiedAfter = scope.modifiedAfter('aws_iam_policy', null);
  for (const page of listed(scope, 'aws_iam_policy', null) ? await session.pages('iam:ListPolicies', HOME_REGION, { Scope: 'Local' }, marker) : []) {
    for (const p of (page.Policies ?? []) as Output[]) {
      if (!inScope(scope, 'aws_iam_policy', null, [p.Arn, p.PolicyName, p.PolicyId])) continue;
      // UpdateDate moves with every new version: an older policy's document is as the last scan read it.
      if (policiesModifiedAfter !== null && p.UpdateDate instanceof Date && p.UpdateDate <= policiesModifiedAfter) continue;
      const version = await session.call('iam:GetPolicyVersion', HOME_REGION, { PolicyArn: p.Arn, VersionId: p.DefaultVersionId });
      if (version === undefined) continue; // deleted since the listing
      const document = version.PolicyVersion?.Document ? decodeURIComponent(version.PolicyVersion.Document) : '';
      out.push(resource('aws_iam_policy', p.Arn, null, { id: p.Arn, arn: p.Arn, name: p.PolicyName, path: p.Path ?? '/', policy: document, attachment_count: p.AttachmentCount ?? 0, tags: tagsOf(p.Tags) }));
    }
  }
  out.push(...rootAccessKeys(session.accountId, report));
  const passwordPolicy = await session.call('iam:GetAccountPasswordPolicy', HOME_REGION, {});
  const pp = passwordPolicy?.PasswordPolicy;
  if (pp) {
    out.push(
      resource('aws_iam_account_password_policy', 'iam-account-password-policy', null, {
        id: 'iam-account-password-policy',
        minimum_password_length: pp.MinimumPasswordLength ?? 6,
        require_symbols: pp.RequireSymbols ?? false,
        require_numbers: pp.RequireNumbers ?? false,
        require_uppercase_characters: pp.RequireUppercaseCharacters ?? false,
        require_lowercase_characters: pp.RequireLowercaseCharacters ?? false,
        allow_users_to_change_password: pp.AllowUsersToChangePassword ?? false,
        max_password_age: pp.MaxPasswordAge ?? 0,
        password_reuse_prevention: pp.PasswordReusePrevention ?? 0,
        hard_expiry: pp.HardExpiry ?? false,
      }),
    );
  }
  return out;
}

type ReportRow = Record<string, string>;
const REPORT_WAIT_MS = 2000;
const REPORT_WAITS = 15;

/**
 * The IAM credential report by user ARN (the root user's row under `arn:aws:iam::<account>:root`):
 * asked for, waited for while AWS builds it (it answers the last one for four hours), then read.
 * Undefined when AWS answers none.
 */
async function credentialReport(session: Session): Promise<Map<string, ReportRow> | undefined> {
  for (let wait = 0; ; wait++) {
    const generated = await session.call('iam:GenerateCredentialReport', HOME_REGION, {});
    if (generated === undefined) return undefined;
    if (generated.State === 'COMPLETE') break;
    if (wait >= REPORT_WAITS) throw new CallFailure('ReportInProgress', `The IAM credential report was not ready after ${(REPORT_WAITS * REPORT_WAIT_MS) / 1000} s.`, null);
    await delay(REPORT_WAIT_MS, session.ctx.signal);
  }
  const answer = await session.call('iam:GetCredentialReport', HOME_REGION, {});
  if (answer?.Content === undefined) return undefined;
  const rows = parseCredentialReport(Buffer.from(answer.Content as Uint8Array).toString('utf8'));
  return new Map(rows.map((row) => [row.arn ?? '', row]));
}

/**
 * The report's CSV. IAM user names may hold commas and AWS does not quote them; a name is both
 * the first column and the end of the second (the ARN), so a row with 2k fields too many gives
 * k + 1 fields to each.
 */
export function parseCredentialReport(csv: string): ReportRow[] {
  const [header, ...lines] = csv.split(/\r?\n/).filter((line) => line.length > 0);
  const columns = (header ?? '').split(',');
  return lines.map((line) => {
    const fields = line.split(',');
    const extra = (fields.length - columns.length) / 2;
    if (extra > 0 && Number.isInteger(extra)) fields.splice(0, 2 * extra + 2, fields.slice(0, extra + 1).join(','), fields.slice(extra + 1, 2 * extra + 2).join(','));
    return Object.fromEntries(columns.map((column, i) => [column, fields[i] ?? '']));
  });
}

/** The report writes N/A or not_supported where a date does not apply. */
function reportDate(value: string | undefined): string | null {
  return value !== undefined && !Number.isNaN(Date.parse(value)) ? new Date(value).toISOString() : null;
}

/** The root user's access keys, which only the credential report shows, as the keys `aws.iam.root_access_key` judges. */
function rootAccessKeys(accountId: string, report: Map<string, ReportRow> | undefined): CanonicalResource[] {
  const arn = `arn:aws:iam::${accountId}:root`;
  const row = report?.get(arn);
  if (row === undefined) return [];
  return [1, 2]
    .filter((n) => row[`access_key_${n}_active`] === 'true')
    .map((n) =>
      resource('aws_iam_access_key', `${arn}/access_key_${n}`, null, { id: `root-access-key-${n}`, user: '<root_account>', status: 'Active', create_date: reportDate(row[`access_key_${n}_last_rotated`]), last_used_date: reportDate(row[`access_key_${n}_last_used_date`]) }, { name: '<root_account>' }),
    );
}

async function readKms(session: Session, region: string, scope: ReadScope): Promise<CanonicalResource[]> {
  const out: CanonicalResource[] = [];
  if (!listed(scope, 'aws_kms_key', region)) return out;
  const keys = (await session.pages('kms:ListKeys', region, {}, { in: 'Marker', out: 'NextMarker' })).flatMap((page) => (page.Keys ?? []) as Output[]);
  await eachLimited(keys, ITEM_CONCURRENCY, async (k) => {
    if (!inScope(scope, 'aws_kms_key', region, [k.KeyId, k.KeyArn])) return;
    const described = await session.call('kms:DescribeKey', region, { KeyId: k.KeyId });
    const m = described?.KeyMetadata;
    if (!m || m.KeyManager !== 'CUSTOMER' || m.KeyState === 'PendingDeletion') return;
    const rotation = m.KeySpec === 'SYMMETRIC_DEFAULT' ? await session.call('kms:GetKeyRotationStatus', region, { KeyId: k.KeyId }) : undefined;
    out.push(
      resource('aws_kms_key', m.Arn, region, {
        id: m.KeyId,
        arn: m.Arn,
        key_id: m.KeyId,
        description: m.Description ?? '',
        key_usage: m.KeyUsage,
        customer_master_key_spec: m.KeySpec,
        is_enabled: m.Enabled ?? false,
        enable_key_rotation: rotation?.KeyRotationEnabled ?? false,
        multi_region: m.MultiRegion ?? false,
      }),
    );
  });
  return out;
}

async function readCloudTrail(session: Session, region: string, scope: ReadScope): Promise<CanonicalResource[]> {
  const out: CanonicalResource[] = [];
  if (!listed(scope, 'aws_cloudtrail', region)) return out;
  const answer = await session.call('cloudtrail:DescribeTrails', region, { includeShadowTrails: false });
  for (const t of (answer?.trailList ?? []) as Output[]) {
    if (!inScope(scope, 'aws_cloudtrail', region, [t.TrailARN, t.Name])) continue;
    const status = await session.call('cloudtrail:GetTrailStatus', region, { Name: t.TrailARN });
    out.push(
      resource('aws_cloudtrail', t.TrailARN, t.HomeRegion ?? region, {
        id: t.TrailARN,
        arn: t.TrailARN,
        name: t.Name,
        s3_bucket_name: t.S3BucketName ?? '',
        is_multi_region_trail: t.IsMultiRegionTrail ?? false,
        include_global_service_events: t.IncludeGlobalServiceEvents ?? false,
        enable_log_file_validation: t.LogFileValidationEnabled ?? false,
        kms_key_id: t.KmsKeyId ?? '',
        cloud_watch_logs_group_arn: t.CloudWatchLogsLogGroupArn ?? '',
        is_organization_trail: t.IsOrganizationTrail ?? false,
        enable_logging: status?.IsLogging ?? false,
      }),
    );
  }
  return out;
}

async function readSecrets(session: Session, region: string, scope: ReadScope): Promise<CanonicalResource[]> {
  const out: CanonicalResource[] = [];
  if (!listed(scope, 'aws_secretsmanager_secret', region)) return out;
  for (const page of await session.pages('secretsmanager:ListSecrets', region, {}, { in: 'NextToken', out: 'NextToken' })) {
    for (const s of (page.SecretList ?? []) as Output[]) {
      if (!inScope(scope, 'aws_secretsmanager_secret', region, [s.ARN, s.Name])) continue;
      out.push(
        resource('aws_secretsmanager_secret', s.ARN, region, {
          id: s.ARN,
          arn: s.ARN,
          name: s.Name,
          description: s.Description ?? '',
          kms_key_id: s.KmsKeyId ?? '',
          rotation_enabled: s.RotationEnabled ?? false,
          rotation_lambda_arn: s.RotationLambdaARN ?? '',
          rotation_rules: s.RotationRules?.AutomaticallyAfterDays ? [{ automatically_after_days: s.RotationRules.AutomaticallyAfterDays }] : [],
          last_rotated_date: iso(s.LastRotatedDate),
          next_rotation_date: iso(s.NextRotationDate),
          last_changed_date: iso(s.LastChangedDate),
          tags: tagsOf(s.Tags),
        }),
      );
    }
  }
  return out;
}

async function readAcm(session: Session, region: string, scope: ReadScope): Promise<CanonicalResource[]> {
  const out: CanonicalResource[] = [];
  if (!listed(scope, 'aws_acm_certificate', region)) return out;
  const summaries = (await session.pages('acm:ListCertificates', region, {}, { in: 'NextToken', out: 'NextToken' }))
    .flatMap((page) => (page.CertificateSummaryList ?? []) as Output[])
    .filter((summary) => inScope(scope, 'aws_acm_certificate', region, [summary.CertificateArn]));
  await eachLimited(summaries, ITEM_CONCURRENCY, async (summary) => {
    const described = await session.call('acm:DescribeCertificate', region, { CertificateArn: summary.CertificateArn });
    const c = described?.Certificate;
    if (!c) return; // deleted since the listing
    out.push(
      resource('aws_acm_certificate', c.CertificateArn, region, {
        id: c.CertificateArn,
        arn: c.CertificateArn,
        domain_name: c.DomainName,
        subject_alternative_names: c.SubjectAlternativeNames ?? [],
        status: c.Status,
        type: c.Type,
        key_algorithm: c.KeyAlgorithm ?? '',
        not_before: iso(c.NotBefore),
        not_after: iso(c.NotAfter),
        renewal_eligibility: c.RenewalEligibility ?? '',
        in_use: ((c.InUseBy ?? []) as Output[]).length > 0,
      }),
    );
  });
  return out;
}

async function readRds(session: Session, region: string, scope: ReadScope): Promise<CanonicalResource[]> {
  const out: CanonicalResource[] = [];
  if (!listed(scope, 'aws_db_instance', region)) return out;
  for (const page of await session.pages('rds:DescribeDBInstances', region, {}, { in: 'Marker', out: 'Marker' })) {
    for (const d of (page.DBInstances ?? []) as Output[]) {
      if (!inScope(scope, 'aws_db_instance', region, [d.DbiResourceId, d.DBInstanceIdentifier, d.DBInstanceArn])) continue;
      out.push(
        resource('aws_db_instance', d.DBInstanceArn, region, {
          id: d.DbiResourceId ?? d.DBInstanceIdentifier,
          arn: d.DBInstanceArn,
          identifier: d.DBInstanceIdentifier,
          engine: d.Engine,
          engine_version: d.EngineVersion ?? '',
          instance_class: d.DBInstanceClass,
          allocated_storage: d.AllocatedStorage ?? 0,
          storage_encrypted: d.StorageEncrypted ?? false,
          kms_key_id: d.KmsKeyId ?? '',
          publicly_accessible: d.PubliclyAccessible ?? false,
          multi_az: d.MultiAZ ?? false,
          backup_retention_period: d.BackupRetentionPeriod ?? 0,
          deletion_protection: d.DeletionProtection ?? false,
          auto_minor_version_upgrade: d.AutoMinorVersionUpgrade ?? false,
          iam_database_authentication_enabled: d.IAMDatabaseAuthenticationEnabled ?? false,
          performance_insights_enabled: d.PerformanceInsightsEnabled ?? false,
          monitoring_interval: d.MonitoringInterval ?? 0,
          enabled_cloudwatch_logs_exports: d.EnabledCloudwatchLogsExports ?? [],
          copy_tags_to_snapshot: d.CopyTagsToSnapshot ?? false,
          vpc_security_group_ids: ((d.VpcSecurityGroups ?? []) as Output[]).map((g) => g.VpcSecurityGroupId),
          tags: tagsOf(d.TagList),
        }),
      );
    }
  }
  return out;
}

async function readLambda(session: Session, region: string, scope: ReadScope): Promise<CanonicalResource[]> {
  const out: CanonicalResource[] = [];
  if (!listed(scope, 'aws_lambda_function', region)) return out;
  for (const page of await session.pages('lambda:ListFunctions', region, {}, { in: 'Marker', out: 'NextMarker' })) {
    for (const f of (page.Functions ?? []) as Output[]) {
      if (!inScope(scope, 'aws_lambda_function', region, [f.FunctionName, f.FunctionArn])) continue;
      out.push(
        resource('aws_lambda_function', f.FunctionArn, region, {
          id: f.FunctionName,
          arn: f.FunctionArn,
          function_name: f.FunctionName,
          runtime: f.Runtime ?? '',
          role: f.Role ?? '',
          timeout: f.Timeout ?? 3,
          memory_size: f.MemorySize ?? 128,
          kms_key_arn: f.KMSKeyArn ?? '',
          tracing_config: [{ mode: f.TracingConfig?.Mode ?? 'PassThrough' }],
          vpc_config: f.VpcConfig?.SubnetIds?.length ? [{ subnet_ids: f.VpcConfig.SubnetIds, security_group_ids: f.VpcConfig.SecurityGroupIds ?? [] }] : [],
          dead_letter_config: f.DeadLetterConfig?.TargetArn ? [{ target_arn: f.DeadLetterConfig.TargetArn }] : [],
          architectures: f.Architectures ?? ['x86_64'],
        }),
      );
    }
  }
  return out;
}

async function readDynamo(session: Session, region: string, scope: ReadScope): Promise<CanonicalResource[]> {
  const out: CanonicalResource[] = [];
  if (!listed(scope, 'aws_dynamodb_table', region)) return out;
  const names = (await session.pages('dynamodb:ListTables', region, {}, { in: 'ExclusiveStartTableName', out: 'LastEvaluatedTableName' }))
    .flatMap((page) => (page.TableNames ?? []) as string[])
    .filter((name) => inScope(scope, 'aws_dynamodb_table', region, [name, `arn:aws:dynamodb:${region}:${session.accountId}:table/${name}`]));
  await eachLimited(names, ITEM_CONCURRENCY, async (name) => {
    const described = await session.call('dynamodb:DescribeTable', region, { TableName: name });
    const t = described?.Table;
    if (!t) return;
    out.push(
      resource('aws_dynamodb_table', t.TableArn, region, {
        id: t.TableName,
        arn: t.TableArn,
        name: t.TableName,
        billing_mode: t.BillingModeSummary?.BillingMode ?? 'PROVISIONED',
        server_side_encryption: t.SSEDescription?.Status === 'ENABLED' ? [{ enabled: true, kms_key_arn: t.SSEDescription.KMSMasterKeyArn ?? '' }] : [],
        deletion_protection_enabled: t.DeletionProtectionEnabled ?? false,
        read_capacity: t.ProvisionedThroughput?.ReadCapacityUnits ?? 0,
        write_capacity: t.ProvisionedThroughput?.WriteCapacityUnits ?? 0,
      }),
    );
  });
  return out;
}

async function readLogGroups(session: Session, region: string): Promise<CanonicalResource[]> {
  const out: CanonicalResource[] = [];
  for (const page of await session.pages('logs:DescribeLogGroups', region, {}, { in: 'nextToken', out: 'nextToken' })) {
    for (const g of (page.logGroups ?? []) as Output[]) {
      const arn = String(g.arn ?? '').replace(/:\*$/, '');
      out.push(resource('aws_cloudwatch_log_group', arn, region, { id: g.logGroupName, arn, name: g.logGroupName, retention_in_days: g.retentionInDays ?? 0, kms_key_id: g.kmsKeyId ?? '', log_group_class: g.logGroupClass ?? 'STANDARD' }));
    }
  }
  return out;
}

async function readLoadBalancers(session: Session, region: string, scope: ReadScope): Promise<CanonicalResource[]> {
  const out: CanonicalResource[] = [];
  if (!listed(scope, 'aws_lb', region)) return out;
  for (const page of await session.pages('elasticloadbalancing:DescribeLoadBalancers', region, {}, { in: 'Marker', out: 'NextMarker' })) {
    for (const lb of (page.LoadBalancers ?? []) as Output[]) {
      if (!inScope(scope, 'aws_lb', region, [lb.LoadBalancerArn, lb.LoadBalancerName])) continue;
      out.push(
        resource('aws_lb', lb.LoadBalancerArn, region, {
          id: lb.LoadBalancerArn,
          arn: lb.LoadBalancerArn,
          name: lb.LoadBalancerName,
          load_balancer_type: lb.Type,
          internal: lb.Scheme === 'internal',
          dns_name: lb.DNSName ?? '',
          security_groups: lb.SecurityGroups ?? [],
          subnets: ((lb.AvailabilityZones ?? []) as Output[]).map((z) => z.SubnetId),
          ip_address_type: lb.IpAddressType ?? 'ipv4',
        }),
      );
    }
  }
  return out;
}

async function readClassicLoadBalancers(session: Session, region: string, scope: ReadScope): Promise<CanonicalResource[]> {
  const out: CanonicalResource[] = [];
  if (!listed(scope, 'aws_elb', region)) return out;
  for (const page of await session.pages('elb:DescribeLoadBalancers', region, {}, { in: 'Marker', out: 'NextMarker' })) {
    for (const lb of (page.LoadBalancerDescriptions ?? []) as Output[]) {
      const name = lb.LoadBalancerName as string;
      if (!inScope(scope, 'aws_elb', region, [name, `arn:aws:elasticloadbalancing:${region}:${session.accountId}:loadbalancer/${name}`])) continue;
      const described = await session.call('elb:DescribeLoadBalancerAttributes', region, { LoadBalancerName: name }, ['LoadBalancerNotFound']);
      if (described === undefined) continue; // deleted since the listing
      const a = described.LoadBalancerAttributes ?? {};
      const arn = `arn:aws:elasticloadbalancing:${region}:${session.accountId}:loadbalancer/${name}`;
      const desync = ((a.AdditionalAttributes ?? []) as Output[]).find((x) => x.Key === 'elb.http.desyncmitigationmode')?.Value;
      out.push(
        resource('aws_elb', arn, region, {
          id: name,
          arn,
          name,
          dns_name: lb.DNSName ?? '',
          internal: lb.Scheme === 'internal',
          availability_zones: lb.AvailabilityZones ?? [],
          subnets: lb.Subnets ?? [],
          security_groups: lb.SecurityGroups ?? [],
          instances: ((lb.Instances ?? []) as Output[]).map((i) => i.InstanceId),
          listener: ((lb.ListenerDescriptions ?? []) as Output[]).map(({ Listener: l }) => ({
            lb_port: l?.LoadBalancerPort,
            lb_protocol: String(l?.Protocol ?? '').toLowerCase(),
            instance_port: l?.InstancePort,
            instance_protocol: String(l?.InstanceProtocol ?? '').toLowerCase(),
            ssl_certificate_id: l?.SSLCertificateId ?? '',
          })),
          access_logs: [{ enabled: a.AccessLog?.Enabled ?? false, bucket: a.AccessLog?.S3BucketName ?? '', bucket_prefix: a.AccessLog?.S3BucketPrefix ?? '', interval: a.AccessLog?.EmitInterval ?? 60 }],
          cross_zone_load_balancing: a.CrossZoneLoadBalancing?.Enabled ?? false,
          connection_draining: a.ConnectionDraining?.Enabled ?? false,
          connection_draining_timeout: a.ConnectionDraining?.Timeout ?? 300,
          idle_timeout: a.ConnectionSettings?.IdleTimeout ?? 60,
          desync_mitigation_mode: desync ?? 'defensive',
        }),
      );
    }
  }
  return out;
}

// ---- the SDK, loaded on first use so that the API's start-up and memory do not grow with it ----

const CLIENT_MODULES: Record<string, () => Promise<Record<string, any>>> = {
  sts: () => import('@aws-sdk/client-sts'),
  ec2: () => import('@aws-sdk/client-ec2'),
  s3: () => import('@aws-sdk/client-s3'),
  iam: () => import('@aws-sdk/client-iam'),
  kms: () => import('@aws-sdk/client-kms'),
  cloudtrail: () => import('@aws-sdk/client-cloudtrail'),
  secretsmanager: () => import('@aws-sdk/client-secrets-manager'),
  acm: () => import('@aws-sdk/client-acm'),
  rds: () => import('@aws-sdk/client-rds'),
  lambda: () => import('@aws-sdk/client-lambda'),
  dynamodb: () => import('@aws-sdk/client-dynamodb'),
  config: () => import('@aws-sdk/client-config-service'),
  logs: () => import('@aws-sdk/client-cloudwatch-logs'),
  elbv2: () => import('@aws-sdk/client-elastic-load-balancing-v2'),
  elb: () => import('@aws-sdk/client-elastic-load-balancing'),
};
const CLIENT_CLASSES: Record<string, string> = {
  sts: 'STSClient',
  ec2: 'EC2Client',
  s3: 'S3Client',
  iam: 'IAMClient',
  kms: 'KMSClient',
  cloudtrail: 'CloudTrailClient',
  secretsmanager: 'SecretsManagerClient',
  acm: 'ACMClient',
  rds: 'RDSClient',
  lambda: 'LambdaClient',
  dynamodb: 'DynamoDBClient',
  config: 'ConfigServiceClient',
  logs: 'CloudWatchLogsClient',
  elbv2: 'ElasticLoadBalancingV2Client',
  elb: 'ElasticLoadBalancingClient',
};

async function makeClient(service: string, config: object): Promise<SdkClient> {
  const module = await CLIENT_MODULES[service]!();
  return new module[CLIENT_CLASSES[service]!](config) as SdkClient;
}

async function commandClass(service: string, command: string): Promise<new (input: object) => unknown> {
  const module = await CLIENT_MODULES[service]!();
  return module[`${command}Command`] as new (input: object) => unknown;
}

function errorName(error: unknown): string {
  const e = error as { name?: string; Code?: string; code?: string } | null;
  return e?.Code ?? e?.name ?? e?.code ?? 'Error';
}

/** The cloud's message, cut short; AWS messages name ARNs and actions, never the caller's secret. */
function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 500) || errorName(error);
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    }, { once: true });
  });
}

/** Runs `work` on every item, at most `limit` at once; the first error stops new work and is thrown. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(workers);
}
