import { ACMClient } from '@aws-sdk/client-acm';
import { CloudTrailClient, DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ConfigServiceClient, DescribeConfigurationRecordersCommand, DescribeConfigurationRecorderStatusCommand, SelectResourceConfigCommand } from '@aws-sdk/client-config-service';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeLoadBalancerAttributesCommand, DescribeLoadBalancersCommand, ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { GenerateCredentialReportCommand, GetCredentialReportCommand, GetPolicyVersionCommand, IAMClient, ListPoliciesCommand, ListUsersCommand } from '@aws-sdk/client-iam';
import { DescribeKeyCommand, GetKeyRotationStatusCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { RDSClient } from '@aws-sdk/client-rds';
import { GetBucketAclCommand, GetBucketLocationCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { collectAws, parseCredentialReport } from '../src/discovery/aws/aws-collector';
import type { CollectorContext } from '../src/discovery/collector';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const awsError = (name: string, message = name) => Object.assign(new Error(message), { name });
const clients = [ACMClient, CloudTrailClient, CloudWatchLogsClient, DynamoDBClient, EC2Client, ElasticLoadBalancingV2Client, IAMClient, KMSClient, LambdaClient, RDSClient, S3Client, SecretsManagerClient, STSClient, ElasticLoadBalancingClient, ConfigServiceClient];
const mocks = clients.map((client) => mockClient(client as never));
const [, cloudtrail, , , ec2, , iam, kms, , , s3, secrets, sts, elb, config] = mocks;

function context(): CollectorContext {
  return { signal: new AbortController().signal, mode: 'full', changedSince: null, endpoints: {}, concurrency: 4, progress: () => undefined };
}
const credentials = { account_id: '123456789012', access_key_id: 'AKIAUNITTEST00000001', secret_access_key: 'unit-test-secret', regions: ['us-east-1', 'eu-west-1'] };

beforeEach(() => {
  for (const mock of mocks) mock.reset();
  sts!.on(GetCallerIdentityCommand).resolves({ Account: '123456789012' });
});

describe('the AWS collector', () => {
  it('follows pagination tokens and skips a key deleted between its listing and its description', async () => {
    kms!.on(ListKeysCommand).resolves({ Keys: [{ KeyId: 'k1' }], NextMarker: 'm1', Truncated: true });
    kms!.on(ListKeysCommand, { Marker: 'm1' }).resolves({ Keys: [{ KeyId: 'k2' }, { KeyId: 'k3' }], Truncated: false });
    for (const id of ['k1', 'k2']) {
      kms!.on(DescribeKeyCommand, { KeyId: id }).resolves({ KeyMetadata: { KeyId: id, Arn: `arn:aws:kms:us-east-1:123456789012:key/${id}`, KeyManager: 'CUSTOMER', KeyState: 'Enabled', KeySpec: 'SYMMETRIC_DEFAULT', Enabled: true } as never });
    }
    kms!.on(DescribeKeyCommand, { KeyId: 'k3' }).rejects(awsError('NotFoundException'));
    kms!.on(GetKeyRotationStatusCommand).resolves({ KeyRotationEnabled: true });
    const result = await collectAws({ ...credentials, regions: ['us-east-1'] }, context());
    const keys = result.resources.filter((r) => r.type === 'aws_kms_key');
    expect(keys.map((k) => k.attributes.key_id).sort()).toEqual(['k1', 'k2']);
    expect(keys[0]!.attributes.enable_key_rotation).toBe(true);
    expect(kms!.commandCalls(ListKeysCommand)).toHaveLength(2);
    expect(result.failures).toEqual([]);
  });

  it('retries throttling until it succeeds', async () => {
    secrets!.on(ListSecretsCommand).rejectsOnce(awsError('ThrottlingException', 'Rate exceeded')).resolves({
      SecretList: [{ ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf', Name: 'db', RotationEnabled: true, RotationLambdaARN: 'arn:aws:lambda:us-east-1:123456789012:function:rotate-db', RotationRules: { AutomaticallyAfterDays: 30 }, LastRotatedDate: new Date('2026-11-01T00:00:00Z') }],
    });
    const result = await collectAws({ ...credentials, regions: ['us-east-1'] }, context());
    const secret = result.resources.find((r) => r.type === 'aws_secretsmanager_secret');
    expect(secret?.attributes).toMatchObject({ rotation_enabled: true, rotation_lambda_arn: 'arn:aws:lambda:us-east-1:123456789012:function:rotate-db', rotation_rules: [{ automatically_after_days: 30 }], last_rotated_date: '2026-11-01T00:00:00.000Z' });
    expect(result.failures).toEqual([]);
  });

  it('records AccessDenied on one service as a failure naming the missing permission, and leaves its types out of complete coverage', async () => {
    cloudtrail!.on(DescribeTrailsCommand).rejects(awsError('AccessDeniedException', 'User is not authorized to perform: cloudtrail:DescribeTrails'));
    const result = await collectAws(credentials, context());
    expect(result.failures).toEqual(
      expect.arrayContaining(
        ['eu-west-1', 'us-east-1'].map((region) => expect.objectContaining({ service: 'cloudtrail', region, code: 'AccessDeniedException', missing_permission: 'cloudtrail:DescribeTrails' })),
      ),
    );
    expect(result.failures).toHaveLength(2);
    expect(result.complete.some((c) => c.types.includes('aws_cloudtrail'))).toBe(false);
    expect(result.complete).toContainEqual({ types: expect.arrayContaining(['aws_kms_key']), region: 'eu-west-1' });
  });

  it('reads an empty region as complete with nothing in it', async () => {
    ec2!.on(DescribeSecurityGroupsCommand).callsFake(async (_input, getClient) => {
      const region = await (getClient() as unknown as { config: { region: () => Promise<string> } }).config.region();
      return { SecurityGroups: region === 'us-east-1' ? [{ GroupId: 'sg-1', GroupName: 'web', IpPermissions: [], IpPermissionsEgress: [] }] : [] };
    });
    const result = await collectAws(credentials, context());
    const groups = result.resources.filter((r) => r.type === 'aws_security_group');
    expect(groups.map((g) => g.region)).toEqual(['us-east-1']);
    expect(result.complete).toContainEqual({ types: expect.arrayContaining(['aws_security_group']), region: 'eu-west-1' });
  });

  it('throws invalid_credentials when AWS refuses the credentials', async () => {
    sts!.on(GetCallerIdentityCommand).rejects(awsError('InvalidClientTokenId', 'The security token included in the request is invalid.'));
    await expect(collectAws(credentials, context())).rejects.toMatchObject({ name: 'CollectorError', code: 'invalid_credentials' });
  });

  it('reads MFA and console passwords from the credential report once it is built, and the root user\'s keys', async () => {
    iam!.on(ListUsersCommand).resolves({ Users: [{ UserName: 'a,b', Arn: 'arn:aws:iam::123456789012:user/a,b', UserId: 'AIDA1', Path: '/', CreateDate: new Date('2026-01-01T00:00:00Z') }] });
    iam!.on(GenerateCredentialReportCommand).resolvesOnce({ State: 'STARTED' }).resolves({ State: 'COMPLETE' });
    const csv = [
      'user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated',
      '<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,2026-11-01T00:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,true,2021-03-04T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A',
      'a,b,arn:aws:iam::123456789012:user/a,b,2026-01-01T00:00:00+00:00,true,N/A,2026-01-02T00:00:00+00:00,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A',
    ].join('\n');
    iam!.on(GetCredentialReportCommand).resolves({ Content: new TextEncoder().encode(csv), ReportFormat: 'text/csv' });
    const result = await collectAws({ ...credentials, regions: ['us-east-1'] }, context());
    const user = result.resources.find((r) => r.type === 'aws_iam_user');
    expect(user?.attributes).toMatchObject({ name: 'a,b', password_enabled: true, mfa_active: false, password_last_changed: '2026-01-02T00:00:00.000Z' });
    expect(user?.unknown_paths).toEqual([]);
    const keys = result.resources.filter((r) => r.type === 'aws_iam_access_key');
    expect(keys.map((k) => [k.native_id, k.attributes.user, k.attributes.create_date])).toEqual([['arn:aws:iam::123456789012:root/access_key_2', '<root_account>', '2021-03-04T00:00:00.000Z']]);
    expect(iam!.commandCalls(GenerateCredentialReportCommand)).toHaveLength(2);
    expect(result.failures).toEqual([]);
  }, 30_000);

  it('parses report rows whose user names hold commas', () => {
    expect(parseCredentialReport('user,arn,mfa_active\nx,y,arn:aws:iam::1:user/x,y,true\nplain,arn:aws:iam::1:user/plain,false\n')).toEqual([
      { user: 'x,y', arn: 'arn:aws:iam::1:user/x,y', mfa_active: 'true' },
      { user: 'plain', arn: 'arn:aws:iam::1:user/plain', mfa_active: 'false' },
    ]);
  });

  it('maps classic load balancers to aws_elb with their attributes, skipping one deleted before its attributes were read', async () => {
    elb!.on(DescribeLoadBalancersCommand).resolves({
      LoadBalancerDescriptions: [
        { LoadBalancerName: 'web', DNSName: 'web-1.us-east-1.elb.amazonaws.com', Scheme: 'internal', AvailabilityZones: ['us-east-1a', 'us-east-1b'], Subnets: ['subnet-1', 'subnet-2'], Instances: [{ InstanceId: 'i-1' }], SecurityGroups: ['sg-1'], ListenerDescriptions: [{ Listener: { Protocol: 'HTTPS', LoadBalancerPort: 443, InstanceProtocol: 'HTTP', InstancePort: 8080, SSLCertificateId: 'arn:aws:acm:us-east-1:123456789012:certificate/c1' } }] },
        { LoadBalancerName: 'gone' },
      ],
    });
    elb!.on(DescribeLoadBalancerAttributesCommand, { LoadBalancerName: 'web' }).resolves({
      LoadBalancerAttributes: { CrossZoneLoadBalancing: { Enabled: true }, AccessLog: { Enabled: true, S3BucketName: 'lb-logs', EmitInterval: 5 }, ConnectionDraining: { Enabled: false, Timeout: 300 }, AdditionalAttributes: [{ Key: 'elb.http.desyncmitigationmode', Value: 'monitor' }] },
    });
    elb!.on(DescribeLoadBalancerAttributesCommand, { LoadBalancerName: 'gone' }).rejects(awsError('LoadBalancerNotFound'));
    const result = await collectAws({ ...credentials, regions: ['us-east-1'] }, context());
    const lbs = result.resources.filter((r) => r.type === 'aws_elb');
    expect(lbs).toHaveLength(1);
    expect(lbs[0]).toMatchObject({
      native_id: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/web',
      attributes: {
        internal: true,
        instances: ['i-1'],
        listener: [{ lb_port: 443, lb_protocol: 'https', instance_port: 8080, instance_protocol: 'http', ssl_certificate_id: 'arn:aws:acm:us-east-1:123456789012:certificate/c1' }],
        access_logs: [{ enabled: true, bucket: 'lb-logs', interval: 5 }],
        cross_zone_load_balancing: true,
        connection_draining: false,
        desync_mitigation_mode: 'monitor',
      },
    });
    expect(result.failures).toEqual([]);
  });
});

describe('the AWS collector, incremental', () => {
  const since = new Date('2026-12-01T02:00:00.000Z');
  const incremental = (): CollectorContext => ({ ...context(), mode: 'incremental', changedSince: since });
  const keyArn = (id: string) => `arn:aws:kms:us-east-1:123456789012:key/${id}`;

  beforeEach(() => {
    kms!.on(ListKeysCommand).resolves({ Keys: ['k1', 'k2', 'k3'].map((id) => ({ KeyId: id, KeyArn: keyArn(id) })) });
    kms!.on(DescribeKeyCommand).callsFake(async (input: { KeyId: string }) => ({ KeyMetadata: { KeyId: input.KeyId, Arn: keyArn(input.KeyId), KeyManager: 'CUSTOMER', KeyState: 'Enabled', KeySpec: 'SYMMETRIC_DEFAULT', Enabled: true } }));
    s3!.on(ListBucketsCommand).resolves({ Buckets: [{ Name: 'unchanged-bucket', BucketRegion: 'us-east-1' }] });
    ec2!.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: 'sg-2', GroupName: 'db', IpPermissions: [], IpPermissionsEgress: [] }] });
    iam!.on(ListPoliciesCommand).resolves({
      Policies: [
        { PolicyName: 'old', PolicyId: 'ANPAOLD', Arn: 'arn:aws:iam::123456789012:policy/old', DefaultVersionId: 'v1', UpdateDate: new Date('2026-11-01T00:00:00Z') },
        { PolicyName: 'new', PolicyId: 'ANPANEW', Arn: 'arn:aws:iam::123456789012:policy/new', DefaultVersionId: 'v2', UpdateDate: new Date('2026-12-02T00:00:00Z') },
      ],
    });
    iam!.on(GetPolicyVersionCommand).resolves({ PolicyVersion: { Document: encodeURIComponent('{"Version":"2012-10-17","Statement":[]}'), VersionId: 'v2', IsDefaultVersion: true } });
  });

  function configRecording(group: object = { allSupported: true, includeGlobalResourceTypes: true }) {
    config!.on(DescribeConfigurationRecorderStatusCommand).resolves({ ConfigurationRecordersStatus: [{ name: 'default', recording: true, lastStartTime: new Date('2026-01-01T00:00:00Z'), lastStatus: 'Success' }] });
    config!.on(DescribeConfigurationRecordersCommand).resolves({ ConfigurationRecorders: [{ name: 'default', recordingGroup: group }] });
  }
  const row = (resourceType: string, resourceId: string, resourceName?: string) => JSON.stringify({ resourceType, resourceId, ...(resourceName ? { resourceName } : {}) });

  it("with Config recording, describes only what Config says changed, following Config's pages", async () => {
    configRecording();
    config!.on(SelectResourceConfigCommand).resolves({ Results: [row('AWS::EC2::SecurityGroup', 'sg-2', 'db')], NextToken: 'page-2' });
    config!.on(SelectResourceConfigCommand, { NextToken: 'page-2' }).resolves({ Results: [row('AWS::KMS::Key', 'k2'), row('AWS::IAM::Policy', 'ANPAOLD', 'old')] });
    const result = await collectAws({ ...credentials, regions: ['us-east-1'] }, incremental());

    const selects = config!.commandCalls(SelectResourceConfigCommand);
    expect(selects).toHaveLength(2);
    const expression = selects[0]!.args[0].input.Expression!;
    expect(expression).toContain("configurationItemCaptureTime > '2026-12-01T01:55:00.000Z'");
    expect(expression).toContain("'AWS::EC2::SecurityGroup'");
    expect(expression).toContain("'AWS::IAM::Policy'");
    // KMS: listed, one key described.
    expect(kms!.commandCalls(DescribeKeyCommand).map((call) => call.args[0].input.KeyId)).toEqual(['k2']);
    // EC2: asked for the changed group alone.
    expect(ec2!.commandCalls(DescribeSecurityGroupsCommand)[0]!.args[0].input.Filters).toEqual([{ Name: 'group-id', Values: ['sg-2'] }]);
    // S3: the unchanged bucket is not described; IAM: only the policy Config named (even though the other was updated more recently).
    expect(s3!.commandCalls(GetBucketAclCommand)).toHaveLength(0);
    expect(s3!.commandCalls(GetBucketLocationCommand)).toHaveLength(0);
    expect(iam!.commandCalls(GetPolicyVersionCommand).map((call) => call.args[0].input.PolicyArn)).toEqual(['arn:aws:iam::123456789012:policy/old']);
    // What Config does not record is read as always: users and the credential report.
    expect(iam!.commandCalls(ListUsersCommand)).toHaveLength(1);
    expect(result.resources.map((r) => `${r.type} ${String(r.attributes.id)}`).sort()).toEqual(['aws_iam_policy arn:aws:iam::123456789012:policy/old', 'aws_kms_key k2', 'aws_security_group sg-2'].sort());
    // An incremental read never claims complete coverage, so nothing is ever marked gone.
    expect(result.complete).toEqual([]);
    expect(result.failures).toEqual([]);
  });

  it('reads types the recorder does not record as a full read does', async () => {
    configRecording({ allSupported: false, resourceTypes: ['AWS::EC2::SecurityGroup'], recordingStrategy: { useOnly: 'INCLUSION_BY_RESOURCE_TYPES' } });
    config!.on(SelectResourceConfigCommand).resolves({ Results: [] });
    const result = await collectAws({ ...credentials, regions: ['us-east-1'] }, incremental());
    expect(config!.commandCalls(SelectResourceConfigCommand)[0]!.args[0].input.Expression).toMatch(/resourceType IN \('AWS::EC2::SecurityGroup'\)$/);
    expect(ec2!.commandCalls(DescribeSecurityGroupsCommand)).toHaveLength(0);
    expect(kms!.commandCalls(DescribeKeyCommand)).toHaveLength(3);
    expect(s3!.commandCalls(GetBucketAclCommand)).toHaveLength(1);
    expect(result.resources.filter((r) => r.type === 'aws_kms_key')).toHaveLength(3);
  });

  it('falls back when Config may not be queried (AccessDenied): everything re-listed, IAM policies described only when updated since', async () => {
    configRecording();
    config!.on(SelectResourceConfigCommand).rejects(awsError('AccessDeniedException', 'User is not authorized to perform: config:SelectResourceConfig'));
    const result = await collectAws({ ...credentials, regions: ['us-east-1'] }, incremental());
    expect(kms!.commandCalls(DescribeKeyCommand)).toHaveLength(3);
    expect(ec2!.commandCalls(DescribeSecurityGroupsCommand)[0]!.args[0].input.Filters).toBeUndefined();
    expect(s3!.commandCalls(GetBucketAclCommand)).toHaveLength(1);
    expect(iam!.commandCalls(GetPolicyVersionCommand).map((call) => call.args[0].input.PolicyArn)).toEqual(['arn:aws:iam::123456789012:policy/new']);
    // Config's refusal is no failure of the scan: what it would have said was read another way.
    expect(result.failures).toEqual([]);
    expect(result.complete).toEqual([]);
  });

  it('falls back when Config is off, or started recording after the last scan', async () => {
    config!.on(DescribeConfigurationRecorderStatusCommand).resolves({ ConfigurationRecordersStatus: [{ name: 'default', recording: false, lastStartTime: new Date('2026-01-01T00:00:00Z') }] });
    await collectAws({ ...credentials, regions: ['us-east-1'] }, incremental());
    config!.on(DescribeConfigurationRecorderStatusCommand).resolves({ ConfigurationRecordersStatus: [{ name: 'default', recording: true, lastStartTime: new Date('2026-12-02T00:00:00Z') }] });
    await collectAws({ ...credentials, regions: ['us-east-1'] }, incremental());
    expect(config!.commandCalls(SelectResourceConfigCommand)).toHaveLength(0);
    expect(kms!.commandCalls(DescribeKeyCommand)).toHaveLength(6);
  });

  it('uses Config in the regions that record and reads the others in full; global IAM types from whichever region records them', async () => {
    const regionOf = async (getClient: () => unknown) => (getClient() as { config: { region: () => Promise<string> } }).config.region();
    config!.on(DescribeConfigurationRecorderStatusCommand).callsFake(async (_input, getClient) => ({
      ConfigurationRecordersStatus: (await regionOf(getClient)) === 'eu-west-1' ? [{ name: 'default', recording: true, lastStartTime: new Date('2026-01-01T00:00:00Z') }] : [],
    }));
    config!.on(DescribeConfigurationRecordersCommand).resolves({ ConfigurationRecorders: [{ name: 'default', recordingGroup: { allSupported: true, includeGlobalResourceTypes: true } }] });
    config!.on(SelectResourceConfigCommand).resolves({ Results: [row('AWS::KMS::Key', 'k3'), row('AWS::IAM::Policy', 'ANPAOLD', 'old')] });
    const progress: string[] = [];
    const result = await collectAws(credentials, { ...incremental(), progress: (unit) => progress.push(`${unit.service} ${unit.region} ${unit.status} ${unit.resources}`) });
    expect(config!.commandCalls(SelectResourceConfigCommand)).toHaveLength(1);
    expect(progress).toContain('config eu-west-1 succeeded 2');
    // us-east-1: every key; eu-west-1: the one Config named.
    const keys = result.resources.filter((r) => r.type === 'aws_kms_key').map((r) => `${r.region} ${String(r.attributes.key_id)}`).sort();
    expect(keys).toEqual(['eu-west-1 k3', 'us-east-1 k1', 'us-east-1 k2', 'us-east-1 k3']);
    expect(iam!.commandCalls(GetPolicyVersionCommand).map((call) => call.args[0].input.PolicyArn)).toEqual(['arn:aws:iam::123456789012:policy/old']);
    // The bucket is in us-east-1, where Config does not record: described.
    expect(s3!.commandCalls(GetBucketAclCommand)).toHaveLength(1);
  });

  it('a full read asks Config nothing', async () => {
    configRecording();
    const result = await collectAws({ ...credentials, regions: ['us-east-1'] }, context());
    expect(config!.commandCalls(DescribeConfigurationRecorderStatusCommand)).toHaveLength(0);
    expect(kms!.commandCalls(DescribeKeyCommand)).toHaveLength(3);
    expect(result.complete.length).toBeGreaterThan(0);
  });
});
