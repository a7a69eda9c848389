import fs from 'node:fs';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import { insertOrganizationWithOwner } from '../src/organizations/organizations.service';
import { isPublicAddress } from '../src/webhooks/url-guard';
import { as, logInAs, startTestApp, type TestApp } from './support/app';
import { runAuditThroughHttp } from './support/audits';
import { deliveriesSettled, startReceiver, until, type Received } from './support/deliveries';
import { expectError } from './support/expectations';

const native = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'inventory', 'native.json'), 'utf8'));
const awsResources = native.resources.filter((r: { provider: string }) => r.provider === 'aws');

let receiver: Awaited<ReturnType<typeof startReceiver>>;
let received: Received[];
/** The status codes the receiver answers with, in turn; 200 once they run out. */
let answers: number[];
let hookUrl: string;
let t: TestApp;
let owner: string;
let endpointId: string;
let secret: string;

beforeAll(async () => {
  receiver = await startReceiver();
  ({ received, answers } = receiver);
  hookUrl = receiver.url('/hooks/fourfold');
  t = await startTestApp({ WEBHOOK_ALLOWED_HOSTS: receiver.host }, { workers: true, alertSettings: { retryDelaysSeconds: [1, 1, 1, 1, 1, 1, 1] } });
  owner = await t.ownerToken();
}, 600_000);

afterAll(async () => {
  await t?.close();
  await receiver?.close();
}, 600_000);

const settled = () => deliveriesSettled(t.app, owner);

