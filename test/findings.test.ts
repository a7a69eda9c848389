import { sql } from 'kysely';
import request from 'supertest';
import { reopenExpiredRiskAcceptances } from '../src/findings/findings.service';
import { QUEUES } from '../src/jobs/job-queue';
import { EXPIRY_CRON } from '../src/workers';
import { insertOrganizationWithOwner } from '../src/organizations/organizations.service';
import { as, logInAs, startTestApp, useTestApp } from './support/app';
import { expectError } from './support/expectations';
import { seedFindings } from './support/findings';

// Risk acceptances end within the organization's risk_acceptance_max_days (365 by default).
const IN_100_DAYS = new Date(Date.now() + 100 * 86_400_000).toISOString();
const IN_200_DAYS = new Date(Date.now() + 200 * 86_400_000).toISOString();

const t = useTestApp();
let owner: string;
let ownerId: string;
let organizationId: string;
let accountId: string;
let otherAccountId: string;
let auditId: string;
let resourceIds: string[];
type Label = 'f0' | 'f1' | 'f2' | 'f3' | 'f4' | 'f5' | 'f6';
/** The seeded findings' ids by label, and their labels by id. */
let ids: Record<Label, string>;
const labels: Record<string, string> = {};

const hoursAfter = (start: number, hours: number) => new Date(start + hours * 3_600_000);

async function newAccount(externalId: string, name: string): Promise<string> {
  return (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: externalId, name }).expect(201)).body.id;
}

beforeAll(async () => {
  owner = await t.ownerToken();
  const me = (await request(t.app).get('/v1/me').set(as(owner))).body;
  organizationId = me.organization.id;
  ownerId = me.user.id;
  accountId = await newAccount('123456789012', 'prod');
  otherAccountId = await newAccount('123456789013', 'dev');
  const cis = (controls: string[]) => ({ cis_aws_foundations: controls, soc2: [], pci_dss: [] });
  const seeded = await seedFindings(
    t.db,
    organizationId,
    accountId,
    [
      { type: 'aws_s3_bucket', name: 'public-assets' },
      { type: 'aws_instance', name: 'web-1', region: 'us-east-1' },
      { type: 'aws_ebs_volume', name: 'old-volume' },
    ],
    [
      { resource: 0, ruleId: 'aws.s3.bucket_public_read', title: 'S3 bucket is publicly readable', severity: 'critical', compliance: { cis_aws_foundations: ['2.1.5'], soc2: ['CC6.1'], pci_dss: [] } },
      { resource: 1, ruleId: 'aws.ec2.instance_public_ip', severity: 'high', compliance: { cis_aws_foundations: [], soc2: ['CC6.6'], pci_dss: [] } },
      { resource: 2, ruleId: 'aws.ec2.ebs_unattached', severity: 'low', dimension: 'cost', costMonthlyUsd: 40, lastSeenAt: new Date(Date.UTC(2026, 10, 10)) },
      { resource: 1, ruleId: 'aws.ec2.instance_oversized', severity: 'medium', dimension: 'cost', costMonthlyUsd: 120.5, status: 'suppressed', statusReason: 'Sized for peaks.' },
      { resource: 0, ruleId: 'aws.s3.bucket_versioning', severity: 'info', dimension: 'architecture', status: 'resolved', inAudit: false },
      { resource: 2, ruleId: 'aws.ec2.ebs_unencrypted', severity: 'high', dimension: 'compliance', status: 'risk_accepted', statusReason: 'Scratch data.', expiresAt: new Date(Date.UTC(2030, 0, 1)), compliance: { pci_dss: ['3.4'] } },
    ],
  );
  auditId = seeded.auditId;
  resourceIds = seeded.resourceIds;
  const other = await seedFindings(t.db, organizationId, otherAccountId, [{ type: 'aws_s3_bucket', name: 'dev-bucket' }], [
    { resource: 0, ruleId: 'aws.s3.bucket_public_read', title: 'S3 bucket is publicly readable', severity: 'critical', firstSeenAt: new Date(Date.UTC(2026, 11, 1)), compliance: cis(['2.1.5']) },
  ]);
  const all = [...seeded.findingIds, ...other.findingIds];
  ids = Object.fromEntries(all.map((id, i) => [`f${i}`, id])) as Record<Label, string>;
  all.forEach((id, i) => (labels[id] = `f${i}`));
});

