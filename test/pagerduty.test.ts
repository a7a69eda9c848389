import request from 'supertest';
import { insertOrganizationWithOwner } from '../src/organizations/organizations.service';
import { as, logInAs, startTestApp, type TestApp } from './support/app';
import { runAuditThroughHttp } from './support/audits';
import { deliveriesSettled, startReceiver, until } from './support/deliveries';
import { expectError } from './support/expectations';

const ROUTING_KEY = 'R0UTINGKEYsecretpart0123456789AB';
const CERT_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/5b1d9e0c-2a7f-4e3b-8c6d-1f0a9b8c7d6e';

let receiver: Awaited<ReturnType<typeof startReceiver>>;
let t: TestApp;
let owner: string;
let policyId: string;
let ruleId: string;
let accountId: string;

const exposure = (condition: string) => ({
  title: 'Exposed certificate',
  description: 'A certificate marked exposed.',
  dimension: 'security',
  severity: 'critical',
  resource_types: ['aws_acm_certificate'],
  condition,
  evidence: ['tags.exposed'],
  remediation: { text: 'Replace it.' },
});
const setCondition = (condition: string) => request(t.app).patch(`/v1/policies/${policyId}`).set(as(owner)).send({ custom: exposure(condition) }).expect(200);
const events = () => receiver.received.filter((r) => r.path === '/v2/enqueue').map((r) => JSON.parse(r.body));
const settled = () => deliveriesSettled(t.app, owner);

async function auditAndDeliver() {
  const audit = await runAuditThroughHttp(t.app, owner);
  expect(audit.status).toBe('succeeded');
  await until('the audit alerts', async () => (await t.db.selectFrom('alerted_audits').select('audit_id').where('audit_id', '=', audit.id).executeTakeFirst()) ?? undefined);
  await settled();
}

beforeAll(async () => {
  receiver = await startReceiver(202);
  t = await startTestApp(
    { WEBHOOK_ALLOWED_HOSTS: receiver.host, PAGERDUTY_EVENTS_URL: receiver.url('/v2/enqueue'), PUBLIC_URL: 'https://fourfold.example.com' },
    { workers: true, alertSettings: { retryDelaysSeconds: [1, 1, 1, 1, 1, 1, 1] } },
  );
  owner = await t.ownerToken();
  const account = (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: '123456789012', name: 'production' }).expect(201)).body.id;
  accountId = account;
  await request(t.app)
    .post(`/v1/accounts/${account}/imports?format=native&mode=full`)
    .set(as(owner))
    .send({ resources: [{ provider: 'aws', type: 'aws_acm_certificate', native_id: CERT_ARN, region: 'eu-west-1', name: 'www.company.com', attributes: { domain_name: 'www.company.com' } }] })
    .expect(201);
  policyId = (await request(t.app).post('/v1/policies').set(as(owner)).send({ kind: 'custom', name: 'Exposure', custom: exposure('false') }).expect(201)).body.id;
}, 600_000);

afterAll(async () => {
  await t?.close();
  await receiver?.close();
}, 600_000);

