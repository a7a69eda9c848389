import fs from 'node:fs';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import { raiseScheduledAlerts } from '../src/alerts/alert-runner';
import { insertOrganizationWithOwner } from '../src/organizations/organizations.service';
import { as, logInAs, startTestApp, type TestApp } from './support/app';
import { runAuditThroughHttp } from './support/audits';
import { deliveriesSettled, startReceiver, until } from './support/deliveries';
import { expectError } from './support/expectations';

// The event feed and webhook endpoints of an organization without a single alert rule.
const DAY = 86_400_000;
const START = new Date('2026-11-26T09:00:00Z');
const clock = { now: START };
const CERT_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/5a1c2e3f-0b4d-4e6f-8a9b-1c2d3e4f5a6b';
const native = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'inventory', 'native.json'), 'utf8'));
const awsResources = native.resources.filter((r: { provider: string }) => r.provider === 'aws');

let receiver: Awaited<ReturnType<typeof startReceiver>>;
let t: TestApp;
let owner: string;
let secret: string;
let endpointId: string;

interface FeedEvent {
  id: string;
  type: string;
  timestamp: string;
  data: { alert_rule: null | { id: string }; total: number; items: { kind: string; stage?: string; finding?: { id: string }; resource: { native_id: string } }[] };
}

beforeAll(async () => {
  receiver = await startReceiver();
  t = await startTestApp(
    { WEBHOOK_ALLOWED_HOSTS: receiver.host },
    { workers: true, auditSettings: { now: () => clock.now }, alertSettings: { now: () => clock.now, retryDelaysSeconds: [1, 1, 1, 1, 1, 1, 1] } },
  );
  owner = await t.ownerToken();
  const endpoint = await request(t.app)
    .post('/v1/webhook-endpoints')
    .set(as(owner))
    .send({ url: receiver.url('/feed'), event_types: ['finding_opened', 'certificate_expiring'] })
    .expect(201);
  endpointId = endpoint.body.id;
  secret = endpoint.body.secret;
  const account = (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: '123456789012', name: 'production' }).expect(201)).body.id;
  const certificate = {
    provider: 'aws',
    type: 'aws_acm_certificate',
    native_id: CERT_ARN,
    region: 'eu-west-1',
    name: 'api.company.com',
    attributes: { not_after: new Date(START.getTime() + 10 * DAY).toISOString(), domain_name: 'api.company.com' },
  };
  await request(t.app).post(`/v1/accounts/${account}/imports?format=native&mode=full`).set(as(owner)).send({ resources: [...awsResources, certificate] }).expect(201);
}, 600_000);

afterAll(async () => {
  await t?.close();
  await receiver?.close();
}, 600_000);

const events = async (query: string, token = owner): Promise<{ data: FeedEvent[]; next_cursor: string | null; has_more: boolean }> =>
  (await request(t.app).get(`/v1/events${query}`).set(as(token)).expect(200)).body;

async function auditAndSettle() {
  const audit = await runAuditThroughHttp(t.app, owner);
  expect(audit.status).toBe('succeeded');
  await until('the audit events', async () => (await t.db.selectFrom('alerted_audits').select('audit_id').where('audit_id', '=', audit.id).executeTakeFirst()) ?? undefined);
  await deliveriesSettled(t.app, owner);
  return audit;
}

