import type { Express } from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { as } from './app';

/**
 * A stand-in for AWS on 127.0.0.1, reached through the SDK's endpoint override: it answers the
 * recorded shapes of the calls the collector makes (query/XML for STS, EC2, IAM, RDS, ELB, ELBv2;
 * REST/XML for S3; JSON for KMS, CloudTrail, Secrets Manager, ACM, DynamoDB, Logs; REST/JSON
 * for Lambda), so request signing, serialization and paging run for real. `state` says what the
 * account holds; `deny` makes an operation answer AccessDenied; `config` makes AWS Config record.
 */
export interface FakeAwsState {
  accountId: string;
  accessKeyId: string;
  buckets: string[];
  securityGroups: { id: string; name: string; openPorts: number[] }[];
  kmsKeys: string[];
  volumes: { id: string; encrypted: boolean }[];
  /** IAM users, in ListUsers and the credential report. */
  users: { name: string; password: boolean; mfa: boolean }[];
  /** Whether the credential report shows an active root access key. */
  rootAccessKey: boolean;
  /** Classic load balancers, each with one listener of this protocol. */
  classicLoadBalancers: { name: string; protocol: 'HTTP' | 'HTTPS' }[];
  /** Items per page of ListBuckets, ListKeys, DescribeSecurityGroups and DescribeVolumes (the token is the next offset). */
  pageSize: number;
  /** Operation names (`ListKeys`, `DescribeSecurityGroups`) answering AccessDenied. */
  deny: Set<string>;
  /** AWS Config: null when no recorder is set up; else one recorder recording every supported type (with IAM's) since `startedAt`, and the configuration items it captured. */
  config: { recording: boolean; startedAt: string; items: FakeConfigItem[] } | null;
}

/** A configuration item as Config's advanced query answers it. */
export interface FakeConfigItem {
  resourceType: string;
  resourceId: string;
  resourceName?: string;
  arn?: string;
  configurationItemCaptureTime: string;
}

export interface FakeAws {
  url: string;
  state: FakeAwsState;
  requests: number;
  /** Requests by operation (`DescribeKey`, `SelectResourceConfig`; S3 as `s3:<subresource>`, `s3:ListBuckets`). */
  calls: Record<string, number>;
  /** Every Authorization header seen (to check which key signed). */
  close(): Promise<void>;
}

const EC2_NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

