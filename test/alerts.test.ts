import request from 'supertest';
import { raiseScheduledAlerts } from '../src/alerts/alert-runner';
import { insertOrganizationWithOwner } from '../src/organizations/organizations.service';
import { as, logInAs, startTestApp, type TestApp } from './support/app';
import { runAuditThroughHttp, seedAudit } from './support/audits';
import { deliveriesSettled, until } from './support/deliveries';
import { expectError } from './support/expectations';
import { startMailbox } from './support/mailbox';

const DAY = 86_400_000;
const START = new Date('2026-11-26T09:00:00Z');
const clock = { now: START };
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-password-AbCdEf';
const CERT_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/0e4c7b1a-5d2f-4c1b-9a8e-3f6d2b7c9e01';
/** The issue's body, verbatim. */
const EXPIRING_SECRETS = { name: 'Expiring Secrets', alert_type: 'secret_expiring', threshold_days: 30, delivery_method: 'email', recipients: ['team@company.com'] };

let mailbox: Awaited<ReturnType<typeof startMailbox>>;
let t: TestApp;
let owner: string;
let accountId: string;

beforeAll(async () => {
  mailbox = await startMailbox();
  t = await startTestApp(
    { SMTP_URL: mailbox.url, ALERTS_FROM: 'fourfold alerts <alerts@fourfold.example.com>', PUBLIC_URL: 'https://fourfold.example.com' },
    { workers: true, auditSettings: { now: () => clock.now }, alertSettings: { now: () => clock.now, retryDelaysSeconds: [1, 1, 1, 1, 1, 1, 1] } },
  );
  owner = await t.ownerToken();
  accountId = (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: '123456789012', name: 'production' }).expect(201)).body.id;
  const inTenDays = new Date(START.getTime() + 10 * DAY).toISOString();
  await request(t.app)
    .post(`/v1/accounts/${accountId}/imports?format=native&mode=full`)
    .set(as(owner))
    .send({
      resources: [
        { provider: 'aws', type: 'aws_secretsmanager_secret', native_id: SECRET_ARN, region: 'eu-west-1', name: 'prod/db-password', attributes: { next_rotation_date: inTenDays } },
        { provider: 'aws', type: 'aws_acm_certificate', native_id: CERT_ARN, region: 'eu-west-1', name: 'www.company.com', attributes: { not_after: inTenDays, domain_name: 'www.company.com' } },
      ],
    })
    .expect(201);
}, 600_000);

afterAll(async () => {
  await t?.close();
  await mailbox?.close();
}, 600_000);

/** Runs an audit and waits until its alerts have been raised and every delivery has ended. */
async function auditAndDeliver() {
  const audit = await runAuditThroughHttp(t.app, owner);
  expect(audit.status).toBe('succeeded');
  await until('the audit alerts', async () => (await t.db.selectFrom('alerted_audits').select('audit_id').where('audit_id', '=', audit.id).executeTakeFirst()) ?? undefined);
  await settled();
}

const settled = () => deliveriesSettled(t.app, owner);

