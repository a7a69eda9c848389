import request from 'supertest';
import { insertOrganizationWithOwner } from '../src/organizations/organizations.service';
import { as, logInAs, useTestApp } from './support/app';
import { startReceiver, until } from './support/deliveries';
import { expectError } from './support/expectations';
import { connectToFake, createAwsAccount, startFakeAws, type FakeAws } from './support/fake-aws';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.AWS_EC2_METADATA_DISABLED = 'true';

const SECRET_ACCESS_KEY = 'fakeSecretKeyZq9Xv2Lm8Pw4Rt6Yu1Io3As5Df7Gh0Jk';
const SECRETS_KEY = 'discovery-test-secrets-key-0123456789abcdef';
let fake: FakeAws;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  fake = await startFakeAws({
    buckets: ['logs-bucket'],
    securityGroups: [{ id: 'sg-0a1', name: 'web', openPorts: [22] }],
    kmsKeys: ['k-1'],
    users: [{ name: 'alice', password: true, mfa: false }, { name: 'bob', password: true, mfa: true }, { name: 'ci-deployer', password: false, mfa: false }],
    rootAccessKey: true,
    classicLoadBalancers: [{ name: 'legacy-web', protocol: 'HTTP' }],
  });
  receiver = await startReceiver();
});
afterAll(async () => {
  await fake.close();
  await receiver.close();
});

const t = useTestApp(() => ({ SECRETS_KEY, DISCOVERY_AWS_ENDPOINT: fake.url, WEBHOOK_ALLOWED_HOSTS: receiver.host }), { workers: true });

const newAccount = (token: string, externalId = '123456789012') => createAwsAccount(t.app, token, externalId);
const connect = (token: string, accountId: string, extra: object = {}) => connectToFake(t.app, token, accountId, fake, SECRET_ACCESS_KEY, extra);

