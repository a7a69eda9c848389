import request from 'supertest';
import { verifyAuditLog } from '../src/audit-log/audit-log.service';
import { startScheduledScans } from '../src/discovery/scans.service';
import { cronProblem, nextScanTime } from '../src/discovery/scan-schedule';
import { newId } from '../src/ids';
import { insertOrganizationWithOwner } from '../src/organizations/organizations.service';
import { QUEUES } from '../src/jobs/job-queue';
import { as, logInAs, TEST_SECRET, useTestApp } from './support/app';
import { expectError } from './support/expectations';
import { connectToFake, createAwsAccount, startFakeAws, type FakeAws } from './support/fake-aws';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.AWS_EC2_METADATA_DISABLED = 'true';

const SECRET_ACCESS_KEY = 'fakeSecretKeyScheduleQ7w8e9r0t1y2u3i4o5p6';
let fake: FakeAws;

beforeAll(async () => {
  fake = await startFakeAws({ buckets: ['scheduled-bucket'], securityGroups: [{ id: 'sg-0b2', name: 'db', openPorts: [5432] }], kmsKeys: ['k-9'] });
});
afterAll(async () => fake.close());

const t = useTestApp(
  () => ({ SECRETS_KEY: 'discovery-schedule-test-secrets-key-0123456789', DISCOVERY_AWS_ENDPOINT: fake.url }),
  // The workers' own once-a-minute check runs on a clock at which nothing is due: only the
  // tests' checks, on their moved clocks, start scheduled scans.
  { workers: true, scanSettings: { now: () => new Date(0) } },
);

const DAILY_BERLIN = { cron: '0 2 * * *', time_zone: 'Europe/Berlin' };

const newAccount = (token: string, externalId: string) => createAwsAccount(t.app, token, externalId);
const connect = (token: string, accountId: string, extra: object = {}) => connectToFake(t.app, token, accountId, fake, SECRET_ACCESS_KEY, extra);

/** One check of the schedules, as the once-a-minute job makes it, on a moved clock. */
function checkSchedulesAt(at: Date) {
  return startScheduledScans(t.db, t.jobs, { now: () => at, limits: t.config.organizationLimits, auditLogSecret: TEST_SECRET, logger: t.logger });
}