describe('webhook endpoints', () => {
  it('shows the signing secret once, with Cache-Control: no-store, and never again', async () => {
    const created = await request(t.app).post('/v1/webhook-endpoints').set(as(owner)).send({ url: hookUrl, description: 'SIEM', event_types: ['finding_opened'] }).expect(201);
    expect(created.headers['cache-control']).toBe('no-store');
    expect(created.headers.location).toBe(`/v1/webhook-endpoints/${created.body.id}`);
    expect(created.body).toMatchObject({ url: hookUrl, event_types: ['finding_opened'], enabled: true, disabled_reason: null, secret: expect.stringMatching(/^whsec_/) });
    endpointId = created.body.id;
    secret = created.body.secret;
    const got = (await request(t.app).get(`/v1/webhook-endpoints/${endpointId}`).set(as(owner)).expect(200)).body;
    expect(got.secret).toBeNull();
    const listed = await request(t.app).get('/v1/webhook-endpoints').set(as(owner)).expect(200);
    expect(listed.body.data.map((e: { id: string }) => e.id)).toEqual([endpointId]);
    expect(JSON.stringify(listed.body)).not.toContain(secret.slice(6));
    const stored = await t.db.selectFrom('webhook_endpoints').select('secret_encrypted').where('id', '=', endpointId).executeTakeFirstOrThrow();
    expect(stored.secret_encrypted).not.toContain(secret.slice(6));
  });

  it('delivers finding_opened with min_severity high: one signed delivery per audit, retried after 500s (must show 2)', async () => {
    const rule = await request(t.app)
      .post('/v1/alert-rules')
      .set(as(owner))
      .send({ name: 'New high findings', alert_type: 'finding_opened', filters: { min_severity: 'high' }, delivery_method: 'webhook', webhook_endpoint_id: endpointId })
      .expect(201);
    expect(rule.body).toMatchObject({ delivery_method: 'webhook', webhook_endpoint_id: endpointId, recipients: [] });
    const account = (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: '345678901234', name: 'dev' }).expect(201)).body.id;
    await request(t.app).post(`/v1/accounts/${account}/imports?format=native&mode=full`).set(as(owner)).send({ resources: awsResources }).expect(201);
    answers.push(500, 500);
    await runAuditThroughHttp(t.app, owner);
    await until('three attempts', () => (received.length >= 3 ? true : undefined));
    await settled();
    expect(received).toHaveLength(3);
    const ids = new Set(received.map((r) => r.headers['webhook-id']));
    expect(ids.size).toBe(1);
    const last = received[2]!;
    const event = new Webhook(secret).verify(last.body, last.headers) as { type: string; data: { total: number; items: { kind: string; finding: { severity: string; id: string } }[] } };
    expect(event.type).toBe('finding_opened');
    const highs = (await request(t.app).get('/v1/findings?severity=high,critical&limit=200').set(as(owner)).expect(200)).body.data;
    expect(highs.length).toBeGreaterThan(0);
    expect(event.data.total).toBe(highs.length);
    expect(event.data.items.map((i) => i.finding.id).sort()).toEqual(highs.map((f: { id: string }) => f.id).sort());
    expect(new Set(event.data.items.map((i) => i.finding.severity))).toEqual(new Set(highs.map((f: { severity: string }) => f.severity)));
    expect(() => new Webhook(`whsec_${Buffer.from('another secret entirely, 32 b!!').toString('base64')}`).verify(last.body, last.headers)).toThrow();

    const [delivery] = (await request(t.app).get(`/v1/deliveries?webhook_endpoint_id=${endpointId}`).set(as(owner)).expect(200)).body.data;
    expect(delivery).toMatchObject({ id: last.headers['webhook-id'], method: 'webhook', recipient: endpointId, status: 'succeeded', attempt_count: 3 });
    const detail = (await request(t.app).get(`/v1/deliveries/${delivery.id}`).set(as(owner)).expect(200)).body;
    expect(detail.attempts.map((a: { status_code: number }) => a.status_code)).toEqual([500, 500, 200]);
    expect(detail.attempts[0].error).toBe('HTTP 500');

    await runAuditThroughHttp(t.app, owner);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await settled();
    expect(received).toHaveLength(3);
  });

  it('signs with both secrets during a rotation overlap', async () => {
    const rotated = await request(t.app).post(`/v1/webhook-endpoints/${endpointId}/rotate-secret`).set(as(owner)).send({ overlap_hours: 1 }).expect(200);
    expect(rotated.headers['cache-control']).toBe('no-store');
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(secret);
    expect(rotated.body.previous_secret_expires_at).not.toBeNull();
    const [delivery] = (await request(t.app).get(`/v1/deliveries?webhook_endpoint_id=${endpointId}`).set(as(owner)).expect(200)).body.data;
    await request(t.app).post(`/v1/deliveries/${delivery.id}/redeliver`).set(as(owner)).expect(202);
    await until('the redelivery', () => (received.length === 4 ? true : undefined));
    const again = received[3]!;
    expect(again.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(new Webhook(rotated.body.secret).verify(again.body, again.headers)).toMatchObject({ type: 'finding_opened' });
    expect(new Webhook(secret).verify(again.body, again.headers)).toMatchObject({ type: 'finding_opened' });
    const oldSecret = secret;
    secret = rotated.body.secret;
    await settled();
    const logged = JSON.stringify(t.logs);
    for (const s of [oldSecret, secret]) expect(logged).not.toContain(s.slice(6));
  });

  it('disables an endpoint failing for a day, with the reason, and re-enables it', async () => {
    await t.db.updateTable('webhook_endpoints').set({ failing_since: new Date(Date.now() - 25 * 3600_000) }).where('id', '=', endpointId).execute();
    answers.push(400);
    const [delivery] = (await request(t.app).get(`/v1/deliveries?webhook_endpoint_id=${endpointId}`).set(as(owner)).expect(200)).body.data;
    await request(t.app).post(`/v1/deliveries/${delivery.id}/redeliver`).set(as(owner)).expect(202);
    await settled();
    const failed = (await request(t.app).get(`/v1/deliveries/${delivery.id}`).set(as(owner)).expect(200)).body;
    expect(failed.status).toBe('failed');
    expect(failed.attempts.at(-1)).toMatchObject({ status_code: 400, error: 'HTTP 400' });
    const disabled = (await request(t.app).get(`/v1/webhook-endpoints/${endpointId}`).set(as(owner)).expect(200)).body;
    expect(disabled).toMatchObject({ enabled: false, disabled_reason: 'Every delivery failed for a day; the last: HTTP 400' });
    const enabled = (await request(t.app).patch(`/v1/webhook-endpoints/${endpointId}`).set(as(owner)).send({ enabled: true }).expect(200)).body;
    expect(enabled).toMatchObject({ enabled: true, disabled_reason: null });
    await request(t.app).post(`/v1/deliveries/${delivery.id}/redeliver`).set(as(owner)).expect(202);
    await settled();
    expect((await request(t.app).get(`/v1/deliveries/${delivery.id}`).set(as(owner)).expect(200)).body.status).toBe('succeeded');
  });

  it('refuses private, loopback, link-local, metadata and plain-http URLs unless allowed (must show 3)', async () => {
    for (const url of [
      'https://127.0.0.1/hook',
      'https://10.0.0.1/hook',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/hook',
      'https://[::ffff:127.0.0.1]/hook',
      'https://[fd00:ec2::254]/hook',
      'https://100.64.0.1/hook',
      'https://localhost/hook',
      'http://example.com/hook',
      'ftp://example.com/hook',
    ]) {
      const response = await request(t.app).post('/v1/webhook-endpoints').set(as(owner)).send({ url, event_types: ['audit_failed'] });
      expectError(response, 422, 'webhook_url_not_allowed');
      expect(response.body.error.details[0].field).toBe('body.url');
    }
    expectError(await request(t.app).patch(`/v1/webhook-endpoints/${endpointId}`).set(as(owner)).send({ url: 'https://10.0.0.1/' }), 422, 'webhook_url_not_allowed');
    const allowing = await startTestApp({ WEBHOOK_ALLOWED_HOSTS: 'localhost:443,10.0.0.1:8443' }, { sharing: t });
    try {
      await request(allowing.app).post('/v1/webhook-endpoints').set(as(owner)).send({ url: 'https://localhost/hook', event_types: ['audit_failed'] }).expect(201);
      await request(allowing.app).post('/v1/webhook-endpoints').set(as(owner)).send({ url: 'http://10.0.0.1:8443/hook', event_types: ['audit_failed'] }).expect(201);
      expectError(await request(allowing.app).post('/v1/webhook-endpoints').set(as(owner)).send({ url: 'https://10.0.0.1/hook', event_types: ['audit_failed'] }), 422, 'webhook_url_not_allowed');
    } finally {
      await allowing.close();
    }
  });

  it('judges addresses as public or not, IPv4 and IPv6, mapped ones as their IPv4 address', () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.1.1', '0.0.0.0', '::1', '::', 'fe80::1', 'fc00::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe']) {
      expect([address, isPublicAddress(address)]).toEqual([address, false]);
    }
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect([address, isPublicAddress(address)]).toEqual([address, true]);
  });

  it('refuses a webhook rule without an endpoint, or with one not taking its type', async () => {
    const create = (body: object) => request(t.app).post('/v1/alert-rules').set(as(owner)).send({ name: 'x', alert_type: 'audit_failed', delivery_method: 'webhook', ...body });
    expect((await create({})).body.error.details[0].field).toBe('body.webhook_endpoint_id');
    const notTaking = await create({ webhook_endpoint_id: endpointId });
    expectError(notTaking, 422, 'validation_failed');
    expect(notTaking.body.error.details[0]).toEqual({ field: 'body.webhook_endpoint_id', issue: "the endpoint's event_types do not include audit_failed" });
  });

  it('lets a viewer read endpoints but not write them', async () => {
    const viewer = await t.addMember('viewer');
    const got = (await request(t.app).get(`/v1/webhook-endpoints/${endpointId}`).set(as(viewer.token)).expect(200)).body;
    expect(got.secret).toBeNull();
    expectError(await request(t.app).post('/v1/webhook-endpoints').set(as(viewer.token)).send({ url: hookUrl, event_types: ['audit_failed'] }), 403, 'insufficient_scope');
    expectError(await request(t.app).patch(`/v1/webhook-endpoints/${endpointId}`).set(as(viewer.token)).send({ enabled: false }), 403, 'insufficient_scope');
    expectError(await request(t.app).post(`/v1/webhook-endpoints/${endpointId}/rotate-secret`).set(as(viewer.token)), 403, 'insufficient_scope');
    expectError(await request(t.app).delete(`/v1/webhook-endpoints/${endpointId}`).set(as(viewer.token)), 403, 'insufficient_scope');
  });

  it("answers 404 for another organization's endpoints", async () => {
    await t.db.transaction().execute((trx) => insertOrganizationWithOwner(trx, { name: 'Other', username: 'hooks-other', password: 'other-password-123' }));
    const other = await logInAs(t.app, 'hooks-other', 'other-password-123');
    expectError(await request(t.app).get(`/v1/webhook-endpoints/${endpointId}`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).patch(`/v1/webhook-endpoints/${endpointId}`).set(as(other)).send({ enabled: false }), 404, 'not_found');
    expectError(await request(t.app).post(`/v1/webhook-endpoints/${endpointId}/rotate-secret`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).delete(`/v1/webhook-endpoints/${endpointId}`).set(as(other)), 404, 'not_found');
    expect((await request(t.app).get('/v1/webhook-endpoints').set(as(other)).expect(200)).body.data).toEqual([]);
    const foreign = await request(t.app).post('/v1/alert-rules').set(as(other)).send({ name: 'x', alert_type: 'finding_opened', delivery_method: 'webhook', webhook_endpoint_id: endpointId });
    expectError(foreign, 422, 'validation_failed');
    await request(t.app).delete(`/v1/webhook-endpoints/${endpointId}`).set(as(owner)).expect(204);
    expectError(await request(t.app).get(`/v1/webhook-endpoints/${endpointId}`).set(as(owner)), 404, 'not_found');
  });
});