describe('pagerduty delivery', () => {
  it('keeps the routing key encrypted and never answers it', async () => {
    const create = (body: object) => request(t.app).post('/v1/alert-rules').set(as(owner)).send({ name: 'Page on exposures', alert_type: 'finding_opened', delivery_method: 'pagerduty', ...body });
    const missing = await create({});
    expectError(missing, 422, 'validation_failed');
    expect(missing.body.error.details[0].field).toBe('body.pagerduty_routing_key');
    expect((await create({ pagerduty_routing_key: ROUTING_KEY, recipients: ['a@company.com'] })).body.error.details[0].field).toBe('body.recipients');
    const created = await create({ pagerduty_routing_key: ROUTING_KEY, filters: { policy_ids: [policyId] } }).expect(201);
    ruleId = created.body.id;
    expect(created.body).toMatchObject({ delivery_method: 'pagerduty', recipients: [], target_set: true });
    const answers = [
      created.body,
      (await request(t.app).get(`/v1/alert-rules/${ruleId}`).set(as(owner)).expect(200)).body,
      (await request(t.app).get('/v1/alert-rules').set(as(owner)).expect(200)).body,
      (await request(t.app).patch(`/v1/alert-rules/${ruleId}`).set(as(owner)).send({ name: 'Page on exposures' }).expect(200)).body,
    ];
    for (const answer of answers) expect(JSON.stringify(answer)).not.toContain('secretpart');
    const stored = await t.db.selectFrom('alert_rules').select('target_encrypted').where('id', '=', ruleId).executeTakeFirstOrThrow();
    expect(stored.target_encrypted).not.toContain('secretpart');
  });

  it('refuses a rule when PAGERDUTY_EVENTS_URL is not an address it may call', async () => {
    const guarded = await startTestApp({ PAGERDUTY_EVENTS_URL: 'https://10.0.0.1/v2/enqueue' }, { sharing: t });
    try {
      const refused = await request(guarded.app)
        .post('/v1/alert-rules')
        .set(as(owner))
        .send({ name: 'x', alert_type: 'audit_failed', delivery_method: 'pagerduty', pagerduty_routing_key: ROUTING_KEY });
      expectError(refused, 422, 'webhook_url_not_allowed');
      expect(refused.body.error.details[0].field).toBe('body.pagerduty_routing_key');
    } finally {
      await guarded.close();
    }
  });

  it('triggers once per finding with a stable dedup_key, retried after a 500, and resolves it when the finding resolves', async () => {
    await auditAndDeliver();
    expect(events()).toHaveLength(0);

    await setCondition('true');
    receiver.answers.push(500);
    await auditAndDeliver();
    const [finding] = (await request(t.app).get(`/v1/findings?policy_id=${policyId}`).set(as(owner)).expect(200)).body.data;
    const triggers = events();
    expect(triggers).toHaveLength(2);
    expect(triggers[1]).toEqual(triggers[0]);
    expect(triggers[0]).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: `fourfold/${ruleId}/${finding.id}`,
      payload: {
        summary: 'Page on exposures: [critical] Exposed certificate on www.company.com (aws_acm_certificate)',
        severity: 'critical',
        source: `production (123456789012) ${CERT_ARN}`,
        component: 'aws_acm_certificate',
        group: 'production',
        class: 'finding_opened',
        custom_details: { kind: 'finding', finding: { id: finding.id } },
      },
      client: 'fourfold',
      links: [{ href: `https://fourfold.example.com/v1/findings/${finding.id}`, text: 'Open in fourfold' }],
    });
    const [delivery] = (await request(t.app).get(`/v1/deliveries?alert_rule_id=${ruleId}`).set(as(owner)).expect(200)).body.data;
    expect(delivery).toMatchObject({ method: 'pagerduty', recipient: 'pagerduty', status: 'succeeded', attempt_count: 2 });
    const detail = (await request(t.app).get(`/v1/deliveries/${delivery.id}`).set(as(owner)).expect(200)).body;
    expect(detail.attempts.map((a: { status_code: number }) => a.status_code)).toEqual([500, 202]);
    expect(detail.attempts[0].error).toBe('HTTP 500 (event 1 of 1)');
    expect(JSON.stringify(detail)).not.toContain('secretpart');

    await auditAndDeliver();
    expect(events()).toHaveLength(2);

    await setCondition('false');
    await auditAndDeliver();
    expect(events()).toHaveLength(3);
    expect(events()[2]).toEqual({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: `fourfold/${ruleId}/${finding.id}` });
    await auditAndDeliver();
    expect(events()).toHaveLength(3);
    expect(JSON.stringify(t.logs)).not.toContain('secretpart');
  });

  it('resolves the alert of a finding a person suppresses or accepts, once, and of no other organization', async () => {
    const certificate = (native_id: string, name: string) => ({ provider: 'aws', type: 'aws_acm_certificate', native_id, region: 'eu-west-1', name, attributes: { domain_name: name } });
    const OTHER_ARNS = [`${CERT_ARN}-api`, `${CERT_ARN}-mail`];
    await request(t.app)
      .post(`/v1/accounts/${accountId}/imports?format=native&mode=full`)
      .set(as(owner))
      .send({ resources: [certificate(CERT_ARN, 'www.company.com'), certificate(OTHER_ARNS[0]!, 'api.company.com'), certificate(OTHER_ARNS[1]!, 'mail.company.com')] })
      .expect(201);
    // The first certificate's finding is reopened (not a finding_opened trigger); the two new ones are opened.
    await setCondition('true');
    const before = events().length;
    await auditAndDeliver();
    const open = (await request(t.app).get(`/v1/findings?policy_id=${policyId}&status=open`).set(as(owner)).expect(200)).body.data as { id: string; resource: { native_id: string } }[];
    expect(open).toHaveLength(3);
    const opened = open.filter((f) => OTHER_ARNS.includes(f.resource.native_id));
    expect(opened).toHaveLength(2);
    expect(events().slice(before).map((e) => e.event_action)).toEqual(['trigger', 'trigger']);
    const [suppressed, accepted] = opened;

    await t.db.transaction().execute((trx) => insertOrganizationWithOwner(trx, { name: 'Other', username: 'pd-triage-other', password: 'other-password-123' }));
    const other = await logInAs(t.app, 'pd-triage-other', 'other-password-123');
    expectError(await request(t.app).patch(`/v1/findings/${suppressed!.id}`).set(as(other)).send({ status: 'suppressed', reason: 'Not mine' }), 404, 'not_found');
    await settled();
    expect(events()).toHaveLength(before + 2);

    await request(t.app).patch(`/v1/findings/${suppressed!.id}`).set(as(owner)).send({ status: 'suppressed', reason: 'False positive: a test certificate' }).expect(200);
    await settled();
    expect(events()).toHaveLength(before + 3);
    expect(events().at(-1)).toEqual({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: `fourfold/${ruleId}/${suppressed!.id}` });
    const [resolve] = (await request(t.app).get(`/v1/deliveries?alert_rule_id=${ruleId}&limit=1`).set(as(owner)).expect(200)).body.data;
    expect(resolve).toMatchObject({ method: 'pagerduty', status: 'succeeded', event_type: 'finding_opened' });

    const expires = new Date(Date.now() + 10 * 86_400_000).toISOString();
    const batch = await request(t.app)
      .post('/v1/findings/batch-update')
      .set(as(owner))
      .send({ ids: [accepted!.id], change: { status: 'risk_accepted', reason: 'Compensating control', expires_at: expires } })
      .expect(200);
    expect(batch.body.results).toEqual([{ id: accepted!.id, result: 'updated', message: null }]);
    await settled();
    expect(events()).toHaveLength(before + 4);
    expect(events().at(-1)).toEqual({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: `fourfold/${ruleId}/${accepted!.id}` });

    // Reopened by hand and suppressed again: the alert was resolved already, nothing more is sent.
    await request(t.app).patch(`/v1/findings/${suppressed!.id}`).set(as(owner)).send({ status: 'open' }).expect(200);
    await request(t.app).patch(`/v1/findings/${suppressed!.id}`).set(as(owner)).send({ status: 'suppressed', reason: 'Still a test certificate' }).expect(200);
    await settled();
    expect(events()).toHaveLength(before + 4);
  });

  it('sends a sample trigger now, and answers 404 to another organization', async () => {
    await request(t.app).post(`/v1/alert-rules/${ruleId}/test`).set(as(owner)).expect(202);
    await settled();
    expect(events().at(-1)).toMatchObject({ event_action: 'trigger', payload: { summary: expect.stringContaining('Sample finding') } });
    await t.db.transaction().execute((trx) => insertOrganizationWithOwner(trx, { name: 'Other', username: 'pd-other', password: 'other-password-123' }));
    const other = await logInAs(t.app, 'pd-other', 'other-password-123');
    expectError(await request(t.app).get(`/v1/alert-rules/${ruleId}`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).post(`/v1/alert-rules/${ruleId}/test`).set(as(other)), 404, 'not_found');
  });
});