describe('the event feed of an organization with no alert rule', () => {
  it('records the events of an audit: every finding opened, the certificate at its 30-day stage', async () => {
    expect(await t.db.selectFrom('alert_rules').select('id').execute()).toEqual([]);
    await auditAndSettle();
    const all = (await events('?limit=200')).data;
    expect(all.map((e) => e.type).sort()).toEqual(['certificate_expiring', 'finding_opened']);
    expect(all.every((e) => e.data.alert_rule === null && /^evt_/.test(e.id))).toBe(true);

    const [opened] = (await events('?type=finding_opened')).data;
    const findings = (await request(t.app).get('/v1/findings?limit=200').set(as(owner)).expect(200)).body.data as { id: string }[];
    expect(findings.length).toBeGreaterThan(0);
    expect(opened!.data.total).toBe(findings.length);
    expect(opened!.data.items.map((i) => i.finding!.id).sort()).toEqual(findings.map((f) => f.id).sort());

    // The fixture's own certificate ends a few hours more than 7 days from now.
    const [expiring] = (await events('?type=certificate_expiring')).data;
    expect(expiring!.data.total).toBe(2);
    expect(expiring!.data.items.find((i) => i.resource.native_id === CERT_ARN)).toMatchObject({ kind: 'expiry', stage: '30d', days_left: 10 });
    expect(expiring!.data.items.find((i) => i.resource.native_id !== CERT_ARN)).toMatchObject({ kind: 'expiry', stage: '30d', days_left: 7 });
  });

  it('sends each to the subscribed endpoint, signed, with the body the feed lists', async () => {
    expect(receiver.received).toHaveLength(2);
    const bodies = receiver.received.map((r) => new Webhook(secret).verify(r.body, r.headers) as { type: string; timestamp: string; data: unknown });
    const feed = (await events('?limit=200')).data;
    for (const body of bodies) {
      const listed = feed.find((e) => e.type === body.type)!;
      expect(body).toEqual({ type: listed.type, timestamp: listed.timestamp, data: listed.data });
    }
    const deliveries = (await request(t.app).get(`/v1/deliveries?webhook_endpoint_id=${endpointId}`).set(as(owner)).expect(200)).body.data;
    expect(deliveries).toHaveLength(2);
    expect(deliveries.every((d: { alert_rule_id: string | null; status: string }) => d.alert_rule_id === null && d.status === 'succeeded')).toBe(true);
  });

  it('records nothing more when a second audit sees the same findings and the same stage', async () => {
    const before = (await events('?limit=200')).data;
    await auditAndSettle();
    expect((await events('?limit=200')).data).toEqual(before);
    expect(receiver.received).toHaveLength(2);
  });

  it('records the next stage once, from the hourly check', async () => {
    clock.now = new Date(START.getTime() + 4 * DAY);
    await raiseScheduledAlerts(t.db, t.jobs, { now: () => clock.now });
    await raiseScheduledAlerts(t.db, t.jobs, { now: () => clock.now });
    await deliveriesSettled(t.app, owner);
    const [latest, ...earlier] = (await events('?type=certificate_expiring')).data;
    expect(earlier).toHaveLength(1);
    expect(latest!.data.total).toBe(2);
    expect(latest!.data.items.map((i) => i.stage)).toEqual(['7d', '7d']);
    expect(latest!.data.items.find((i) => i.resource.native_id === CERT_ARN)).toMatchObject({ days_left: 6 });
    expect(receiver.received).toHaveLength(3);
  });

  it('filters by type and time and pages with a cursor bound to its filters', async () => {
    const all = (await events('?limit=200')).data;
    expect(all).toHaveLength(3);
    const newest = all[0]!;
    const at = encodeURIComponent(newest.timestamp);
    expect((await events(`?since=${at}`)).data).toEqual([newest]);
    expect((await events(`?until=${at}`)).data).toEqual(all.slice(1));
    expect((await events('?type=finding_opened')).data.map((e) => e.type)).toEqual(['finding_opened']);

    const first = await events('?limit=2');
    expect(first.has_more).toBe(true);
    expect(first.data).toEqual(all.slice(0, 2));
    const second = await events(`?limit=2&cursor=${first.next_cursor}`);
    expect(second).toMatchObject({ has_more: false, next_cursor: null });
    expect(second.data).toEqual(all.slice(2));
    expectError(await request(t.app).get(`/v1/events?limit=2&type=finding_opened&cursor=${first.next_cursor}`).set(as(owner)), 400, 'invalid_cursor');
    expectError(await request(t.app).get('/v1/events?type=no_such_type').set(as(owner)), 422, 'validation_failed');
  });

  it("shows nothing of another organization's, and another organization's events are its own", async () => {
    await t.db.transaction().execute((trx) => insertOrganizationWithOwner(trx, { name: 'Other', username: 'events-other', password: 'other-password-123' }));
    const other = await logInAs(t.app, 'events-other', 'other-password-123');
    expect((await events('?limit=200', other)).data).toEqual([]);
    expectError(await request(t.app).get(`/v1/webhook-endpoints/${endpointId}`).set(as(other)), 404, 'not_found');
    expect((await request(t.app).get(`/v1/deliveries?webhook_endpoint_id=${endpointId}`).set(as(other)).expect(200)).body.data).toEqual([]);
  });
});