describe('slack delivery', () => {
  it('stores the Slack URL encrypted, never answers it, guards it, and posts Block Kit to it', async () => {
    const slackUrl = hookUrl.replace('/hooks/fourfold', '/services/T000/B000/slack-secret-part');
    const create = (body: object) => request(t.app).post('/v1/alert-rules').set(as(owner)).send({ name: 'Slack findings', alert_type: 'finding_opened', delivery_method: 'slack', ...body });
    expectError(await create({}), 422, 'validation_failed');
    expectError(await create({ slack_webhook_url: 'https://10.0.0.1/services/x' }), 422, 'webhook_url_not_allowed');
    expectError(await create({ slack_webhook_url: slackUrl, recipients: ['a@company.com'] }), 422, 'validation_failed');
    const created = await create({ slack_webhook_url: slackUrl }).expect(201);
    expect(created.body).toMatchObject({ delivery_method: 'slack', recipients: [], target_set: true });
    expect(JSON.stringify(created.body)).not.toContain('slack-secret-part');
    const got = await request(t.app).get(`/v1/alert-rules/${created.body.id}`).set(as(owner)).expect(200);
    expect(JSON.stringify(got.body)).not.toContain('slack-secret-part');
    const stored = await t.db.selectFrom('alert_rules').select('target_encrypted').where('id', '=', created.body.id).executeTakeFirstOrThrow();
    expect(stored.target_encrypted).not.toContain('slack-secret-part');

    received.length = 0;
    const delivery = (await request(t.app).post(`/v1/alert-rules/${created.body.id}/test`).set(as(owner)).expect(202)).body;
    expect(delivery).toMatchObject({ method: 'slack', recipient: 'slack' });
    expect(JSON.stringify(delivery)).not.toContain('slack-secret-part');
    await settled();
    expect(received).toHaveLength(1);
    const message = JSON.parse(received[0]!.body);
    expect(message.text).toBe('Slack findings: 1 new finding');
    expect(message.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Slack findings: 1 new finding' } });
    expect(message.blocks[1]).toMatchObject({ type: 'section', text: { type: 'mrkdwn', text: expect.stringContaining('fourfold-sample') } });
    expect((await request(t.app).get(`/v1/deliveries/${delivery.id}`).set(as(owner)).expect(200)).body.status).toBe('succeeded');

    const endpoint = (await request(t.app).post('/v1/webhook-endpoints').set(as(owner)).send({ url: hookUrl, event_types: ['finding_opened'] }).expect(201)).body.id;
    const changed = await request(t.app).patch(`/v1/alert-rules/${created.body.id}`).set(as(owner)).send({ delivery_method: 'webhook', webhook_endpoint_id: endpoint }).expect(200);
    expect(changed.body.target_set).toBe(false);
  });

  it('posts an Adaptive Card to a Teams URL, kept as secret as a Slack one', async () => {
    const teamsUrl = hookUrl.replace('/hooks/fourfold', '/webhookb2/teams-secret-part');
    expectError(await request(t.app).post('/v1/alert-rules').set(as(owner)).send({ name: 'x', alert_type: 'audit_failed', delivery_method: 'teams' }), 422, 'validation_failed');
    expectError(
      await request(t.app).post('/v1/alert-rules').set(as(owner)).send({ name: 'x', alert_type: 'audit_failed', delivery_method: 'teams', teams_webhook_url: 'https://169.254.169.254/x' }),
      422,
      'webhook_url_not_allowed',
    );
    const created = await request(t.app)
      .post('/v1/alert-rules')
      .set(as(owner))
      .send({ name: 'Teams failures', alert_type: 'audit_failed', delivery_method: 'teams', teams_webhook_url: teamsUrl })
      .expect(201);
    expect(created.body).toMatchObject({ delivery_method: 'teams', target_set: true });
    expect(JSON.stringify(created.body)).not.toContain('teams-secret-part');
    received.length = 0;
    const delivery = (await request(t.app).post(`/v1/alert-rules/${created.body.id}/test`).set(as(owner)).expect(202)).body;
    expect(delivery).toMatchObject({ method: 'teams', recipient: 'teams' });
    await settled();
    expect(received).toHaveLength(1);
    const message = JSON.parse(received[0]!.body);
    expect(message.type).toBe('message');
    const [attachment] = message.attachments;
    expect(attachment.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(attachment.content).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    expect(attachment.content.body[0]).toMatchObject({ type: 'TextBlock', text: 'Teams failures: 1 audit failed' });
    expect(JSON.stringify(attachment.content.body)).toContain('A sample failure');
  });
});
