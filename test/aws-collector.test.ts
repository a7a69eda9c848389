import { ACMClient } from '@aws-sdk/client-acm';
import { CloudTrailClient, DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { IAMClient } from '@aws-sdk/client-iam';
import { DescribeKeyCommand, GetKeyRotationStatusCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { collectAws } from '../src/discovery/aws/aws-collector';
import type { CollectorContext } from '../src/discovery/collector';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const awsError = (name: string, message = name) => Object.assign(new Error(message), { name });
const clients = [ACMClient, CloudTrailClient, CloudWatchLogsClient, DynamoDBClient, EC2Client, ElasticLoadBalancingV2Client, IAMClient, KMSClient, LambdaClient, RDSClient, S3Client, SecretsManagerClient, STSClient];
const mocks = clients.map((client) => mockClient(client as never));
const [, cloudtrail, , , ec2, , , kms, , , , secrets, sts] = mocks;

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
    expect(keys.map((k) => k.attributes.key_id)).toEqual(['k1', 'k2']);
    expect(keys[0]!.attributes.enable_key_rotation).toBe(true);
    expect(kms!.commandCalls(ListKeysCommand)).toHaveLength(2);
    expect(result.failures).toEqual([]);
  });

  it('retries throttling until it succeeds', async () => {
    secrets!.on(ListSecretsCommand).rejectsOnce(awsError('ThrottlingException', 'Rate exceeded')).resolves({
      SecretList: [{ ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf', Name: 'db', RotationEnabled: true, RotationRules: { AutomaticallyAfterDays: 30 }, LastRotatedDate: new Date('2026-11-01T00:00:00Z') }],
    });
    const result = await collectAws({ ...credentials, regions: ['us-east-1'] }, context());
    const secret = result.resources.find((r) => r.type === 'aws_secretsmanager_secret');
    expect(secret?.attributes).toMatchObject({ rotation_enabled: true, rotation_rules: [{ automatically_after_days: 30 }], last_rotated_date: '2026-11-01T00:00:00.000Z' });
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
});