async function scanToEnd(token: string, accountId: string, mode: 'full' | 'incremental') {
  const started = await request(t.app).post(`/v1/accounts/${accountId}/scans`).set(as(token)).send({ mode }).expect(202);
  expect(started.headers.location).toBe(`/v1/scans/${started.body.id}`);
  for (let i = 0; i < 600; i++) {
    const scan = (await request(t.app).get(`/v1/scans/${started.body.id}`).set(as(token)).expect(200)).body;
    if (!['queued', 'running'].includes(scan.status)) return scan;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the scan did not end');
}

async function auditToEnd(token: string, auditId: string) {
  for (let i = 0; i < 600; i++) {
    const audit = (await request(t.app).get(`/v1/audits/${auditId}`).set(as(token)).expect(200)).body;
    if (!['queued', 'running'].includes(audit.status)) return audit;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the audit did not end');
}

describe('connections', () => {
  it('stores the secret write-only and encrypted, answering its kind and fingerprint', async () => {
    const token = await t.ownerToken();
    const accountId = await newAccount(token, '210987654321');
    const put = await connect(token, accountId).expect(200);
    expect(put.body).toMatchObject({ kind: 'aws_access_key', access_key_id: fake.state.accessKeyId, regions: ['us-east-1'], external_id: null, audit_after_scan: true });
    expect(put.body.secret).toEqual({ kind: 'secret_access_key', fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{16}$/) });
    expect(JSON.stringify(put.body)).not.toContain(SECRET_ACCESS_KEY);
    const got = await request(t.app).get(`/v1/accounts/${accountId}/connection`).set(as(token)).expect(200);
    expect(got.body).toEqual(put.body);
    const row = await t.db.selectFrom('account_connections').selectAll().where('account_id', '=', accountId).executeTakeFirstOrThrow();
    expect(row.secret_encrypted).not.toContain(SECRET_ACCESS_KEY);
    expect(Buffer.from(row.secret_encrypted!, 'base64url').toString('latin1')).not.toContain(SECRET_ACCESS_KEY);
    // Sent again without the secret, the stored one stays.
    const kept = await request(t.app).put(`/v1/accounts/${accountId}/connection`).set(as(token)).send({ kind: 'aws_access_key', access_key_id: fake.state.accessKeyId, audit_after_scan: false }).expect(200);
    expect(kept.body.secret).toEqual(put.body.secret);
    await request(t.app).delete(`/v1/accounts/${accountId}/connection`).set(as(token)).expect(204);
    expectError(await request(t.app).get(`/v1/accounts/${accountId}/connection`).set(as(token)), 404, 'not_found');
  });

  it('shows the organization external id for a role, and refuses fields of another kind or provider', async () => {
    const token = await t.ownerToken();
    const accountId = await newAccount(token, '310987654321');
    const role = await request(t.app).put(`/v1/accounts/${accountId}/connection`).set(as(token)).send({ kind: 'aws_role', role_arn: 'arn:aws:iam::310987654321:role/fourfold' }).expect(200);
    expect(role.body.external_id).toMatch(/^ffx_[a-z0-9]{20}$/);
    expect(role.body.secret).toEqual({ kind: null, fingerprint: null });
    expectError(await request(t.app).put(`/v1/accounts/${accountId}/connection`).set(as(token)).send({ kind: 'aws_role', role_arn: 'arn:aws:iam::999999999999:role/x' }), 422, 'validation_failed');
    expectError(await request(t.app).put(`/v1/accounts/${accountId}/connection`).set(as(token)).send({ kind: 'aws_role', role_arn: 'arn:aws:iam::310987654321:role/x', tenant_id: '72f988bf-86f1-41af-91ab-2d7cd011db47' }), 422, 'validation_failed');
    expectError(await request(t.app).put(`/v1/accounts/${accountId}/connection`).set(as(token)).send({ kind: 'azure_service_principal', tenant_id: '72f988bf-86f1-41af-91ab-2d7cd011db47', client_id: '72f988bf-86f1-41af-91ab-2d7cd011db47', client_secret: 'x' }), 422, 'validation_failed');
  });

  it("keeps viewers from writing and answers 404 for another organization's account", async () => {
    const token = await t.ownerToken();
    const accountId = await newAccount(token, '410987654321');
    await connect(token, accountId).expect(200);
    const viewer = await t.addMember('viewer');
    expectError(await connect(viewer.token, accountId), 403, 'insufficient_scope');
    expectError(await request(t.app).post(`/v1/accounts/${accountId}/scans`).set(as(viewer.token)).send({ mode: 'full' }), 403, 'insufficient_scope');
    await request(t.app).get(`/v1/accounts/${accountId}/connection`).set(as(viewer.token)).expect(200);
    await t.db.transaction().execute((trx) => insertOrganizationWithOwner(trx, { name: 'Other', username: 'disc-other', password: 'other-password-123' }));
    const other = await logInAs(t.app, 'disc-other', 'other-password-123');
    for (const call of [
      request(t.app).get(`/v1/accounts/${accountId}/connection`),
      request(t.app).put(`/v1/accounts/${accountId}/connection`).send({ kind: 'aws_role', role_arn: 'arn:aws:iam::410987654321:role/x' }),
      request(t.app).delete(`/v1/accounts/${accountId}/connection`),
      request(t.app).post(`/v1/accounts/${accountId}/connection/verify`),
      request(t.app).post(`/v1/accounts/${accountId}/scans`).send({ mode: 'full' }),
    ]) {
      expectError(await call.set(as(other)), 404, 'not_found');
    }
    await request(t.app).delete(`/v1/accounts/${accountId}/connection`).set(as(token)).expect(204);
  });

  it("counts new connections against a starter plan's connected accounts, changes to one not", async () => {
    await t.db.transaction().execute((trx) => insertOrganizationWithOwner(trx, { name: 'Starter', username: 'disc-starter', password: 'starter-password-123' }));
    const token = await logInAs(t.app, 'disc-starter', 'starter-password-123');
    const accounts = [];
    for (let i = 0; i < 5; i++) accounts.push(await newAccount(token, `55555555555${i}`));
    for (const accountId of accounts.slice(0, 4)) await connect(token, accountId).expect(200);
    await connect(token, accounts[0]!, { audit_after_scan: false }).expect(200);
    const refused = await connect(token, accounts[4]!);
    expectError(refused, 403, 'plan_limit_reached');
    expect(refused.body.error.details).toEqual([expect.objectContaining({ plan_limit: 'connected_accounts', limit: 4, usage: 4, current_plan: 'starter' })]);
    expectError(await request(t.app).get(`/v1/accounts/${accounts[4]}/connection`).set(as(token)), 404, 'not_found');
    const entitlements = await request(t.app).get('/v1/organization/entitlements').set(as(token)).expect(200);
    expect(entitlements.body.limits.connected_accounts).toEqual({ limit: 4, usage: 4 });
    await request(t.app).delete(`/v1/accounts/${accounts[0]}/connection`).set(as(token)).expect(204);
    await connect(token, accounts[4]!).expect(200);
  });
});

describe('AWS scans through the API against a local stand-in', () => {
  let accountId: string;

  it('scans with exactly {"mode": "full"}, writes the resources, audits and finds', async () => {
    const token = await t.ownerToken();
    accountId = await newAccount(token);
    await connect(token, accountId).expect(200);
    const started = await request(t.app).post(`/v1/accounts/${accountId}/scans`).set(as(token)).send({ mode: 'full' }).expect(202);
    expect(started.body.status).toBe('queued');
    const busy = await request(t.app).post(`/v1/accounts/${accountId}/scans`).set(as(token)).send({ mode: 'full' });
    expectError(busy, 409, 'scan_in_progress');
    expect(busy.body.error.message).toContain(started.body.id);
    let scan = started.body;
    for (let i = 0; i < 600 && ['queued', 'running'].includes(scan.status); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      scan = (await request(t.app).get(`/v1/scans/${scan.id}`).set(as(token))).body;
    }
    expect(scan.status).toBe('succeeded');
    expect(scan.failures).toEqual([]);
    expect(scan.progress.units).toEqual(expect.arrayContaining([{ service: 's3', region: null, status: 'succeeded', resources: expect.any(Number) }, { service: 'ec2', region: 'us-east-1', status: 'succeeded', resources: 2 }]));
    expect(scan.progress.requests).toBeGreaterThan(10);
    expect(scan.counts).toMatchObject({ gone: 0, updated: 0 });
    const types = (await request(t.app).get(`/v1/resources?account_id=${accountId}&limit=200`).set(as(token)).expect(200)).body.data.map((r: { type: string }) => r.type);
    expect(types).toEqual(expect.arrayContaining(['aws_s3_bucket', 'aws_s3_bucket_acl', 'aws_s3_bucket_server_side_encryption_configuration', 'aws_security_group', 'aws_kms_key', 'aws_ebs_encryption_by_default']));
    expect(scan.audit_id).toMatch(/^aud_/);
    const audit = await auditToEnd(token, scan.audit_id);
    expect(audit.status).toBe('succeeded');
    const findings = (await request(t.app).get(`/v1/findings?audit_id=${audit.id}&limit=200`).set(as(token)).expect(200)).body.data as { rule_id: string; resource: { name: string } }[];
    expect(findings.some((f) => f.rule_id?.startsWith('aws.ec2.'))).toBe(true);
    expect(findings.some((f) => f.rule_id?.startsWith('aws.s3.'))).toBe(true);
    // The credential report: MFA only where a console password exists, and the root user's key.
    const failing = (ruleId: string) => findings.filter((f) => f.rule_id === ruleId).map((f) => f.resource.name);
    expect(failing('aws.iam.user_without_mfa')).toEqual(['alice']);
    expect(failing('aws.iam.root_access_key')).toEqual(['<root_account>']);
    // Classic load balancers as aws_elb, judged by the ELB rules.
    expect(types).toContain('aws_elb');
    expect(failing('aws.elb.classic_listener_not_encrypted')).toEqual(['legacy-web']);
    expect(failing('aws.elb.access_logging_off')).toEqual(['legacy-web']);
    expect(failing('aws.elb.classic_cross_zone_off')).toEqual(['legacy-web']);
    const listed = await request(t.app).get(`/v1/scans?account_id=${accountId}`).set(as(token)).expect(200);
    expect(listed.body.data.map((s: { id: string }) => s.id)).toContain(scan.id);
  });

  it('an incremental scan after a change writes one new version and nothing else', async () => {
    const token = await t.ownerToken();
    const listAll = async () => (await request(t.app).get(`/v1/resources?account_id=${accountId}&limit=200`).set(as(token)).expect(200)).body.data as { id: string; type: string; version: number; status: string; updated_at: string }[];
    const before = await listAll();
    const versionsBefore = await t.db.selectFrom('resource_versions').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    fake.state.securityGroups[0]!.openPorts = [22, 3389];
    const scan = await scanToEnd(token, accountId, 'incremental');
    expect(scan.status).toBe('succeeded');
    expect(scan.counts).toMatchObject({ created: 0, updated: 1, gone: 0 });
    const group = (await request(t.app).get(`/v1/resources?account_id=${accountId}&type=aws_security_group`).set(as(token)).expect(200)).body.data[0];
    expect(group.version).toBe(2);
    // Nothing else: the same resources, every other one exactly as it was, and one version row more.
    const after = await listAll();
    expect(after.map((r) => r.id).sort()).toEqual(before.map((r) => r.id).sort());
    // `last_seen_at` says when a scan last saw a resource; it is not a version of it.
    const asStored = ({ last_seen_at: _seen, ...rest }: Record<string, unknown>) => JSON.stringify(rest);
    const changed = after.filter((r) => asStored(r) !== asStored(before.find((b) => b.id === r.id)!));
    expect(changed.map((r) => r.id)).toEqual([group.id]);
    const versionsAfter = await t.db.selectFrom('resource_versions').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(Number(versionsAfter.n) - Number(versionsBefore.n)).toBe(1);
    const versions = (await request(t.app).get(`/v1/resources/${group.id}/versions`).set(as(token)).expect(200)).body.data;
    expect(versions).toHaveLength(2);
  });

  it('an incremental scan with AWS Config recording describes only what Config says changed, writes one new version and marks nothing gone', async () => {
    const token = await t.ownerToken();
    const versionCount = async () => Number((await t.db.selectFrom('resource_versions').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
    const resourcesBefore = (await request(t.app).get(`/v1/resources?account_id=${accountId}&limit=200`).set(as(token)).expect(200)).body.data as { id: string }[];
    const versionsBefore = await versionCount();
    fake.state.config = {
      recording: true,
      startedAt: '2026-01-01T00:00:00Z',
      items: [
        // Captured long before the last scan, which read it: not asked about again.
        { resourceType: 'AWS::KMS::Key', resourceId: 'k-1', configurationItemCaptureTime: '2026-01-02T00:00:00.000Z' },
        { resourceType: 'AWS::EC2::SecurityGroup', resourceId: 'sg-0a1', resourceName: 'web', configurationItemCaptureTime: new Date().toISOString() },
      ],
    };
    fake.state.securityGroups[0]!.openPorts = [22, 3389, 5432];
    const callsBefore = { ...fake.calls };
    const callsSince = (operation: string) => (fake.calls[operation] ?? 0) - (callsBefore[operation] ?? 0);
    try {
      const scan = await scanToEnd(token, accountId, 'incremental');
      expect(scan.status).toBe('succeeded');
      expect(scan.counts).toMatchObject({ created: 0, updated: 1, gone: 0 });
      expect(scan.progress.units).toContainEqual({ service: 'config', region: 'us-east-1', status: 'succeeded', resources: 1 });
      // Config was asked, and only the changed group was described: no key, no bucket, no load balancer.
      expect(callsSince('SelectResourceConfig')).toBe(1);
      expect(callsSince('DescribeSecurityGroups')).toBe(1);
      expect(callsSince('ListKeys') + callsSince('DescribeKey')).toBe(0);
      expect(callsSince('s3:acl') + callsSince('s3:location') + callsSince('s3:encryption')).toBe(0);
      expect(callsSince('DescribeLoadBalancerAttributes')).toBe(0);
      const group = (await request(t.app).get(`/v1/resources?account_id=${accountId}&type=aws_security_group`).set(as(token)).expect(200)).body.data[0];
      expect(group.version).toBe(3);
      const stored = (await request(t.app).get(`/v1/resources/${group.id}`).set(as(token)).expect(200)).body;
      expect(stored.attributes.ingress.map((rule: { from_port: number }) => rule.from_port)).toEqual([22, 3389, 5432]);
      expect(await versionCount()).toBe(versionsBefore + 1);
      const after = (await request(t.app).get(`/v1/resources?account_id=${accountId}&limit=200`).set(as(token)).expect(200)).body.data as { id: string; status: string }[];
      expect(after.map((r) => r.id).sort()).toEqual(resourcesBefore.map((r) => r.id).sort());
      expect(after.every((r) => r.status === 'active')).toBe(true);
    } finally {
      fake.state.config = null;
    }
  });

  it('a missing permission on one service ends partially_succeeded and marks nothing of it gone', async () => {
    const token = await t.ownerToken();
    fake.state.deny.add('ListKeys');
    // Config serves incremental scans only: a full scan does not ask it, so this denial is no failure of it; verify names it.
    fake.state.deny.add('SelectResourceConfig');
    try {
      const scan = await scanToEnd(token, accountId, 'full');
      expect(scan.status).toBe('partially_succeeded');
      expect(scan.failures).toEqual([{ service: 'kms', region: 'us-east-1', code: 'AccessDeniedException', message: expect.any(String), missing_permission: 'kms:ListKeys' }]);
      expect(scan.counts.gone).toBe(0);
      const keys = (await request(t.app).get(`/v1/resources?account_id=${accountId}&type=aws_kms_key`).set(as(token)).expect(200)).body.data;
      expect(keys.map((k: { status: string }) => k.status)).toEqual(['active']);
      const verified = await request(t.app).post(`/v1/accounts/${accountId}/connection/verify`).set(as(token)).expect(200);
      expect(verified.body.ok).toBe(false);
      expect(verified.body.checks).toContainEqual(expect.objectContaining({ permission: 'kms:ListKeys', ok: false }));
      expect(verified.body.checks).toContainEqual(expect.objectContaining({ permission: 's3:ListAllMyBuckets', ok: true }));
      expect(verified.body.checks).toContainEqual(expect.objectContaining({ permission: 'config:SelectResourceConfig', ok: false, error: expect.stringContaining('AccessDeniedException') }));
      expect(verified.body.checks).toContainEqual(expect.objectContaining({ permission: 'config:DescribeConfigurationRecorderStatus', ok: true }));
    } finally {
      fake.state.deny.clear();
    }
  });

  it('a full scan marks what it read completely but did not see as gone', async () => {
    const token = await t.ownerToken();
    fake.state.kmsKeys = [];
    const scan = await scanToEnd(token, accountId, 'full');
    expect(scan.status).toBe('succeeded');
    expect(scan.counts.gone).toBe(1);
    const keys = (await request(t.app).get(`/v1/resources?account_id=${accountId}&type=aws_kms_key&status=gone`).set(as(token)).expect(200)).body.data;
    expect(keys).toHaveLength(1);
  });

  it('wrong credentials end the scan failed with invalid_credentials', async () => {
    const token = await t.ownerToken();
    const other = await newAccount(token, '510987654321');
    await connect(token, other, { access_key_id: 'AKIAWRONGWRONG000001' }).expect(200);
    const scan = await scanToEnd(token, other, 'full');
    expect(scan.status).toBe('failed');
    expect(scan.error.code).toBe('invalid_credentials');
    const verified = await request(t.app).post(`/v1/accounts/${other}/connection/verify`).set(as(token)).expect(200);
    expect(verified.body).toMatchObject({ ok: false, error: { code: 'invalid_credentials' } });
  });

  it('cancels a queued scan, and refuses to cancel an ended one', async () => {
    const token = await t.ownerToken();
    const scans = await request(t.app).get(`/v1/scans?account_id=${accountId}&status=succeeded`).set(as(token)).expect(200);
    expectError(await request(t.app).post(`/v1/scans/${scans.body.data[0].id}/cancel`).set(as(token)), 409, 'scan_not_cancelable');
  });

  it('never shows a secret in a response, a log line or an error message', async () => {
    const token = await t.ownerToken();
    // Every answer a user of the scans could read: connections, verifications, scans (with their
    // errors and failures), and what the queue kept of the jobs.
    const answers: unknown[] = [];
    const scans = (await request(t.app).get('/v1/scans?limit=200').set(as(token)).expect(200)).body.data as { id: string; account_id: string }[];
    expect(scans.some((scan) => (scan as unknown as { error: unknown }).error !== null)).toBe(true);
    answers.push(scans);
    for (const id of new Set(scans.map((scan) => scan.account_id))) {
      answers.push((await request(t.app).get(`/v1/accounts/${id}/connection`).set(as(token)).expect(200)).body);
      answers.push((await request(t.app).post(`/v1/accounts/${id}/connection/verify`).set(as(token)).expect(200)).body);
      answers.push((await request(t.app).get(`/v1/scans/${scans.find((scan) => scan.account_id === id)!.id}`).set(as(token)).expect(200)).body);
    }
    answers.push((await request(t.app).get('/v1/audit-log?limit=200').set(as(token))).body);
    const rows = await t.db.selectFrom('scans').select(['error_message', 'failures']).execute();
    const text = JSON.stringify({ answers, rows, logs: t.logs });
    expect(t.logs.length).toBeGreaterThan(10);
    expect(text).not.toContain(SECRET_ACCESS_KEY);
    expect(text).not.toContain(SECRETS_KEY);
  });
});

describe('scan events', () => {
  interface ScanEvent {
    type: string;
    data: { alert_rule: { id: string } | null; total: number; items: { kind: string; scan: { id: string; status: string; error_code: string | null; failures: number }; account: { id: string } }[] };
  }
  const events = async (token: string, type: string): Promise<ScanEvent[]> => (await request(t.app).get(`/v1/events?type=${type}&limit=200`).set(as(token)).expect(200)).body.data;
  const scanIds = async (token: string, status: string) => (await request(t.app).get(`/v1/scans?status=${status}&limit=200`).set(as(token)).expect(200)).body.data.map((s: { id: string }) => s.id) as string[];

  it('records scan_completed for each scan that succeeded (partly or wholly) and scan_failed for each that failed, once', async () => {
    const token = await t.ownerToken();
    const completed = [...(await scanIds(token, 'succeeded')), ...(await scanIds(token, 'partially_succeeded'))];
    const failed = await scanIds(token, 'failed');
    expect(completed.length).toBeGreaterThan(2);
    expect(failed.length).toBeGreaterThan(0);
    await until('the scan events', async () => ((await events(token, 'scan_completed')).length === completed.length ? true : undefined));
    await until('the scan_failed events', async () => ((await events(token, 'scan_failed')).length === failed.length ? true : undefined));
    const done = await events(token, 'scan_completed');
    expect(done.every((e) => e.data.alert_rule === null && e.data.total === 1)).toBe(true);
    expect(done.map((e) => e.data.items[0]!.scan.id).sort()).toEqual(completed.sort());
    expect(done.find((e) => e.data.items[0]!.scan.status === 'partially_succeeded')!.data.items[0]!.scan.failures).toBe(1);
    const [failure] = await events(token, 'scan_failed');
    expect(failure!.data.items[0]).toMatchObject({ kind: 'scan', scan: { status: 'failed', error_code: 'invalid_credentials' } });
  });

  it('is an alert type: a scan_failed rule for one account delivers its message to the endpoint, the feed records the event', async () => {
    const token = await t.ownerToken();
    const failing = await newAccount(token, '610987654321');
    await connect(token, failing, { access_key_id: 'AKIAWRONGWRONG000002' }).expect(200);
    // Another account failing its scans (the plan's connected accounts allow no third).
    const accounts = (await request(t.app).get('/v1/accounts?limit=200').set(as(token)).expect(200)).body.data as { id: string; external_id: string }[];
    const ignored = accounts.find((a) => a.external_id === '510987654321')!.id;
    const endpoint = (await request(t.app).post('/v1/webhook-endpoints').set(as(token)).send({ url: receiver.url('/scans'), event_types: ['scan_failed'] }).expect(201)).body;
    const rule = (
      await request(t.app)
        .post('/v1/alert-rules')
        .set(as(token))
        .send({ name: 'Failed scans of production', alert_type: 'scan_failed', filters: { account_ids: [failing] }, delivery_method: 'webhook', webhook_endpoint_id: endpoint.id })
        .expect(201)
    ).body;
    expectError(
      await request(t.app).post('/v1/alert-rules').set(as(token)).send({ name: 'x', alert_type: 'scan_failed', filters: { min_severity: 'high' }, delivery_method: 'webhook', webhook_endpoint_id: endpoint.id }),
      422,
      'validation_failed',
    );
    const before = (await events(token, 'scan_failed')).length;
    const first = await scanToEnd(token, failing, 'full');
    const second = await scanToEnd(token, ignored, 'full');
    expect([first.status, second.status]).toEqual(['failed', 'failed']);
    await until('both scan_failed events', async () => ((await events(token, 'scan_failed')).length === before + 2 ? true : undefined));
    await until('the rule delivery', () => (receiver.received.length > 0 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(receiver.received).toHaveLength(1);
    const body = JSON.parse(receiver.received[0]!.body) as ScanEvent;
    expect(body).toMatchObject({ type: 'scan_failed', data: { alert_rule: { id: rule.id }, total: 1, items: [{ kind: 'scan', scan: { id: first.id }, account: { id: failing } }] } });
  });
});