async function untilEnded(token: string, path: string) {
  for (let i = 0; i < 600; i++) {
    const body = (await request(t.app).get(path).set(as(token)).expect(200)).body;
    if (!['queued', 'running'].includes(body.status)) return body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${path} did not end`);
}

function berlinTime(iso: string) {
  return new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
}

describe('scan schedules', () => {
  it('are checked every minute by a pg-boss schedule', async () => {
    const rows = await t.db
      .selectFrom('pgboss.schedule' as never)
      .select(['name' as never, 'cron' as never])
      .execute();
    expect(rows).toContainEqual({ name: QUEUES.scanSchedule, cron: '* * * * *' });
    // From here on, nothing but the tests checks the schedules.
    await t.db.deleteFrom('pgboss.schedule' as never).where('name' as never, '=', QUEUES.scanSchedule as never).execute();
  });

  it('answer when they next run, and refuse a cron expression that names no valid time', async () => {
    const token = await t.ownerToken();
    const accountId = await newAccount(token, '600000000001');
    const before = Date.now();
    const put = await connect(token, accountId, { scan_schedule: DAILY_BERLIN }).expect(200);
    expect(put.body.scan_schedule).toEqual(DAILY_BERLIN);
    expect(berlinTime(put.body.next_scan_at)).toBe('02:00');
    expect(Date.parse(put.body.next_scan_at)).toBeGreaterThan(before);
    expect(Date.parse(put.body.next_scan_at)).toBeLessThanOrEqual(before + 25 * 3600_000);
    // Sent again without a schedule, the connection keeps it; with null, it has none.
    const kept = await connect(token, accountId, { audit_after_scan: false }).expect(200);
    expect(kept.body).toMatchObject({ scan_schedule: DAILY_BERLIN, next_scan_at: put.body.next_scan_at });
    const cleared = await connect(token, accountId, { scan_schedule: null }).expect(200);
    expect(cleared.body).toMatchObject({ scan_schedule: null, next_scan_at: null });
    for (const [cron, field] of [
      ['61 * * * *', 'body.scan_schedule.cron'],
      ['0 0 31 2 *', 'body.scan_schedule.cron'],
      ['0 2 * * 8', 'body.scan_schedule.cron'],
    ] as const) {
      const refused = await connect(token, accountId, { scan_schedule: { cron, time_zone: 'UTC' } });
      expectError(refused, 422, 'validation_failed');
      expect(refused.body.error.details).toEqual([expect.objectContaining({ field })]);
    }
    expectError(await connect(token, accountId, { scan_schedule: { cron: '0 2 * * *', time_zone: 'Mars/Olympus' } }), 422, 'validation_failed');
    await request(t.app).delete(`/v1/accounts/${accountId}/connection`).set(as(token)).expect(204);
  });

  it('start a full scan when due, by the system, followed by an audit; once per due time', async () => {
    const token = await t.ownerToken();
    const me = (await request(t.app).get('/v1/me').set(as(token)).expect(200)).body;
    const accountId = await newAccount(token, fake.state.accountId);
    const put = await connect(token, accountId, { scan_schedule: DAILY_BERLIN }).expect(200);
    const due = new Date(put.body.next_scan_at);

    // A minute before, nothing is due.
    expect(await checkSchedulesAt(new Date(due.getTime() - 60_000))).toEqual([]);
    const outcomes = await checkSchedulesAt(new Date(due.getTime() + 20_000));
    expect(outcomes).toEqual([{ account_id: accountId, outcome: 'started', scan_id: expect.stringMatching(/^scn_/) }]);
    // Checked again in the same minute (another process, or the next tick), it does not start twice.
    expect(await checkSchedulesAt(new Date(due.getTime() + 40_000))).toEqual([]);

    const scanId = (outcomes[0] as { scan_id: string }).scan_id;
    const scan = await untilEnded(token, `/v1/scans/${scanId}`);
    expect(scan).toMatchObject({ account_id: accountId, mode: 'full', trigger: 'schedule', created_by: null, status: 'succeeded' });
    expect(scan.counts.created).toBeGreaterThan(0);
    const buckets = (await request(t.app).get(`/v1/resources?account_id=${accountId}&type=aws_s3_bucket`).set(as(token)).expect(200)).body.data;
    expect(buckets.map((b: { name: string }) => b.name)).toContain('scheduled-bucket');
    expect(scan.audit_id).toMatch(/^aud_/);
    const audit = await untilEnded(token, `/v1/audits/${scan.audit_id}`);
    expect(audit).toMatchObject({ status: 'succeeded', account_ids: [accountId], created_by: me.user.id });

    // The schedule moved on to the next day's 02:00 Berlin time.
    const after = (await request(t.app).get(`/v1/accounts/${accountId}/connection`).set(as(token)).expect(200)).body;
    expect(berlinTime(after.next_scan_at)).toBe('02:00');
    expect(Date.parse(after.next_scan_at) - due.getTime()).toBeGreaterThanOrEqual(23 * 3600_000);
    expect(Date.parse(after.next_scan_at) - due.getTime()).toBeLessThanOrEqual(25 * 3600_000);
    const listed = (await request(t.app).get(`/v1/scans?account_id=${accountId}`).set(as(token)).expect(200)).body.data;
    expect(listed).toHaveLength(1);

    // The audit log records it as the system's, as the request would have been recorded.
    const entries = (await request(t.app).get('/v1/audit-log?actor=system&action=createAccountScan').set(as(token)).expect(200)).body.data;
    expect(entries).toContainEqual(
      expect.objectContaining({ actor: expect.objectContaining({ type: 'system' }), action: 'createAccountScan', target_id: accountId, outcome: 200, detail: { scan_id: scanId, trigger: 'schedule' } }),
    );
    const [chain] = await verifyAuditLog(t.db, TEST_SECRET, me.organization.id);
    expect(chain!.broken).toBeUndefined();
  });

  it('run a time missed while no worker ran once, not once per missed time', async () => {
    const token = await t.ownerToken();
    const accountId = await newAccount(token, '600000000002');
    const put = await connect(token, accountId, { scan_schedule: { cron: '*/10 * * * *', time_zone: 'UTC' }, audit_after_scan: false }).expect(200);
    const due = new Date(put.body.next_scan_at);
    const late = new Date(due.getTime() + 3 * 3600_000 + 5 * 60_000);
    const outcomes = await checkSchedulesAt(late);
    expect(outcomes.filter((o) => o.account_id === accountId)).toEqual([expect.objectContaining({ outcome: 'started' })]);
    const connection = (await request(t.app).get(`/v1/accounts/${accountId}/connection`).set(as(token)).expect(200)).body;
    expect(connection.next_scan_at).toBe(new Date(late.getTime() + 5 * 60_000).toISOString().replace(/:\d\d\.\d+Z$/, ':00.000Z'));
    const scan = await untilEnded(token, `/v1/scans/${(outcomes.find((o) => o.account_id === accountId) as { scan_id: string }).scan_id}`);
    expect(scan.audit_id).toBeNull();
    await request(t.app).delete(`/v1/accounts/${accountId}/connection`).set(as(token)).expect(204);
  });

  it('skip, not queue, a due time while a scan of the account is under way', async () => {
    const token = await t.ownerToken();
    const accountId = await newAccount(token, '600000000003');
    const put = await connect(token, accountId, { scan_schedule: { cron: '15 * * * *', time_zone: 'UTC' } }).expect(200);
    const organizationId = (await t.db.selectFrom('accounts').select('organization_id').where('id', '=', accountId).executeTakeFirstOrThrow()).organization_id;
    // A scan held running (its job is not queued, so no worker takes it).
    const running = newId('scn');
    await t.db
      .insertInto('scans')
      .values({ id: running, organization_id: organizationId, account_id: accountId, mode: 'full', trigger: 'api', status: 'running', created_by: null, created_at: new Date(), started_at: new Date(), finished_at: null, error_code: null, error_message: null, audit_id: null, counts: null })
      .execute();
    const due = new Date(put.body.next_scan_at);
    expect(await checkSchedulesAt(due)).toEqual([{ account_id: accountId, outcome: 'scan_in_progress', scan_id: running }]);
    const scans = (await request(t.app).get(`/v1/scans?account_id=${accountId}`).set(as(token)).expect(200)).body.data;
    expect(scans.map((s: { id: string }) => s.id)).toEqual([running]);
    const connection = (await request(t.app).get(`/v1/accounts/${accountId}/connection`).set(as(token)).expect(200)).body;
    expect(Date.parse(connection.next_scan_at)).toBe(due.getTime() + 3600_000);
    await request(t.app).post(`/v1/scans/${running}/cancel`).set(as(token)).expect(200);
    await request(t.app).delete(`/v1/accounts/${accountId}/connection`).set(as(token)).expect(204);
  });

  it('start each due scan once when several processes check at the same moment', async () => {
    const token = await t.ownerToken();
    const accountId = await newAccount(token, '600000000004');
    const put = await connect(token, accountId, { scan_schedule: { cron: '45 3 * * *', time_zone: 'Asia/Kolkata' }, audit_after_scan: false }).expect(200);
    const due = new Date(put.body.next_scan_at);
    expect(due.getUTCHours() * 60 + due.getUTCMinutes()).toBe(22 * 60 + 15);
    const checks = await Promise.all([checkSchedulesAt(due), checkSchedulesAt(due), checkSchedulesAt(due)]);
    const started = checks.flat().filter((o) => o.account_id === accountId);
    expect(started).toEqual([expect.objectContaining({ outcome: 'started' })]);
    const scans = (await request(t.app).get(`/v1/scans?account_id=${accountId}`).set(as(token)).expect(200)).body.data;
    expect(scans).toHaveLength(1);
    await untilEnded(token, `/v1/scans/${scans[0].id}`);
    await request(t.app).delete(`/v1/accounts/${accountId}/connection`).set(as(token)).expect(204);
  });

  it("wait while the organization is suspended, and stay another organization's", async () => {
    const { organizationId } = await t.db.transaction().execute((trx) => insertOrganizationWithOwner(trx, { name: 'Suspended', username: 'sched-suspended', password: 'suspended-password-123' }));
    const token = await logInAs(t.app, 'sched-suspended', 'suspended-password-123');
    const accountId = await newAccount(token, '600000000005');
    const put = await connect(token, accountId, { scan_schedule: { cron: '0 * * * *', time_zone: 'UTC' } }).expect(200);
    const owner = await t.ownerToken();
    expectError(await request(t.app).get(`/v1/accounts/${accountId}/connection`).set(as(owner)), 404, 'not_found');
    await t.db.updateTable('organizations').set({ status: 'suspended', suspended_at: new Date() }).where('id', '=', organizationId).execute();
    const due = new Date(put.body.next_scan_at);
    expect(await checkSchedulesAt(due)).toEqual([{ account_id: accountId, outcome: 'organization_suspended' }]);
    const scans = await t.db.selectFrom('scans').select('id').where('account_id', '=', accountId).execute();
    expect(scans).toEqual([]);
    const connection = await t.db.selectFrom('account_connections').select('next_scan_at').where('account_id', '=', accountId).executeTakeFirstOrThrow();
    expect(connection.next_scan_at!.getTime()).toBe(due.getTime() + 3600_000);
  });

  it('stored before schedules ran get their next time at the first check, without a scan', async () => {
    const token = await t.ownerToken();
    const accountId = await newAccount(token, '600000000006');
    await connect(token, accountId, { scan_schedule: { cron: '30 4 * * *', time_zone: 'UTC' } }).expect(200);
    await t.db.updateTable('account_connections').set({ next_scan_at: null }).where('account_id', '=', accountId).execute();
    const at = new Date();
    expect(await checkSchedulesAt(at)).toEqual([]);
    const connection = (await request(t.app).get(`/v1/accounts/${accountId}/connection`).set(as(token)).expect(200)).body;
    expect(connection.next_scan_at).toMatch(/T04:30:00\.000Z$/);
    expect(Date.parse(connection.next_scan_at)).toBeGreaterThan(at.getTime());
    expect(Date.parse(connection.next_scan_at)).toBeLessThanOrEqual(at.getTime() + 24 * 3600_000);
    await request(t.app).delete(`/v1/accounts/${accountId}/connection`).set(as(token)).expect(204);
  });
});

describe('cron expressions', () => {
  it('read numbers, ranges, steps, lists and both day fields as cron does, in the time zone', () => {
    const at = new Date('2026-12-02T17:40:30Z'); // a Wednesday
    expect(nextScanTime({ cron: '*/15 * * * *', time_zone: 'UTC' }, at)?.toISOString()).toBe('2026-12-02T17:45:00.000Z');
    expect(nextScanTime({ cron: '0 2 * * *', time_zone: 'Europe/Berlin' }, at)?.toISOString()).toBe('2026-12-03T01:00:00.000Z');
    expect(nextScanTime({ cron: '30 9 * * 1-5', time_zone: 'America/New_York' }, new Date('2026-12-05T00:00:00Z'))?.toISOString()).toBe('2026-12-07T14:30:00.000Z');
    expect(nextScanTime({ cron: '0 0 29 2 *', time_zone: 'UTC' }, at)?.toISOString()).toBe('2028-02-29T00:00:00.000Z');
    // Day of month 1 or a Sunday (7 is Sunday too).
    expect(nextScanTime({ cron: '0 12 1 * 7', time_zone: 'UTC' }, at)?.toISOString()).toBe('2026-12-06T12:00:00.000Z');
    expect(nextScanTime({ cron: '0 0 31 2 *', time_zone: 'UTC' }, at)).toBeNull();
    // Summer time: 02:00 in Berlin is 00:00 UTC.
    expect(nextScanTime({ cron: '0 2 * * *', time_zone: 'Europe/Berlin' }, new Date('2027-07-01T12:00:00Z'))?.toISOString()).toBe('2027-07-02T00:00:00.000Z');
    // A daylight-saving gap: 02:30 does not exist in Berlin on 28 March 2027; it runs an hour later.
    expect(nextScanTime({ cron: '30 2 * * *', time_zone: 'Europe/Berlin' }, new Date('2027-03-27T12:00:00Z'))?.toISOString()).toBe('2027-03-28T01:30:00.000Z');
    expect(cronProblem('0 2 * *')).toBe('not a 5-field cron expression');
    expect(cronProblem('0 0 2 * * *')).toBe('not a 5-field cron expression');
    expect(cronProblem('5-1 * * * *')).toMatch(/range/);
    expect(cronProblem('0 2 * * 1-5')).toBeUndefined();
  });
});
