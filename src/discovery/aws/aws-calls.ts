/**
 * Every AWS API call the collector makes, with the IAM action it needs (the key, unless `action`
 * says otherwise: classic and v2 load balancers share their actions): the one list the
 * least-privilege policy (docs/discovery/aws-policy.json, README "Connect a cloud account") is
 * checked against, and what a failure names as the missing permission.
 */
export const AWS_CALLS = {
  'sts:GetCallerIdentity': { service: 'sts', command: 'GetCallerIdentity' },
  'ec2:DescribeRegions': { service: 'ec2', command: 'DescribeRegions' },
  's3:ListAllMyBuckets': { service: 's3', command: 'ListBuckets' },
  's3:GetBucketLocation': { service: 's3', command: 'GetBucketLocation' },
  's3:GetBucketTagging': { service: 's3', command: 'GetBucketTagging' },
  's3:GetEncryptionConfiguration': { service: 's3', command: 'GetBucketEncryption' },
  's3:GetBucketVersioning': { service: 's3', command: 'GetBucketVersioning' },
  's3:GetBucketPublicAccessBlock': { service: 's3', command: 'GetPublicAccessBlock' },
  's3:GetBucketPolicy': { service: 's3', command: 'GetBucketPolicy' },
  's3:GetBucketAcl': { service: 's3', command: 'GetBucketAcl' },
  's3:GetBucketLogging': { service: 's3', command: 'GetBucketLogging' },
  'ec2:DescribeSecurityGroups': { service: 'ec2', command: 'DescribeSecurityGroups' },
  'ec2:DescribeInstances': { service: 'ec2', command: 'DescribeInstances' },
  'ec2:DescribeVolumes': { service: 'ec2', command: 'DescribeVolumes' },
  'ec2:DescribeSnapshots': { service: 'ec2', command: 'DescribeSnapshots' },
  'ec2:DescribeVpcs': { service: 'ec2', command: 'DescribeVpcs' },
  'ec2:DescribeFlowLogs': { service: 'ec2', command: 'DescribeFlowLogs' },
  'ec2:GetEbsEncryptionByDefault': { service: 'ec2', command: 'GetEbsEncryptionByDefault' },
  'iam:ListUsers': { service: 'iam', command: 'ListUsers' },
  'iam:ListAccessKeys': { service: 'iam', command: 'ListAccessKeys' },
  'iam:ListRoles': { service: 'iam', command: 'ListRoles' },
  'iam:ListPolicies': { service: 'iam', command: 'ListPolicies' },
  'iam:GetPolicyVersion': { service: 'iam', command: 'GetPolicyVersion' },
  'iam:GetAccountPasswordPolicy': { service: 'iam', command: 'GetAccountPasswordPolicy' },
  'iam:GenerateCredentialReport': { service: 'iam', command: 'GenerateCredentialReport' },
  'iam:GetCredentialReport': { service: 'iam', command: 'GetCredentialReport' },
  'kms:ListKeys': { service: 'kms', command: 'ListKeys' },
  'kms:DescribeKey': { service: 'kms', command: 'DescribeKey' },
  'kms:GetKeyRotationStatus': { service: 'kms', command: 'GetKeyRotationStatus' },
  'cloudtrail:DescribeTrails': { service: 'cloudtrail', command: 'DescribeTrails' },
  'cloudtrail:GetTrailStatus': { service: 'cloudtrail', command: 'GetTrailStatus' },
  'secretsmanager:ListSecrets': { service: 'secretsmanager', command: 'ListSecrets' },
  'acm:ListCertificates': { service: 'acm', command: 'ListCertificates' },
  'acm:DescribeCertificate': { service: 'acm', command: 'DescribeCertificate' },
  'rds:DescribeDBInstances': { service: 'rds', command: 'DescribeDBInstances' },
  'lambda:ListFunctions': { service: 'lambda', command: 'ListFunctions' },
  'dynamodb:ListTables': { service: 'dynamodb', command: 'ListTables' },
  'dynamodb:DescribeTable': { service: 'dynamodb', command: 'DescribeTable' },
  'logs:DescribeLogGroups': { service: 'logs', command: 'DescribeLogGroups' },
  'elasticloadbalancing:DescribeLoadBalancers': { service: 'elbv2', command: 'DescribeLoadBalancers' },
  'elb:DescribeLoadBalancers': { service: 'elb', command: 'DescribeLoadBalancers', action: 'elasticloadbalancing:DescribeLoadBalancers' },
  'elb:DescribeLoadBalancerAttributes': { service: 'elb', command: 'DescribeLoadBalancerAttributes', action: 'elasticloadbalancing:DescribeLoadBalancerAttributes' },
  // Incremental scans only: what AWS Config recorded as changed (without them, incremental scans re-list).
  'config:DescribeConfigurationRecorderStatus': { service: 'config', command: 'DescribeConfigurationRecorderStatus' },
  'config:DescribeConfigurationRecorders': { service: 'config', command: 'DescribeConfigurationRecorders' },
  'config:SelectResourceConfig': { service: 'config', command: 'SelectResourceConfig' },
} as const satisfies Record<string, { service: string; command: string; action?: string }>;

export type AwsCall = keyof typeof AWS_CALLS;

/** The IAM action `call` needs. */
export function actionOf(call: AwsCall): string {
  const spec = AWS_CALLS[call];
  return 'action' in spec ? spec.action : call;
}

/** Every IAM action the collector's calls need, once each. */
export const AWS_ACTIONS: readonly string[] = [...new Set((Object.keys(AWS_CALLS) as AwsCall[]).map(actionOf))].sort();

/** Assumed from the server's own identity for an `aws_role` connection: needed by fourfold's identity, not the scanned role. */
export const AWS_ASSUME_ROLE_PERMISSION = 'sts:AssumeRole';