export async function startFakeAws(initial: Partial<FakeAwsState> = {}): Promise<FakeAws> {
  const state: FakeAwsState = { accountId: '123456789012', accessKeyId: 'AKIATESTFAKE00000001', buckets: [], securityGroups: [], kmsKeys: [], volumes: [], users: [], rootAccessKey: false, classicLoadBalancers: [], pageSize: 1000, deny: new Set(), config: null, ...initial };
  const fake = { url: '', state, requests: 0, calls: {}, close: async () => {} } as FakeAws;
  const count = (operation: string) => {
    fake.calls[operation] = (fake.calls[operation] ?? 0) + 1;
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      fake.requests++;
      const body = Buffer.concat(chunks).toString('utf8');
      const send = (status: number, type: string, text: string) => {
        res.writeHead(status, { 'content-type': type, 'x-amzn-requestid': 'req-1' });
        res.end(text);
      };
      const auth = String(req.headers.authorization ?? '');
      if (!auth.includes(`Credential=${state.accessKeyId}/`)) {
        return send(403, 'text/xml', `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>1</RequestId></ErrorResponse>`);
      }
      const target = req.headers['x-amz-target'];
      if (typeof target === 'string') return json(target.split('.').at(-1)!, JSON.parse(body || '{}') as Record<string, unknown>, send);
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname.startsWith('/2015-03-31/functions')) return send(200, 'application/json', JSON.stringify({ Functions: [] }));
      if (req.method === 'POST' && body.includes('Action=')) return query(new URLSearchParams(body), send);
      return s3(req.method ?? 'GET', url, send);
    });
  });
  type Send = (status: number, type: string, text: string) => void;

  const denied = (operation: string) => state.deny.has(operation);
  /** One page of `items` from the offset `token`; `next` is the following page's token, if any. */
  const pageOf = <T>(items: T[], token: unknown) => {
    const start = Number(token ?? 0) || 0;
    const end = start + state.pageSize;
    return { items: items.slice(start, end), next: end < items.length ? String(end) : undefined };
  };

  function json(operation: string, _input: Record<string, unknown>, send: Send): void {
    const reply = (value: unknown) => send(200, 'application/x-amz-json-1.1', JSON.stringify(value));
    count(operation);
    if (denied(operation)) return send(400, 'application/x-amz-json-1.1', JSON.stringify({ __type: 'AccessDeniedException', message: `User is not authorized to perform: kms:${operation}` }));
    const keyArn = (id: string) => `arn:aws:kms:us-east-1:${state.accountId}:key/${id}`;
    switch (operation) {
      case 'ListKeys': {
        const { items, next } = pageOf(state.kmsKeys, _input.Marker);
        return reply({ Keys: items.map((id) => ({ KeyId: id, KeyArn: keyArn(id) })), Truncated: next !== undefined, ...(next === undefined ? {} : { NextMarker: next }) });
      }
      case 'DescribeKey': {
        const id = String(_input.KeyId);
        if (!state.kmsKeys.includes(id)) return send(400, 'application/x-amz-json-1.1', JSON.stringify({ __type: 'NotFoundException', message: 'not found' }));
        return reply({ KeyMetadata: { KeyId: id, Arn: keyArn(id), KeyManager: 'CUSTOMER', KeyState: 'Enabled', KeySpec: 'SYMMETRIC_DEFAULT', Enabled: true, KeyUsage: 'ENCRYPT_DECRYPT', Description: 'test key' } });
      }
      case 'GetKeyRotationStatus':
        return reply({ KeyRotationEnabled: false });
      case 'DescribeConfigurationRecorderStatus':
        return reply({ ConfigurationRecordersStatus: state.config ? [{ name: 'default', recording: state.config.recording, lastStartTime: Date.parse(state.config.startedAt) / 1000, lastStatus: 'Success' }] : [] });
      case 'DescribeConfigurationRecorders':
        return reply({ ConfigurationRecorders: state.config ? [{ name: 'default', roleARN: `arn:aws:iam::${state.accountId}:role/config`, recordingGroup: { allSupported: true, includeGlobalResourceTypes: true } }] : [] });
      case 'SelectResourceConfig': {
        // The subset of Config's SQL the collector sends: a capture time bound and a list of types.
        const expression = String(_input.Expression);
        const after = /configurationItemCaptureTime > '([^']+)'/.exec(expression)?.[1];
        const types = [...(/resourceType IN \(([^)]*)\)/.exec(expression)?.[1] ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1]);
        const items = (state.config?.items ?? []).filter((item) => (after === undefined || item.configurationItemCaptureTime > after) && (types.length === 0 || types.includes(item.resourceType)));
        const limit = Number(_input.Limit ?? 100);
        const start = Number(_input.NextToken ?? 0);
        const next = start + limit < items.length ? String(start + limit) : undefined;
        const page = items.slice(start, start + limit).map(({ configurationItemCaptureTime: _time, ...row }) => JSON.stringify(row));
        return reply({ Results: page, QueryInfo: { SelectFields: [{ Name: 'resourceType' }, { Name: 'resourceId' }, { Name: 'resourceName' }, { Name: 'arn' }] }, ...(next === undefined ? {} : { NextToken: next }) });
      }
      default:
        return reply({});
    }
  }

  function query(params: URLSearchParams, send: Send): void {
    const action = params.get('Action')!;
    count(action);
    const ec2 = params.has('Version') && params.get('Version') === '2016-11-15';
    if (denied(action)) {
      return ec2
        ? send(403, 'text/xml', `<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>1</RequestID></Response>`)
        : send(403, 'text/xml', `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform ${action}</Message></Error><RequestId>1</RequestId></ErrorResponse>`);
    }
    if (ec2) {
      let inner = '';
      const nextToken = (next: string | undefined) => (next === undefined ? '' : `<nextToken>${next}</nextToken>`);
      if (action === 'DescribeSecurityGroups') {
        const ids = params.get('Filter.1.Name') === 'group-id' ? [...params.entries()].filter(([key]) => key.startsWith('Filter.1.Value.')).map(([, value]) => value) : null;
        const { items, next } = pageOf(state.securityGroups.filter((g) => ids === null || ids.includes(g.id)), params.get('NextToken'));
        inner = `${nextToken(next)}<securityGroupInfo>${items
          .map(
            (g) =>
              `<item><ownerId>${state.accountId}</ownerId><groupId>${g.id}</groupId><groupName>${g.name}</groupName><groupDescription>${g.name}</groupDescription><vpcId>vpc-1</vpcId><ipPermissions>${g.openPorts
                .map((p) => `<item><ipProtocol>tcp</ipProtocol><fromPort>${p}</fromPort><toPort>${p}</toPort><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges></item>`)
                .join('')}</ipPermissions><ipPermissionsEgress/></item>`,
          )
          .join('')}</securityGroupInfo>`;
      } else if (action === 'DescribeVolumes') {
        const { items, next } = pageOf(state.volumes, params.get('NextToken'));
        inner = `${nextToken(next)}<volumeSet>${items
          .map((v) => `<item><volumeId>${v.id}</volumeId><size>100</size><availabilityZone>us-east-1a</availabilityZone><status>in-use</status><createTime>2026-01-01T00:00:00.000Z</createTime><volumeType>gp3</volumeType><iops>3000</iops><encrypted>${v.encrypted}</encrypted><attachmentSet/></item>`)
          .join('')}</volumeSet>`;
      } else if (action === 'GetEbsEncryptionByDefault') {
        inner = '<ebsEncryptionByDefault>true</ebsEncryptionByDefault>';
      } else if (action === 'DescribeRegions') {
        inner = '<regionInfo><item><regionName>us-east-1</regionName><regionEndpoint>ec2.us-east-1.amazonaws.com</regionEndpoint></item></regionInfo>';
      }
      return send(200, 'text/xml', `<${action}Response xmlns="${EC2_NS}"><requestId>1</requestId>${inner}</${action}Response>`);
    }
    let result = '';
    const elb = params.get('Version') === '2012-06-01';
    if (elb && action === 'DescribeLoadBalancers') {
      result = `<LoadBalancerDescriptions>${state.classicLoadBalancers
        .map((lb) => `<member><LoadBalancerName>${lb.name}</LoadBalancerName><DNSName>${lb.name}-1.us-east-1.elb.amazonaws.com</DNSName><Scheme>internet-facing</Scheme><AvailabilityZones><member>us-east-1a</member></AvailabilityZones><Subnets><member>subnet-1</member></Subnets><Instances/><SecurityGroups><member>sg-0a1</member></SecurityGroups><ListenerDescriptions><member><Listener><Protocol>${lb.protocol}</Protocol><LoadBalancerPort>${lb.protocol === 'HTTPS' ? 443 : 80}</LoadBalancerPort><InstanceProtocol>HTTP</InstanceProtocol><InstancePort>8080</InstancePort></Listener><PolicyNames/></member></ListenerDescriptions></member>`)
        .join('')}</LoadBalancerDescriptions>`;
    }
    if (elb && action === 'DescribeLoadBalancerAttributes') {
      result = '<LoadBalancerAttributes><CrossZoneLoadBalancing><Enabled>false</Enabled></CrossZoneLoadBalancing><AccessLog><Enabled>false</Enabled></AccessLog><ConnectionDraining><Enabled>true</Enabled><Timeout>300</Timeout></ConnectionDraining><ConnectionSettings><IdleTimeout>60</IdleTimeout></ConnectionSettings><AdditionalAttributes><member><Key>elb.http.desyncmitigationmode</Key><Value>defensive</Value></member></AdditionalAttributes></LoadBalancerAttributes>';
    }
    if (action === 'ListUsers') {
      result = `<Users>${state.users.map((u, i) => `<member><UserName>${u.name}</UserName><Path>/</Path><UserId>AIDA${i}</UserId><Arn>arn:aws:iam::${state.accountId}:user/${u.name}</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate></member>`).join('')}</Users>`;
    }
    if (action === 'GenerateCredentialReport') result = '<State>COMPLETE</State><Description>No report exists. Starting a new report generation task</Description>';
    if (action === 'GetCredentialReport') result = `<Content>${Buffer.from(credentialReport()).toString('base64')}</Content><ReportFormat>text/csv</ReportFormat><GeneratedTime>2026-12-01T00:00:00Z</GeneratedTime>`;
    if (action === 'GetCallerIdentity') result = `<Arn>arn:aws:iam::${state.accountId}:user/scanner</Arn><UserId>AIDA1</UserId><Account>${state.accountId}</Account>`;
    if (action.startsWith('List')) result += '<IsTruncated>false</IsTruncated>';
    return send(200, 'text/xml', `<${action}Response><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></${action}Response>`);
  }

  /** The IAM credential report's CSV (the columns AWS writes, in its order). */
  function credentialReport(): string {
    const header = 'user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated';
    const noKeys = 'false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A';
    const root = `<root_account>,arn:aws:iam::${state.accountId}:root,2020-01-01T00:00:00+00:00,not_supported,2026-11-01T00:00:00+00:00,not_supported,not_supported,true,${state.rootAccessKey ? 'true,2021-03-04T00:00:00+00:00,2026-11-30T00:00:00+00:00,us-east-1,s3' : 'false,N/A,N/A,N/A,N/A'},false,N/A,N/A,N/A,N/A,false,N/A,false,N/A`;
    const users = state.users.map((u) => `${u.name},arn:aws:iam::${state.accountId}:user/${u.name},2026-01-01T00:00:00+00:00,${u.password},N/A,${u.password ? '2026-01-02T00:00:00+00:00' : 'N/A'},N/A,${u.mfa},${noKeys}`);
    return [header, root, ...users].join('\n');
  }

  function s3(method: string, url: URL, send: Send): void {
    const xml = (text: string) => send(200, 'application/xml', `<?xml version="1.0" encoding="UTF-8"?>${text}`);
    const error = (status: number, code: string) => send(status, 'application/xml', `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`);
    const bucket = url.pathname.split('/')[1] ?? '';
    count(`s3:${bucket === '' ? 'ListBuckets' : ([...url.searchParams.keys()][0] ?? 'object')}`);
    if (method === 'GET' && bucket === '') {
      if (denied('ListBuckets')) return error(403, 'AccessDenied');
      const { items, next } = pageOf(state.buckets, url.searchParams.get('continuation-token'));
      return xml(`<ListAllMyBucketsResult>${next === undefined ? '' : `<ContinuationToken>${next}</ContinuationToken>`}<Buckets>${items.map((b) => `<Bucket><Name>${b}</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate><BucketRegion>us-east-1</BucketRegion></Bucket>`).join('')}</Buckets><Owner><ID>owner</ID></Owner></ListAllMyBucketsResult>`);
    }
    if (!state.buckets.includes(bucket)) return error(404, 'NoSuchBucket');
    const has = (key: string) => url.searchParams.has(key);
    if (has('location')) return xml('<LocationConstraint>us-east-1</LocationConstraint>');
    if (has('tagging')) return error(404, 'NoSuchTagSet');
    if (has('encryption')) return xml('<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>false</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>');
    if (has('versioning')) return xml('<VersioningConfiguration/>');
    if (has('publicAccessBlock')) return error(404, 'NoSuchPublicAccessBlockConfiguration');
    if (has('policy')) return error(404, 'NoSuchBucketPolicy');
    if (has('acl')) return xml('<AccessControlPolicy><Owner><ID>owner</ID></Owner><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>owner</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>');
    if (has('logging')) return xml('<BucketLoggingStatus/>');
    return error(400, 'NotImplemented');
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise((resolve) => server.close(() => resolve()));
  return fake;
}

/** Through the API: a new AWS account named after its external id; answers its id. */
export async function createAwsAccount(app: Express, token: string, externalId: string): Promise<string> {
  const response = await request(app).post('/v1/accounts').set(as(token)).send({ provider: 'aws', external_id: externalId, name: `aws ${externalId}` }).expect(201);
  return response.body.id as string;
}

/** Through the API: connects `accountId` to `fake` by its access key and `secretAccessKey`, with `extra` fields. */
export function connectToFake(app: Express, token: string, accountId: string, fake: FakeAws, secretAccessKey: string, extra: object = {}) {
  return request(app)
    .put(`/v1/accounts/${accountId}/connection`)
    .set(as(token))
    .send({ kind: 'aws_access_key', access_key_id: fake.state.accessKeyId, secret_access_key: secretAccessKey, regions: ['us-east-1'], ...extra });
}