async function list(query: string, path = '/v1/findings'): Promise<string[]> {
  const response = await request(t.app).get(`${path}?${query}`).set(as(owner));
  expect(response.status).toBe(200);
  return response.body.data.map((finding: { id: string }) => labels[finding.id] ?? finding.id);
}

describe('GET /v1/findings', () => {
  it('lists the most severe first, ties newest first', async () => {
    expect(await list('')).toEqual(['f6', 'f0', 'f5', 'f1', 'f3', 'f2', 'f4']);
  });

  it.each([
    ['severity=high,critical', ['f6', 'f0', 'f5', 'f1']],
    ['severity=critical', ['f6', 'f0']],
    ['severity=low, info', ['f2', 'f4']],
    ['min_severity=medium', ['f6', 'f0', 'f5', 'f1', 'f3']],
    ['dimension=cost', ['f3', 'f2']],
    ['status=open', ['f6', 'f0', 'f1', 'f2']],
    ['status=suppressed,risk_accepted', ['f5', 'f3']],
    ['status=resolved', ['f4']],
    ['rule_id=aws.s3.bucket_public_read', ['f6', 'f0']],
    ['resource_type=aws_instance', ['f1', 'f3']],
    ['region=us-east-1', ['f1', 'f3']],
    ['framework=soc2', ['f0', 'f1']],
    ['framework=pci_dss', ['f5']],
    ['control=2.1.5', ['f6', 'f0']],
    ['framework=cis_aws_foundations&control=2.1.5', ['f6', 'f0']],
    ['framework=soc2&control=2.1.5', []],
    ['first_seen_after=2026-11-15T00:00:00Z', ['f6']],
    ['first_seen_before=2026-11-01T02:30:00Z', ['f0', 'f1', 'f2']],
    ['q=PUBLICLY', ['f6', 'f0']],
    ['q=web-1', ['f1', 'f3']],
    ['q=instance_oversized', ['f3']],
    ['severity=high&dimension=compliance', ['f5']],
  ])('filters: %s', async (query, expected) => {
    expect(await list(query)).toEqual(expected);
  });

  it('filters by account, resource and the audit that saw them failing', async () => {
    expect(await list(`account_id=${otherAccountId}`)).toEqual(['f6']);
    expect(await list(`account_id=${accountId}&severity=critical`)).toEqual(['f0']);
    expect(await list(`resource_id=${resourceIds[0]}`)).toEqual(['f0', 'f4']);
    expect(await list(`audit_id=${auditId}`)).toEqual(['f0', 'f5', 'f1', 'f3', 'f2']);
  });

  it.each([
    ['severity', ['f4', 'f2', 'f3', 'f1', 'f5', 'f0', 'f6']],
    ['first_seen_at', ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6']],
    ['-first_seen_at', ['f6', 'f5', 'f4', 'f3', 'f2', 'f1', 'f0']],
    ['last_seen_at', ['f2', 'f0', 'f1', 'f3', 'f4', 'f5', 'f6']],
    ['-last_seen_at', ['f6', 'f5', 'f4', 'f3', 'f1', 'f0', 'f2']],
    // Findings without a cost sort as the cheapest.
    ['-cost_impact', ['f3', 'f2', 'f6', 'f5', 'f4', 'f1', 'f0']],
    ['cost_impact', ['f0', 'f1', 'f4', 'f5', 'f6', 'f2', 'f3']],
  ])('sorts: %s', async (sort, expected) => {
    expect(await list(`sort=${sort}`)).toEqual(expected);
  });

  it.each(['-severity', 'severity', 'first_seen_at', '-last_seen_at', '-cost_impact', 'cost_impact'])(
    'pages through every finding one at a time, in the same order as one page, sorted by %s',
    async (sort) => {
      const whole = await list(`sort=${sort}`);
      const paged: string[] = [];
      let cursor: string | null = null;
      do {
        const response: request.Response = await request(t.app)
          .get(`/v1/findings?sort=${sort}&limit=2${cursor ? `&cursor=${cursor}` : ''}`)
          .set(as(owner))
          .expect(200);
        paged.push(...response.body.data.map((finding: { id: string }) => labels[finding.id]));
        expect(response.body.has_more).toBe(response.body.next_cursor !== null);
        cursor = response.body.next_cursor;
      } while (cursor);
      expect(paged).toEqual(whole);
    },
  );

  it('refuses a cursor reused with other filters or another sort', async () => {
    const first = await request(t.app).get('/v1/findings?severity=high,critical&limit=1').set(as(owner)).expect(200);
    expect(first.body.has_more).toBe(true);
    const next = await request(t.app).get(`/v1/findings?severity=high,critical&limit=1&cursor=${first.body.next_cursor}`).set(as(owner)).expect(200);
    expect(next.body.data.map((finding: { id: string }) => labels[finding.id])).toEqual(['f0']);
    expectError(await request(t.app).get(`/v1/findings?severity=critical&limit=1&cursor=${first.body.next_cursor}`).set(as(owner)), 400, 'invalid_cursor');
    expectError(await request(t.app).get(`/v1/findings?severity=high,critical&sort=severity&cursor=${first.body.next_cursor}`).set(as(owner)), 400, 'invalid_cursor');
    const ofResource = await request(t.app).get(`/v1/resources/${resourceIds[0]}/findings?limit=1`).set(as(owner)).expect(200);
    expectError(await request(t.app).get(`/v1/findings?limit=1&cursor=${ofResource.body.next_cursor}`).set(as(owner)), 400, 'invalid_cursor');
  });

  it('answers an unknown severity with invalid_severity_filter naming the allowed ones', async () => {
    for (const query of ['severity=urgent', 'severity=high,urgent', 'severity=high,']) {
      const response = await request(t.app).get(`/v1/findings?${query}`).set(as(owner));
      expectError(response, 422, 'invalid_severity_filter');
      expect(response.body.error.message).toBe('severity must be one of: info, low, medium, high, critical');
      expect(response.body.error.details[0].field).toBe('query.severity');
    }
  });

  it('answers an unknown status with invalid_filter, and an unknown min_severity or sort with validation_failed', async () => {
    const status = await request(t.app).get('/v1/findings?status=open,closed').set(as(owner));
    expectError(status, 422, 'invalid_filter');
    expect(status.body.error.message).toBe('status must be one of: open, resolved, suppressed, risk_accepted');
    expect(status.body.error.details).toEqual([{ field: 'query.status', issue: 'unknown status: closed' }]);
    expectError(await request(t.app).get('/v1/findings?min_severity=urgent').set(as(owner)), 422, 'validation_failed');
    expectError(await request(t.app).get('/v1/findings?sort=title').set(as(owner)), 422, 'validation_failed');
  });
});

describe('GET /v1/findings/{id}', () => {
  it('answers the finding with its resource, evidence, remediation, compliance and cost', async () => {
    const response = await request(t.app).get(`/v1/findings/${ids.f0}`).set(as(owner)).expect(200);
    expect(response.body).toEqual({
      id: ids.f0,
      rule_id: 'aws.s3.bucket_public_read',
      rule_version: 1,
      policy_id: null,
      policy_version: null,
      title: 'S3 bucket is publicly readable',
      description: 'What finding 0 means.',
      dimension: 'security',
      severity: 'critical',
      status: 'open',
      status_reason: null,
      expires_at: null,
      note: null,
      resource: {
        id: resourceIds[0],
        type: 'aws_s3_bucket',
        name: 'public-assets',
        native_id: `arn:aws:test:::${resourceIds[0]}`,
        account_id: accountId,
        region: 'eu-west-1',
      },
      evidence: [{ path: 'attributes.acl', value: 'public-read' }],
      remediation: { text: 'Make it private.', terraform: null },
      compliance: { cis_aws_foundations: ['2.1.5'], soc2: ['CC6.1'], pci_dss: [] },
      cost_impact: null,
      first_seen_at: '2026-11-01T00:00:00.000Z',
      last_seen_at: '2026-11-22T08:00:00.000Z',
      first_audit_id: auditId,
      last_audit_id: auditId,
      resolved_at: null,
      updated_at: '2026-11-22T08:00:00.000Z',
    });
    const costly = await request(t.app).get(`/v1/findings/${ids.f3}`).set(as(owner)).expect(200);
    expect(costly.body).toMatchObject({ cost_impact: { monthly_usd: 120.5 }, status: 'suppressed', status_reason: 'Sized for peaks.' });
    const resolved = await request(t.app).get(`/v1/findings/${ids.f4}`).set(as(owner)).expect(200);
    expect(resolved.body).toMatchObject({ status: 'resolved', status_reason: 'passed', resolved_at: '2026-11-22T08:00:00.000Z' });
  });

  it('answers 404 for an unknown finding', async () => {
    expectError(await request(t.app).get('/v1/findings/fnd_01JD8X3N5W6Q2R4T7Y9ZABCDEF').set(as(owner)), 404, 'not_found');
  });
});

describe('GET /v1/resources/{id}/findings', () => {
  it("lists the resource's findings with the status and severity filters", async () => {
    expect(await list('', `/v1/resources/${resourceIds[0]}/findings`)).toEqual(['f0', 'f4']);
    expect(await list('status=open', `/v1/resources/${resourceIds[0]}/findings`)).toEqual(['f0']);
    expect(await list('severity=info&sort=first_seen_at', `/v1/resources/${resourceIds[0]}/findings`)).toEqual(['f4']);
    expect(await list('min_severity=high', `/v1/resources/${resourceIds[2]}/findings`)).toEqual(['f5']);
  });

  it('answers an unknown severity with invalid_severity_filter, and an unknown resource with 404', async () => {
    const response = await request(t.app).get(`/v1/resources/${resourceIds[0]}/findings?severity=severe`).set(as(owner));
    expectError(response, 422, 'invalid_severity_filter');
    expect(response.body.error.message).toBe('severity must be one of: info, low, medium, high, critical');
    expectError(await request(t.app).get('/v1/resources/res_01JD8X3N5W6Q2R4T7Y9ZABCDEF/findings').set(as(owner)), 404, 'not_found');
  });
});

describe('triage', () => {
  let triage: Record<'open' | 'open2' | 'open3' | 'resolved' | 'suppressed' | 'accepted', string>;
  beforeAll(async () => {
    const account = await newAccount('123456789014', 'triage');
    const seeded = await seedFindings(
      t.db,
      organizationId,
      account,
      [{ type: 'aws_s3_bucket', name: 'triage-bucket' }],
      [
        { resource: 0, ruleId: 'aws.s3.triage_a' },
        { resource: 0, ruleId: 'aws.s3.triage_b' },
        { resource: 0, ruleId: 'aws.s3.triage_c' },
        { resource: 0, ruleId: 'aws.s3.triage_d', status: 'resolved' },
        { resource: 0, ruleId: 'aws.s3.triage_e', status: 'suppressed', statusReason: 'False positive.' },
        { resource: 0, ruleId: 'aws.s3.triage_f', status: 'risk_accepted', statusReason: 'Until the migration.', expiresAt: new Date(Date.UTC(2031, 0, 1)) },
      ],
    );
    const [open, open2, open3, resolved, suppressed, accepted] = seeded.findingIds as [string, string, string, string, string, string];
    triage = { open, open2, open3, resolved, suppressed, accepted };
  });

  const patch = (id: string, body: object, token = owner) => request(t.app).patch(`/v1/findings/${id}`).set(as(token)).send(body);
  const events = async (id: string) => (await request(t.app).get(`/v1/findings/${id}/events`).set(as(owner)).expect(200)).body.data;

  it('suppresses an open finding with a reason, recording who did it', async () => {
    const response = await patch(triage.open, { status: 'suppressed', reason: 'Public on purpose.' }).expect(200);
    expect(response.body).toMatchObject({ id: triage.open, status: 'suppressed', status_reason: 'Public on purpose.', expires_at: null });
    expect(Date.parse(response.body.updated_at)).toBeGreaterThan(Date.parse('2026-11-22T08:00:00Z'));
    expect(await events(triage.open)).toEqual([
      {
        id: expect.stringMatching(/^fev_/),
        type: 'status_changed',
        from_status: 'open',
        to_status: 'suppressed',
        reason: 'Public on purpose.',
        actor: { type: 'user', user_id: ownerId },
        created_at: response.body.updated_at,
      },
    ]);
  });

  it('reopens a suppressed finding, and pages its history oldest first', async () => {
    await patch(triage.open, { status: 'open', reason: 'It holds customer data now.' }).expect(200);
    const first = await request(t.app).get(`/v1/findings/${triage.open}/events?limit=1`).set(as(owner)).expect(200);
    expect(first.body.data.map((event: { to_status: string }) => event.to_status)).toEqual(['suppressed']);
    expect(first.body.has_more).toBe(true);
    const second = await request(t.app).get(`/v1/findings/${triage.open}/events?limit=1&cursor=${first.body.next_cursor}`).set(as(owner)).expect(200);
    expect(second.body).toMatchObject({ data: [{ from_status: 'suppressed', to_status: 'open', reason: 'It holds customer data now.' }], has_more: false, next_cursor: null });
    const finding = await request(t.app).get(`/v1/findings/${triage.open}`).set(as(owner)).expect(200);
    expect(finding.body).toMatchObject({ status: 'open', status_reason: 'It holds customer data now.' });
    expectError(await request(t.app).get(`/v1/findings/${triage.open2}/events?cursor=${first.body.next_cursor}`).set(as(owner)), 400, 'invalid_cursor');
  });

  it('accepts a risk with a reason and a future expiry', async () => {
    const expiresAt = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const response = await patch(triage.open2, { status: 'risk_accepted', reason: 'Fixed next quarter.', expires_at: expiresAt }).expect(200);
    expect(response.body).toMatchObject({ status: 'risk_accepted', status_reason: 'Fixed next quarter.', expires_at: expiresAt });
    expect((await events(triage.open2)).map((event: { to_status: string }) => event.to_status)).toEqual(['risk_accepted']);
  });

  it.each([
    ['suppressing without a reason', { status: 'suppressed' }, 'body.reason'],
    ['accepting a risk without a reason', { status: 'risk_accepted', expires_at: IN_100_DAYS }, 'body.reason'],
    ['accepting a risk without an expiry', { status: 'risk_accepted', reason: 'Later.' }, 'body.expires_at'],
    ['accepting a risk until a past date', { status: 'risk_accepted', reason: 'Later.', expires_at: '2020-01-01T00:00:00Z' }, 'body.expires_at'],
    ['an expiry on suppressing', { status: 'suppressed', reason: 'No.', expires_at: IN_100_DAYS }, 'body.expires_at'],
    ['setting resolved', { status: 'resolved' }, 'body.status'],
    ['an empty change', {}, 'body'],
  ])('refuses %s with 422 naming the field, changing nothing', async (_name, body, field) => {
    const response = await patch(triage.open3, body);
    expectError(response, 422, 'validation_failed');
    expect(response.body.error.details.map((detail: { field: string }) => detail.field)).toContain(field);
    expect((await request(t.app).get(`/v1/findings/${triage.open3}`).set(as(owner))).body.status).toBe('open');
    expect(await events(triage.open3)).toEqual([]);
  });

  it.each([
    ['resolved', 'suppressed', { status: 'suppressed', reason: 'No.' }],
    ['resolved', 'open', { status: 'open' }],
    ['suppressed', 'risk_accepted', { status: 'risk_accepted', reason: 'Later.', expires_at: IN_100_DAYS }],
  ] as const)('refuses %s → %s with 409 invalid_transition naming both', async (from, to, body) => {
    const id = from === 'resolved' ? triage.resolved : triage.suppressed;
    const response = await patch(id, body);
    expectError(response, 409, 'invalid_transition');
    expect(response.body.error.message).toContain(`from ${from} to ${to}`);
    expect((await request(t.app).get(`/v1/findings/${id}`).set(as(owner))).body.status).toBe(from);
  });

  it('refuses a reason or an expiry for a status that has none', async () => {
    expectError(await patch(triage.open3, { reason: 'Why not.' }), 409, 'invalid_transition');
    expectError(await patch(triage.suppressed, { expires_at: IN_100_DAYS }), 409, 'invalid_transition');
  });

  it('changes a note, a reason or an expiry without recording an event', async () => {
    const noted = await patch(triage.resolved, { note: 'Fixed by the platform team.' }).expect(200);
    expect(noted.body).toMatchObject({ status: 'resolved', status_reason: 'passed', note: 'Fixed by the platform team.' });
    expect((await patch(triage.resolved, { note: null }).expect(200)).body.note).toBeNull();
    const reworded = await patch(triage.suppressed, { reason: 'Test fixture, never deployed.' }).expect(200);
    expect(reworded.body).toMatchObject({ status: 'suppressed', status_reason: 'Test fixture, never deployed.' });
    const extended = await patch(triage.accepted, { expires_at: IN_200_DAYS }).expect(200);
    expect(extended.body).toMatchObject({ status: 'risk_accepted', status_reason: 'Until the migration.', expires_at: IN_200_DAYS });
    for (const id of [triage.resolved, triage.suppressed, triage.accepted]) expect(await events(id)).toEqual([]);
  });

  it('does not let a viewer triage (403), though they can read', async () => {
    const viewer = await t.addMember('viewer');
    expectError(await patch(triage.open3, { note: 'Mine.' }, viewer.token), 403, 'insufficient_scope');
    expectError(
      await request(t.app).post('/v1/findings/batch-update').set(as(viewer.token)).send({ ids: [triage.open3], change: { note: 'Mine.' } }),
      403,
      'insufficient_scope',
    );
    await request(t.app).get(`/v1/findings/${triage.open3}`).set(as(viewer.token)).expect(200);
  });

  it('batch-updates each finding on its own, answering per id', async () => {
    const unknown = 'fnd_01JD8X3N5W6Q2R4T7Y9ZABCDEF';
    const response = await request(t.app)
      .post('/v1/findings/batch-update')
      .set(as(owner))
      .send({ ids: [triage.open3, triage.resolved, unknown, ids.f1], change: { status: 'suppressed', reason: 'Sandbox.' } })
      .expect(200);
    expect(response.body.results).toEqual([
      { id: triage.open3, result: 'updated', message: null },
      { id: triage.resolved, result: 'invalid_transition', message: expect.stringContaining('from resolved to suppressed') },
      { id: unknown, result: 'not_found', message: `No finding ${unknown} in this organization.` },
      { id: ids.f1, result: 'updated', message: null },
    ]);
    expect((await request(t.app).get(`/v1/findings/${triage.open3}`).set(as(owner))).body.status).toBe('suppressed');
    expect((await events(ids.f1)).map((event: { reason: string }) => event.reason)).toEqual(['Sandbox.']);
    await request(t.app).post('/v1/findings/batch-update').set(as(owner)).send({ ids: [ids.f1], change: { status: 'open' } }).expect(200);
  });

  it('refuses a batch change that is invalid for any finding with 422, changing nothing', async () => {
    const response = await request(t.app).post('/v1/findings/batch-update').set(as(owner)).send({ ids: [ids.f2], change: { status: 'suppressed' } });
    expectError(response, 422, 'validation_failed');
    expect((await request(t.app).get(`/v1/findings/${ids.f2}`).set(as(owner))).body.status).toBe('open');
    const tooMany = Array.from({ length: 201 }, (_, i) => `fnd_01JD8X3N5W6Q2R4T7Y9ZAB${String(i).padStart(4, '0')}`);
    expectError(await request(t.app).post('/v1/findings/batch-update').set(as(owner)).send({ ids: tooMany, change: { note: 'x' } }), 422, 'validation_failed');
  });
});

describe('risk acceptance expiry', () => {
  it('reopens risk acceptances whose expiry has passed, as the system, and leaves the others', async () => {
    const account = await newAccount('123456789015', 'expiry');
    const { findingIds } = await seedFindings(t.db, organizationId, account, [{ type: 'aws_instance', name: 'expiring' }], [
      { resource: 0, ruleId: 'aws.ec2.expiry_a' },
      { resource: 0, ruleId: 'aws.ec2.expiry_b' },
    ]);
    const [soon, later] = findingIds as [string, string];
    const now = Date.now();
    const accept = (id: string, hours: number) =>
      request(t.app)
        .patch(`/v1/findings/${id}`)
        .set(as(owner))
        .send({ status: 'risk_accepted', reason: 'Accepted for now.', expires_at: new Date(now + hours * 3_600_000).toISOString() })
        .expect(200);
    await accept(soon, 1);
    await accept(later, 48);

    expect(await reopenExpiredRiskAcceptances(t.db, hoursAfter(now, 0.5))).toBe(0);
    expect(await reopenExpiredRiskAcceptances(t.db, hoursAfter(now, 2))).toBe(1);

    const reopened = await request(t.app).get(`/v1/findings/${soon}`).set(as(owner)).expect(200);
    expect(reopened.body).toMatchObject({ status: 'open', status_reason: 'risk_acceptance_expired', expires_at: null });
    const history = (await request(t.app).get(`/v1/findings/${soon}/events`).set(as(owner)).expect(200)).body.data;
    expect(history.at(-1)).toEqual({
      id: expect.stringMatching(/^fev_/),
      type: 'expired',
      from_status: 'risk_accepted',
      to_status: 'open',
      reason: 'risk_acceptance_expired',
      actor: { type: 'system', audit_id: null },
      created_at: hoursAfter(now, 2).toISOString(),
    });
    expect((await request(t.app).get(`/v1/findings/${later}`).set(as(owner)).expect(200)).body.status).toBe('risk_accepted');
    expect(await reopenExpiredRiskAcceptances(t.db, hoursAfter(now, 2))).toBe(0);
  });

  it('runs as a pg-boss job, scheduled every minute by the workers', async () => {
    const worker = await startTestApp({}, { workers: true });
    try {
      const token = await worker.ownerToken();
      const me = (await request(worker.app).get('/v1/me').set(as(token))).body;
      const account = (await request(worker.app).post('/v1/accounts').set(as(token)).send({ provider: 'aws', external_id: '123456789016', name: 'jobs' })).body.id;
      const { findingIds } = await seedFindings(worker.db, me.organization.id, account, [{ type: 'aws_instance' }], [
        { resource: 0, status: 'risk_accepted', statusReason: 'Accepted.', expiresAt: new Date(Date.now() - 1000) },
      ]);
      const schedules = await sql<{ name: string; cron: string }>`select name, cron from pgboss.schedule`.execute(worker.db);
      expect(schedules.rows).toContainEqual({ name: QUEUES.findingExpiry, cron: EXPIRY_CRON });

      await worker.jobs.send(QUEUES.findingExpiry, {});
      let status: string | undefined;
      for (let attempt = 0; attempt < 100 && status !== 'open'; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = (await request(worker.app).get(`/v1/findings/${findingIds[0]}`).set(as(token)).expect(200)).body.status;
      }
      expect(status).toBe('open');
    } finally {
      await worker.close();
    }
  });
});

describe('another organization', () => {
  it("answers another organization's findings with 404, and not_found in a batch", async () => {
    await t.db.transaction().execute((trx) => insertOrganizationWithOwner(trx, { name: 'Other', username: 'fnd-other', password: 'other-password-123' }));
    const other = await logInAs(t.app, 'fnd-other', 'other-password-123');
    expect((await request(t.app).get('/v1/findings').set(as(other)).expect(200)).body.data).toEqual([]);
    expect((await request(t.app).get(`/v1/findings?resource_id=${resourceIds[0]}`).set(as(other)).expect(200)).body.data).toEqual([]);
    expectError(await request(t.app).get(`/v1/findings/${ids.f0}`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).patch(`/v1/findings/${ids.f0}`).set(as(other)).send({ note: 'Mine now.' }), 404, 'not_found');
    expectError(await request(t.app).get(`/v1/findings/${ids.f0}/events`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).get(`/v1/resources/${resourceIds[0]}/findings`).set(as(other)), 404, 'not_found');
    const batch = await request(t.app).post('/v1/findings/batch-update').set(as(other)).send({ ids: [ids.f0], change: { note: 'Mine now.' } }).expect(200);
    expect(batch.body.results).toEqual([{ id: ids.f0, result: 'not_found', message: `No finding ${ids.f0} in this organization.` }]);
    expect((await request(t.app).get(`/v1/findings/${ids.f0}`).set(as(owner)).expect(200)).body.note).toBeNull();
  });
});
