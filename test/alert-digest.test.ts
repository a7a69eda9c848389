import request from 'supertest';
import { raiseScheduledAlerts } from '../src/alerts/alert-runner';
import { as, startTestApp, type TestApp } from './support/app';
import { deliveriesSettled } from './support/deliveries';
import { expectError } from './support/expectations';
import { startMailbox } from './support/mailbox';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** 07:00 in Paris (UTC+1 in November). */
const START = new Date('2026-11-26T06:00:00Z');
const clock = { now: START };
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/api-key-XyZ123';

let mailbox: Awaited<ReturnType<typeof startMailbox>>;
let t: TestApp;
let owner: string;

const at = async (time: Date) => {
  clock.now = time;
  const queued = await raiseScheduledAlerts(t.db, t.jobs, { now: () => clock.now });
  await deliveriesSettled(t.app, owner);
  return queued;
};
const mailTo = (address: string) => mailbox.received.filter((m) => m.to.includes(address));
const rule = (body: object) => request(t.app).post('/v1/alert-rules').set(as(owner)).send({ alert_type: 'secret_expiring', threshold_days: 30, delivery_method: 'email', ...body });

beforeAll(async () => {
  mailbox = await startMailbox();
  t = await startTestApp({ SMTP_URL: mailbox.url }, { workers: true, alertSettings: { now: () => clock.now, retryDelaysSeconds: [1, 1, 1, 1, 1, 1, 1] } });
  owner = await t.ownerToken();
  const account = (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: '123456789012', name: 'production' }).expect(201)).body.id;
  await request(t.app)
    .post(`/v1/accounts/${account}/imports?format=native&mode=full`)
    .set(as(owner))
    .send({
      resources: [
        {
          provider: 'aws',
          type: 'aws_secretsmanager_secret',
          native_id: SECRET_ARN,
          region: 'eu-west-1',
          name: 'prod/api-key',
          attributes: { next_rotation_date: new Date(START.getTime() + 10 * DAY).toISOString() },
        },
      ],
    })
    .expect(201);
}, 600_000);

afterAll(async () => {
  await t?.close();
  await mailbox?.close();
}, 600_000);

describe('delivery modes', () => {
  it('answers 422 naming the field of a digest setting that does not apply or a zone that does not exist, and defaults the others', async () => {
    const cases: [object, string][] = [
      [{ delivery_mode: 'immediate', digest_hour: 9 }, 'body.digest_hour'],
      [{ digest_time_zone: 'Europe/Paris' }, 'body.digest_time_zone'],
      [{ delivery_mode: 'digest', digest_time_zone: 'Mars/Olympus_Mons' }, 'body.digest_time_zone'],
    ];
    for (const [body, field] of cases) {
      const response = await rule({ name: 'x', recipients: ['x@company.com'], ...body });
      expectError(response, 422, 'validation_failed');
      expect(response.body.error.details[0].field).toBe(field);
    }
    expectError(await rule({ name: 'x', recipients: ['x@company.com'], delivery_mode: 'digest', digest_hour: 24 }), 422, 'validation_failed');
    const defaulted = (await rule({ name: 'Defaults', recipients: ['x@company.com'], delivery_mode: 'digest', enabled: false }).expect(201)).body;
    expect(defaulted).toMatchObject({ delivery_mode: 'digest', digest_hour: 9, digest_time_zone: 'UTC' });
    const immediate = (await request(t.app).patch(`/v1/alert-rules/${defaulted.id}`).set(as(owner)).send({ delivery_mode: 'immediate' }).expect(200)).body;
    expect(immediate).toMatchObject({ delivery_mode: 'immediate', digest_hour: null, digest_time_zone: null });
    const plain = (await rule({ name: 'Plain', recipients: ['x@company.com'], enabled: false }).expect(201)).body;
    expect(plain).toMatchObject({ delivery_mode: 'immediate', digest_hour: null, digest_time_zone: null });
  });

  it('sends a digest rule one summary per recipient a day at its hour in its zone, and a both rule at once and in the summary', async () => {
    const digest = { delivery_mode: 'digest', digest_hour: 9, digest_time_zone: 'Europe/Paris' };
    await rule({ name: 'Daily secrets', recipients: ['a@company.com', 'b@company.com'], ...digest }).expect(201);
    await rule({ name: 'Secrets, both', recipients: ['c@company.com'], ...digest, delivery_mode: 'both' }).expect(201);

    expect(await at(START)).toBe(1);
    expect(mailTo('c@company.com')).toHaveLength(1);
    expect(mailTo('c@company.com')[0]!.headers.subject).toBe('[fourfold] Secrets, both: 1 secret expiring');
    expect(mailTo('a@company.com')).toHaveLength(0);

    expect(await at(new Date(START.getTime() + 1.5 * HOUR))).toBe(0);
    expect(await at(new Date(START.getTime() + 2 * HOUR + 10 * 60_000))).toBe(3);
    for (const address of ['a@company.com', 'b@company.com']) {
      const mails = mailTo(address);
      expect(mails).toHaveLength(1);
      expect(mails[0]!.headers.subject).toBe('[fourfold] Daily secrets: daily summary, 1 secret expiring');
      expect(mails[0]!.text).toContain('prod/api-key (aws_secretsmanager_secret)');
      expect(mails[0]!.text).toContain('(10 days left)');
    }
    expect(mailTo('c@company.com')).toHaveLength(2);
    expect(mailTo('c@company.com')[1]!.headers.subject).toBe('[fourfold] Secrets, both: daily summary, 1 secret expiring');
    expect(await at(new Date(START.getTime() + 3 * HOUR))).toBe(0);

    // The next day nothing new was raised: no summary.
    expect(await at(new Date(START.getTime() + DAY + 3 * HOUR))).toBe(0);

    // The 7-day stage is reached at 09:30 in Paris: at once for `both`, and in today's summaries.
    expect(await at(new Date(START.getTime() + 4 * DAY + 2.5 * HOUR))).toBe(4);
    expect(mailTo('a@company.com')).toHaveLength(2);
    expect(mailTo('a@company.com')[1]!.text).toContain('(5 days left)');
    expect(mailTo('c@company.com')).toHaveLength(4);
    const deliveries = (await request(t.app).get('/v1/deliveries?limit=200').set(as(owner)).expect(200)).body.data;
    expect(deliveries).toHaveLength(8);
    expect(deliveries.every((d: { status: string }) => d.status === 'succeeded')).toBe(true);
  });
});