describe('expiry alerts by email (must show 1)', () => {
  let secretsRule: string;
  let certificatesRule: string;

  it('accepts the exact body of the issue', async () => {
    const response = await request(t.app).post('/v1/alert-rules').set(as(owner)).send(EXPIRING_SECRETS).expect(201);
    expect(response.headers.location).toBe(`/v1/alert-rules/${response.body.id}`);
    expect(response.body).toEqual({
      id: expect.stringMatching(/^alr_/),
      ...EXPIRING_SECRETS,
      stages: [30, 7, 1],
      filters: {},
      score_drop: null,
      webhook_endpoint_id: null,
      target_set: false,
      delivery_mode: 'immediate',
      digest_hour: null,
      digest_time_zone: null,
      enabled: true,
      created_by: expect.stringMatching(/^usr_/),
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    secretsRule = response.body.id;
    certificatesRule = (
      await request(t.app)
        .post('/v1/alert-rules')
        .set(as(owner))
        .send({ ...EXPIRING_SECRETS, name: 'Expiring Certificates', alert_type: 'certificate_expiring' })
        .expect(201)
    ).body.id;
  });

  it('sends one email per rule at the 30-day stage after the first audit', async () => {
    await auditAndDeliver();
    expect(mailbox.received).toHaveLength(2);
    const secretMail = mailbox.received.find((m) => m.headers.subject!.includes('Expiring Secrets'))!;
    const certMail = mailbox.received.find((m) => m.headers.subject!.includes('Expiring Certificates'))!;
    expect(secretMail.headers.subject).toBe('[fourfold] Expiring Secrets: 1 secret expiring');
    expect(certMail.headers.subject).toBe('[fourfold] Expiring Certificates: 1 certificate expiring');
    for (const mail of [secretMail, certMail]) {
      expect(mail.to).toEqual(['team@company.com']);
      expect(mail.from).toBe('alerts@fourfold.example.com');
      expect(mail.headers.from).toBe('fourfold alerts <alerts@fourfold.example.com>');
      expect(mail.headers.to).toBe('team@company.com');
      expect(mail.headers['content-type']).toMatch(/^multipart\/alternative/);
    }
    const expires = new Date(START.getTime() + 10 * DAY).toISOString();
    expect(secretMail.text).toContain(`prod/db-password (aws_secretsmanager_secret)`);
    expect(secretMail.text).toContain(`Expires on ${expires} (10 days left)`);
    expect(secretMail.text).toContain(`account production (123456789012), region eu-west-1, ${SECRET_ARN}`);
    expect(secretMail.text).toMatch(/Details: https:\/\/fourfold\.example\.com\/v1\/resources\/res_[0-9A-Z]{26}/);
    expect(secretMail.text).not.toContain(CERT_ARN);
    expect(secretMail.html).toContain('<strong>Expiring Secrets</strong>');
    expect(secretMail.html).toMatch(/<a href="https:\/\/fourfold\.example\.com\/v1\/resources\/res_[0-9A-Z]{26}">/);
    expect(certMail.text).toContain(`www.company.com (aws_acm_certificate)`);
    expect(certMail.text).toContain(CERT_ARN);

    const deliveries = (await request(t.app).get('/v1/deliveries').set(as(owner)).expect(200)).body.data;
    expect(deliveries).toHaveLength(2);
    for (const delivery of deliveries) {
      expect(delivery).toMatchObject({ method: 'email', recipient: 'team@company.com', status: 'succeeded', attempt_count: 1, attempts: null });
    }
    expect(deliveries.map((d: { alert_rule_id: string }) => d.alert_rule_id).sort()).toEqual([secretsRule, certificatesRule].sort());
    const detail = (await request(t.app).get(`/v1/deliveries/${deliveries[0].id}`).set(as(owner)).expect(200)).body;
    expect(detail.attempts).toEqual([{ number: 1, attempted_at: expect.any(String), status_code: 250, latency_ms: expect.any(Number), error: null }]);
  });

  it('sends nothing on a second audit', async () => {
    await auditAndDeliver();
    expect(mailbox.received).toHaveLength(2);
  });

  it('sends one more per rule when the 7-day stage is reached', async () => {
    clock.now = new Date(START.getTime() + 4 * DAY);
    await auditAndDeliver();
    expect(mailbox.received).toHaveLength(4);
    const later = mailbox.received.slice(2);
    expect(later.map((m) => m.headers.subject).sort()).toEqual([
      '[fourfold] Expiring Certificates: 1 certificate expiring',
      '[fourfold] Expiring Secrets: 1 secret expiring',
    ]);
    for (const mail of later) expect(mail.text).toContain('(6 days left)');
    await auditAndDeliver();
    expect(mailbox.received).toHaveLength(4);
  });

  it('notices an expiry on the hourly check too, without an audit, once', async () => {
    clock.now = new Date(START.getTime() + 11 * DAY);
    expect(await raiseScheduledAlerts(t.db, t.jobs, { now: () => clock.now })).toBe(2);
    await settled();
    expect(mailbox.received).toHaveLength(6);
    for (const mail of mailbox.received.slice(4)) expect(mail.text).toContain(`Expired on ${new Date(START.getTime() + 10 * DAY).toISOString()}`);
    expect(await raiseScheduledAlerts(t.db, t.jobs, { now: () => clock.now })).toBe(0);
  });
});

describe('deliveries', () => {
  let ruleId: string;

  beforeAll(async () => {
    clock.now = START;
    ruleId = (
      await request(t.app)
        .post('/v1/alert-rules')
        .set(as(owner))
        .send({ name: 'Keys', alert_type: 'certificate_expiring', threshold_days: 60, stages: [20], delivery_method: 'email', recipients: ['ops@company.com', 'sec@company.com'] })
        .expect(201)
    ).body.id;
  });

  it('retries a message the SMTP server deferred, and fails at once one it refused; redelivery sends it again', async () => {
    const before = mailbox.received.length;
    mailbox.reject(421, 550);
    await auditAndDeliver();
    const deliveries = (await request(t.app).get(`/v1/deliveries?alert_rule_id=${ruleId}`).set(as(owner)).expect(200)).body.data;
    expect(deliveries).toHaveLength(2);
    const details = await Promise.all(deliveries.map(async (d: { id: string }) => (await request(t.app).get(`/v1/deliveries/${d.id}`).set(as(owner)).expect(200)).body));
    const retried = details.find((d) => d.status === 'succeeded');
    const refused = details.find((d) => d.status === 'failed');
    expect(retried.attempts.map((a: { status_code: number }) => a.status_code)).toEqual([421, 250]);
    expect(retried.attempts[0].error).toMatch(/^SMTP 421/);
    expect(refused.attempts.map((a: { status_code: number }) => a.status_code)).toEqual([550]);
    expect(refused.last_error).toMatch(/^SMTP 550/);
    expect(mailbox.received.length - before).toBe(1);

    const again = await request(t.app).post(`/v1/deliveries/${refused.id}/redeliver`).set(as(owner)).expect(202);
    expect(again.headers.location).toBe(`/v1/deliveries/${refused.id}`);
    expect(again.body).toMatchObject({ id: refused.id, status: 'pending' });
    await settled();
    const redelivered = (await request(t.app).get(`/v1/deliveries/${refused.id}`).set(as(owner)).expect(200)).body;
    expect(redelivered).toMatchObject({ status: 'succeeded', attempt_count: 2, last_error: null });
    expect(mailbox.received.length - before).toBe(2);
    expect(mailbox.received.at(-1)!.to).toEqual([refused.recipient]);
  });

  it('filters by status and rule, and refuses to redeliver a pending delivery', async () => {
    const failed = (await request(t.app).get('/v1/deliveries?status=failed').set(as(owner)).expect(200)).body.data;
    expect(failed).toEqual([]);
    const [delivery] = (await request(t.app).get(`/v1/deliveries?alert_rule_id=${ruleId}&limit=1`).set(as(owner)).expect(200)).body.data;
    await t.db.updateTable('deliveries').set({ status: 'pending' }).where('id', '=', delivery.id).execute();
    expectError(await request(t.app).post(`/v1/deliveries/${delivery.id}/redeliver`).set(as(owner)), 409, 'conflict');
    await t.db.updateTable('deliveries').set({ status: 'succeeded' }).where('id', '=', delivery.id).execute();
  });

  it('keeps the deliveries of a deleted rule', async () => {
    await request(t.app).delete(`/v1/alert-rules/${ruleId}`).set(as(owner)).expect(204);
    expectError(await request(t.app).get(`/v1/alert-rules/${ruleId}`).set(as(owner)), 404, 'not_found');
    const all = (await request(t.app).get('/v1/deliveries?limit=200').set(as(owner)).expect(200)).body.data;
    expect(all.filter((d: { alert_rule_id: string | null }) => d.alert_rule_id === null)).toHaveLength(2);
  });
});

describe('alert rules', () => {
  it('answers 422 naming the field of an invalid combination', async () => {
    const create = (body: object) => request(t.app).post('/v1/alert-rules').set(as(owner)).send({ ...EXPIRING_SECRETS, ...body });
    const noThreshold = await create({ threshold_days: undefined });
    expectError(noThreshold, 422, 'validation_failed');
    expect(noThreshold.body.error.details).toEqual([{ field: 'body.threshold_days', issue: 'is required for secret_expiring' }]);
    const badStage = await create({ stages: [7, 30] });
    expectError(badStage, 422, 'validation_failed');
    expect(badStage.body.error.details[0].field).toBe('body.stages');
    const noRecipients = await create({ recipients: undefined });
    expectError(noRecipients, 422, 'validation_failed');
    expect(noRecipients.body.error.details[0].field).toBe('body.recipients');
    const unknownType = await create({ alert_type: 'password_expiring' });
    expectError(unknownType, 422, 'validation_failed');
    expect(unknownType.body.error.details[0].field).toBe('body.alert_type');
  });

  it('answers 422 email_not_configured on a server without SMTP_URL', async () => {
    const noMail = await startTestApp({}, { sharing: t });
    const response = await request(noMail.app).post('/v1/alert-rules').set(as(owner)).send(EXPIRING_SECRETS);
    expectError(response, 422, 'email_not_configured');
    expect(response.body.error.details).toEqual([{ field: 'body.delivery_method', issue: 'email is not configured on this server' }]);
    await noMail.close();
  });

  it('lists, reads and changes rules; a threshold change keeps the stages below it', async () => {
    const created = (await request(t.app).post('/v1/alert-rules').set(as(owner)).send({ ...EXPIRING_SECRETS, name: 'Keys', alert_type: 'key_expiring', threshold_days: 14 })).body;
    expect(created.stages).toEqual([14, 7, 1]);
    const listed = (await request(t.app).get('/v1/alert-rules?limit=1').set(as(owner)).expect(200)).body;
    expect(listed.data[0].id).toBe(created.id);
    expect(listed.has_more).toBe(true);
    const changed = (await request(t.app).patch(`/v1/alert-rules/${created.id}`).set(as(owner)).send({ threshold_days: 5, enabled: false }).expect(200)).body;
    expect(changed).toMatchObject({ threshold_days: 5, stages: [5, 1], enabled: false });
    expectError(await request(t.app).patch(`/v1/alert-rules/${created.id}`).set(as(owner)).send({ stages: [10] }), 422, 'validation_failed');
    expect((await request(t.app).get(`/v1/alert-rules/${created.id}`).set(as(owner)).expect(200)).body).toEqual(changed);
  });

  it('sends a sample notification of a rule now through its method, claiming nothing', async () => {
    const rule = (
      await request(t.app)
        .post('/v1/alert-rules')
        .set(as(owner))
        .send({ name: 'Sample test', alert_type: 'certificate_expiring', threshold_days: 21, delivery_method: 'email', recipients: ['test-a@company.com', 'test-b@company.com'], enabled: false })
        .expect(201)
    ).body;
    const response = await request(t.app).post(`/v1/alert-rules/${rule.id}/test`).set(as(owner)).expect(202);
    expect(response.headers.location).toBe(`/v1/deliveries/${response.body.id}`);
    expect(response.body).toMatchObject({ alert_rule_id: rule.id, event_type: 'certificate_expiring', method: 'email', recipient: 'test-a@company.com', status: 'pending' });
    await settled();
    const mails = await until('the sample mails', () => {
      const got = mailbox.received.filter((m) => m.headers.subject === '[fourfold] Sample test: 1 certificate expiring');
      return got.length === 2 ? got : undefined;
    });
    expect(mails.flatMap((m) => m.to).sort()).toEqual(['test-a@company.com', 'test-b@company.com']);
    expect(mails[0]!.text).toContain('fourfold-sample');
    const delivered = (await request(t.app).get(`/v1/deliveries?alert_rule_id=${rule.id}`).set(as(owner)).expect(200)).body.data;
    expect(delivered.map((d: { status: string }) => d.status)).toEqual(['succeeded', 'succeeded']);
    expect(await t.db.selectFrom('alert_notifications').select('subject').where('alert_rule_id', '=', rule.id).execute()).toEqual([]);
  });

  it('lets a viewer read but not write', async () => {
    const viewer = await t.addMember('viewer');
    await request(t.app).get('/v1/alert-rules').set(as(viewer.token)).expect(200);
    await request(t.app).get('/v1/deliveries').set(as(viewer.token)).expect(200);
    expectError(await request(t.app).post('/v1/alert-rules').set(as(viewer.token)).send(EXPIRING_SECRETS), 403, 'insufficient_scope');
    const [rule] = (await request(t.app).get('/v1/alert-rules').set(as(viewer.token)).expect(200)).body.data;
    expectError(await request(t.app).patch(`/v1/alert-rules/${rule.id}`).set(as(viewer.token)).send({ enabled: false }), 403, 'insufficient_scope');
    expectError(await request(t.app).delete(`/v1/alert-rules/${rule.id}`).set(as(viewer.token)), 403, 'insufficient_scope');
    expectError(await request(t.app).post(`/v1/alert-rules/${rule.id}/test`).set(as(viewer.token)), 403, 'insufficient_scope');
    const [delivery] = (await request(t.app).get('/v1/deliveries').set(as(viewer.token)).expect(200)).body.data;
    expectError(await request(t.app).post(`/v1/deliveries/${delivery.id}/redeliver`).set(as(viewer.token)), 403, 'insufficient_scope');
  });

  it("answers 404 for another organization's rules and deliveries", async () => {
    await t.db.transaction().execute((trx) => insertOrganizationWithOwner(trx, { name: 'Other', username: 'alerts-other', password: 'other-password-123' }));
    const other = await logInAs(t.app, 'alerts-other', 'other-password-123');
    const [rule] = (await request(t.app).get('/v1/alert-rules').set(as(owner)).expect(200)).body.data;
    const [delivery] = (await request(t.app).get('/v1/deliveries').set(as(owner)).expect(200)).body.data;
    expectError(await request(t.app).get(`/v1/alert-rules/${rule.id}`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).patch(`/v1/alert-rules/${rule.id}`).set(as(other)).send({ enabled: false }), 404, 'not_found');
    expectError(await request(t.app).delete(`/v1/alert-rules/${rule.id}`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).post(`/v1/alert-rules/${rule.id}/test`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).get(`/v1/deliveries/${delivery.id}`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).post(`/v1/deliveries/${delivery.id}/redeliver`).set(as(other)), 404, 'not_found');
    expect((await request(t.app).get('/v1/alert-rules').set(as(other)).expect(200)).body.data).toEqual([]);
    expect((await request(t.app).get('/v1/deliveries').set(as(other)).expect(200)).body.data).toEqual([]);
    expect((await request(t.app).get(`/v1/deliveries?alert_rule_id=${rule.id}`).set(as(other)).expect(200)).body.data).toEqual([]);
  });
});

describe('event kinds: finding lifecycle, scores, failed audits, risk acceptances', () => {
  let policyId: string;
  const exposure = (condition: string) => ({
    title: 'Exposed credential store',
    description: 'A credential store marked exposed.',
    dimension: 'security',
    severity: 'critical',
    resource_types: ['aws_acm_certificate'],
    condition,
    evidence: ['tags.exposed'],
    remediation: { text: 'Rotate it.' },
  });
  const mailTo = (address: string) => mailbox.received.filter((m) => m.to.includes(address));
  const setCondition = (condition: string) => request(t.app).patch(`/v1/policies/${policyId}`).set(as(owner)).send({ custom: exposure(condition) }).expect(200);
  const createRule = async (body: object) => (await request(t.app).post('/v1/alert-rules').set(as(owner)).send({ delivery_method: 'email', ...body }).expect(201)).body;

  beforeAll(async () => {
    clock.now = new Date();
    policyId = (await request(t.app).post('/v1/policies').set(as(owner)).send({ kind: 'custom', name: 'Exposure', custom: exposure("attr(resource, 'tags.exposed', 'no') == 'yes'") }).expect(201)).body.id;
    const opened = await createRule({ name: 'New critical exposures', alert_type: 'finding_opened', filters: { min_severity: 'high', policy_ids: [policyId] }, recipients: ['appsec@company.com'] });
    expect(opened).toMatchObject({ threshold_days: null, stages: [], score_drop: null, filters: { min_severity: 'high', policy_ids: [policyId] } });
    await createRule({ name: 'Reopened exposures', alert_type: 'finding_reopened', filters: { policy_ids: [policyId] }, recipients: ['appsec@company.com'] });
    const otherPolicyId = (await request(t.app).post('/v1/policies').set(as(owner)).send({ kind: 'custom', name: 'Never', custom: exposure('false') }).expect(201)).body.id;
    await createRule({ name: 'Low findings of another policy', alert_type: 'finding_opened', filters: { policy_ids: [otherPolicyId] }, recipients: ['nobody@company.com'] });
    await createRule({ name: 'Security score drop', alert_type: 'score_dropped', score_drop: { dimension: 'security', min_points: 10 }, recipients: ['platform@company.com'] });
    await createRule({ name: 'Failed audits', alert_type: 'audit_failed', recipients: ['oncall@company.com'] });
  });

  it('sends one message per audit listing what it opened, and one when the score drops', async () => {
    await auditAndDeliver();
    expect(mailTo('appsec@company.com')).toHaveLength(0);
    await setCondition('true');
    const before = mailbox.received.length;
    await auditAndDeliver();
    const [opened] = mailTo('appsec@company.com');
    expect(mailTo('appsec@company.com')).toHaveLength(1);
    expect(opened!.headers.subject).toBe('[fourfold] New critical exposures: 1 new finding');
    expect(opened!.text).toContain('[critical] Exposed credential store on www.company.com (aws_acm_certificate)');
    expect(opened!.text).toMatch(/Details: https:\/\/fourfold\.example\.com\/v1\/findings\/fnd_[0-9A-Z]{26}/);
    expect(mailTo('nobody@company.com')).toHaveLength(0);

    const audits = (await request(t.app).get('/v1/audits?limit=2').set(as(owner)).expect(200)).body.data;
    const [now, previous] = await Promise.all(audits.map(async (a: { id: string }) => (await request(t.app).get(`/v1/audits/${a.id}`).set(as(owner)).expect(200)).body));
    const drop = previous.summary.scores.security - now.summary.scores.security;
    expect(drop).toBeGreaterThanOrEqual(10);
    const [scoreMail] = mailTo('platform@company.com');
    expect(mailTo('platform@company.com')).toHaveLength(1);
    expect(scoreMail!.headers.subject).toBe('[fourfold] Security score drop: 1 score dropped');
    expect(scoreMail!.text).toContain(`dimension security score fell by ${drop} points, from ${previous.summary.scores.security} to ${now.summary.scores.security}`);
    expect(mailbox.received.length - before).toBe(2);
  });

  it('tells of reopened findings, not as opened again', async () => {
    await setCondition("attr(resource, 'tags.exposed', 'no') == 'yes'");
    await auditAndDeliver();
    expect(mailTo('appsec@company.com')).toHaveLength(1);
    await setCondition('true');
    await auditAndDeliver();
    expect(mailTo('appsec@company.com')).toHaveLength(2);
    expect(mailTo('appsec@company.com')[1]!.headers.subject).toBe('[fourfold] Reopened exposures: 1 reopened finding');
    expect(mailTo('platform@company.com')).toHaveLength(2);
  });

  it('tells of a failed audit', async () => {
    const { organization } = (await request(t.app).get('/v1/me').set(as(owner)).expect(200)).body;
    const auditId = await seedAudit(t.db, organization.id, { status: 'failed' });
    await t.db.updateTable('audits').set({ error_code: 'worker_lost', error_message: 'The audit did not finish.' }).where('id', '=', auditId).execute();
    await t.jobs.send('alerts', { audit_id: auditId });
    await until('the failed audit alert', () => (mailTo('oncall@company.com').length > 0 ? true : undefined));
    const [mail] = mailTo('oncall@company.com');
    expect(mail!.headers.subject).toBe('[fourfold] Failed audits: 1 audit failed');
    expect(mail!.text).toContain(`Audit ${auditId} (full) failed`);
    expect(mail!.text).toContain('worker_lost: The audit did not finish.');
  });

  it('tells once per stage of a risk acceptance that ends', async () => {
    await createRule({ name: 'Accepted risks ending', alert_type: 'risk_acceptance_expiring', threshold_days: 14, filters: { min_severity: 'critical' }, recipients: ['risk@company.com'] });
    const [finding] = (await request(t.app).get(`/v1/findings?policy_id=${policyId}&limit=1`).set(as(owner)).expect(200)).body.data;
    const ends = new Date(Date.now() + 10 * DAY);
    await request(t.app).patch(`/v1/findings/${finding.id}`).set(as(owner)).send({ status: 'risk_accepted', reason: 'Compensating control', expires_at: ends.toISOString() }).expect(200);
    expect(await raiseScheduledAlerts(t.db, t.jobs, { now: () => clock.now })).toBe(1);
    expect(await raiseScheduledAlerts(t.db, t.jobs, { now: () => clock.now })).toBe(0);
    await settled();
    const [mail] = mailTo('risk@company.com');
    expect(mail!.headers.subject).toBe('[fourfold] Accepted risks ending: 1 risk acceptance ending');
    expect(mail!.text).toContain(`Risk acceptance ends on ${ends.toISOString()} (10 days left)`);
  });

  it('answers 422 naming the field of filters and settings a type does not take', async () => {
    const create = (body: object) => request(t.app).post('/v1/alert-rules').set(as(owner)).send({ name: 'x', delivery_method: 'email', recipients: ['a@company.com'], ...body });
    const cases: [object, string][] = [
      [{ alert_type: 'secret_expiring', threshold_days: 30, filters: { min_severity: 'high' } }, 'body.filters.min_severity'],
      [{ alert_type: 'finding_opened', threshold_days: 30 }, 'body.threshold_days'],
      [{ alert_type: 'audit_failed', filters: { dimensions: ['cost'] } }, 'body.filters.dimensions'],
      [{ alert_type: 'score_dropped' }, 'body.score_drop'],
      [{ alert_type: 'score_dropped', score_drop: { dimension: 'cost', framework: 'soc2', min_points: 5 } }, 'body.score_drop'],
      [{ alert_type: 'score_dropped', score_drop: { framework: 'iso_9001', min_points: 5 } }, 'body.score_drop.framework'],
      [{ alert_type: 'finding_opened', score_drop: { dimension: 'cost', min_points: 5 } }, 'body.score_drop'],
    ];
    for (const [body, field] of cases) {
      const response = await create(body);
      expectError(response, 422, 'validation_failed');
      expect(response.body.error.details[0].field).toBe(field);
    }
    await create({ alert_type: 'score_dropped', score_drop: { framework: 'soc2', min_points: 5 } }).expect(201);
  });

  it('answers 422 naming each account and policy a filter names that the organization does not have', async () => {
    const unknownPolicy = 'pol_01JD8X3N5W6Q2R4T7Y9ZABCDEF';
    const unknownAccount = 'acc_01JD8X3N5W6Q2R4T7Y9ZABCDEF';
    const filters = { policy_ids: [policyId, unknownPolicy], account_ids: [unknownAccount] };
    const refused = await request(t.app).post('/v1/alert-rules').set(as(owner))
      .send({ name: 'Typo', alert_type: 'finding_opened', delivery_method: 'email', recipients: ['a@company.com'], filters });
    expectError(refused, 422, 'validation_failed');
    expect(refused.body.error.details).toEqual([
      { field: 'body.filters.account_ids.0', issue: `unknown account ${unknownAccount}` },
      { field: 'body.filters.policy_ids.1', issue: `unknown policy ${unknownPolicy}` },
    ]);

    const rule = await createRule({ name: 'Known', alert_type: 'finding_opened', filters: { policy_ids: [policyId] }, recipients: ['a@company.com'] });
    const patched = await request(t.app).patch(`/v1/alert-rules/${rule.id}`).set(as(owner)).send({ filters: { policy_ids: [unknownPolicy] } });
    expectError(patched, 422, 'validation_failed');
    expect(patched.body.error.details).toEqual([{ field: 'body.filters.policy_ids.0', issue: `unknown policy ${unknownPolicy}` }]);
    const kept = (await request(t.app).get(`/v1/alert-rules/${rule.id}`).set(as(owner)).expect(200)).body;
    expect(kept.filters).toEqual({ policy_ids: [policyId] });
    await request(t.app).delete(`/v1/alert-rules/${rule.id}`).set(as(owner)).expect(204);
  });
});

describe('the event feed', () => {
  const events = async (query: string, token = owner) => (await request(t.app).get(`/v1/events${query}`).set(as(token)).expect(200)).body;

  it("lists each event once, the organization's and not per rule, as webhooks carry it, filtered by type and time", async () => {
    const all = await events('?limit=200');
    expect(all.data.length).toBeGreaterThan(3);
    expect(all.data.every((e: { data: { alert_rule: unknown } }) => e.data.alert_rule === null)).toBe(true);
    const scores = (await events('?type=score_dropped')).data;
    const [score] = scores;
    expect(score).toMatchObject({ type: 'score_dropped', data: { alert_rule: null, items: expect.arrayContaining([expect.objectContaining({ kind: 'score', score: 'dimension:security' })]) } });
    expect(score.id).toMatch(/^evt_/);
    const failed = (await events('?type=audit_failed')).data;
    expect(failed).toHaveLength(1);
    expect(failed[0].data.items[0]).toMatchObject({ kind: 'audit', audit: { status: 'failed' } });
    const secrets = (await events('?type=secret_expiring')).data;
    expect(secrets.length).toBeGreaterThan(0);
    expect(secrets.every((e: { type: string }) => e.type === 'secret_expiring')).toBe(true);
    const at = encodeURIComponent(score.timestamp);
    const later = encodeURIComponent(new Date(Date.parse(score.timestamp) + 1).toISOString());
    expect((await events(`?type=score_dropped&since=${at}`)).data).toEqual(scores.filter((e: { timestamp: string }) => e.timestamp >= score.timestamp));
    expect((await events(`?type=score_dropped&since=${later}`)).data).toEqual([]);
    expect((await events(`?type=score_dropped&until=${later}`)).data).toEqual(scores);
  });

  it('pages with a cursor bound to its filters', async () => {
    const first = await events('?limit=1');
    expect(first.has_more).toBe(true);
    const second = await events(`?limit=1&cursor=${first.next_cursor}`);
    expect(second.data[0].id < first.data[0].id).toBe(true);
    expectError(await request(t.app).get(`/v1/events?limit=1&type=audit_failed&cursor=${first.next_cursor}`).set(as(owner)), 400, 'invalid_cursor');
  });

  it('needs alerts:read and shows nothing of another organization', async () => {
    const viewer = await t.addMember('viewer');
    expect((await events('', viewer.token)).data.length).toBeGreaterThan(0);
    const pat = (await request(t.app).post('/v1/tokens').set(as(owner)).send({ name: 'findings only', scopes: ['findings:read'] }).expect(201)).body.token as string;
    expectError(await request(t.app).get('/v1/events').set(as(pat)), 403, 'insufficient_scope');
    const other = await logInAs(t.app, 'alerts-other', 'other-password-123');
    expect((await events('', other)).data).toEqual([]);
  });
});
