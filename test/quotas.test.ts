import request from 'supertest';
import { applyQueuedImport } from '../src/imports/imports.service';
import { as, logInAs, OWNER, useTestApp } from './support/app';
import { seedAudit } from './support/audits';
import { expectError } from './support/expectations';
import { seedFindings } from './support/findings';

// Limits per organization (issue 16), set by a platform operator. No worker runs in this file, so
// what is queued stays queued.
const t = useTestApp({ PLATFORM_ADMINS: OWNER.username, IMPORT_INLINE_MAX_RESOURCES: '3' });
const PASSWORD = 'tenant-password-0123456789';
let operator: string;
beforeAll(async () => {
  operator = await t.ownerToken();
});

let tenants = 0;
/** A fresh organization with these limits, its owner's token and an AWS account. */
async function tenant(limits: object = {}) {
  const slug = `quota-${++tenants}`;
  const username = `owner-${slug}@example.com`;
  const created = await request(t.app)
    .post('/v1/platform/organizations')
    .set(as(operator))
    .send({ name: slug, slug, owner: { username, password: PASSWORD } })
    .expect(201);
  const id = created.body.organization.id as string;
  if (Object.keys(limits).length > 0) await request(t.app).patch(`/v1/platform/organizations/${id}`).set(as(operator)).send({ limits }).expect(200);
  const token = await logInAs(t.app, username, PASSWORD);
  const account = await request(t.app).post('/v1/accounts').set(as(token)).send({ provider: 'aws', external_id: '123456789012', name: 'production' }).expect(201);
  return { id, token, accountId: account.body.id as string };
}

function buckets(count: number, from = 0, attributes: object = {}) {
  return {
    resources: Array.from({ length: count }, (_, i) => ({
      type: 'aws_s3_bucket',
      native_id: `arn:aws:s3:::bucket-${from + i}`,
      provider: 'aws',
      region: 'eu-west-1',
      name: `bucket-${from + i}`,
      tags: {},
      attributes: { bucket: `bucket-${from + i}`, ...attributes },
      relationships: [],
    })),
  };
}

function importInto(token: string, accountId: string, document: object) {
  return request(t.app).post(`/v1/accounts/${accountId}/imports?format=native&mode=incremental`).set(as(token)).send(document);
}

async function resourceCount(token: string): Promise<number> {
  return ((await request(t.app).get('/v1/resources?limit=200').set(as(token)).expect(200)).body.data as unknown[]).length;
}

describe('limits set by platform operators', () => {
  it('shows the defaults, sets limits, and returns one to its default with null; tenants cannot', async () => {
    const { id, token } = await tenant();
    const defaults = { resources: 1000000, resource_attribute_bytes: 262144, queued_jobs: 50, report_bytes: 1073741824 };
    expect((await request(t.app).get(`/v1/platform/organizations/${id}`).set(as(operator)).expect(200)).body.limits).toEqual(defaults);

    const set = await request(t.app).patch(`/v1/platform/organizations/${id}`).set(as(operator)).send({ limits: { resources: 10, queued_jobs: 3 } });
    expect(set.status).toBe(200);
    expect(set.body.limits).toEqual({ ...defaults, resources: 10, queued_jobs: 3 });
    const reset = await request(t.app).patch(`/v1/platform/organizations/${id}`).set(as(operator)).send({ limits: { resources: null } });
    expect(reset.body.limits).toEqual({ ...defaults, queued_jobs: 3 });

    expectError(await request(t.app).patch(`/v1/platform/organizations/${id}`).set(as(token)).send({ limits: { queued_jobs: 1000 } }), 403, 'insufficient_scope');
    expectError(await request(t.app).patch(`/v1/platform/organizations/${id}`).set(as(operator)).send({ limits: { queued_jobs: 0 } }), 422, 'validation_failed');
  });
});

describe('resources per organization', () => {
  it('refuses an import that would exceed it with 422 quota_exceeded, writing nothing; re-importing what is there passes', async () => {
    const { token, accountId } = await tenant({ resources: 2 });
    const refused = await importInto(token, accountId, buckets(3));
    expectError(refused, 422, 'quota_exceeded');
    expect(refused.body.error.details).toEqual([{ field: null, issue: '3 of at most 2', quota: 'resources', limit: 2, usage: 3 }]);
    expect(await resourceCount(token)).toBe(0);

    expect((await importInto(token, accountId, buckets(2))).status).toBe(201);
    expect((await importInto(token, accountId, buckets(2))).status).toBe(201);
    expectError(await importInto(token, accountId, buckets(1, 5)), 422, 'quota_exceeded');
    expect(await resourceCount(token)).toBe(2);
  });

  it('ends a queued import over it failed, saying so, with nothing written', async () => {
    const { token, accountId } = await tenant({ resources: 3 });
    // More than IMPORT_INLINE_MAX_RESOURCES: queued (no worker runs here; this is what one does).
    const queued = await importInto(token, accountId, buckets(4));
    expect(queued.status).toBe(202);
    await applyQueuedImport(t.db, queued.body.id, t.config.organizationLimits);
    const ended = await request(t.app).get(`/v1/imports/${queued.body.id}`).set(as(token)).expect(200);
    expect(ended.body).toMatchObject({ status: 'failed', problems: [{ item: '$', field: null, message: expect.stringContaining('resources limit of 3') }] });
    expect(await resourceCount(token)).toBe(0);
  });
});

describe("size of one resource's attributes", () => {
  it('refuses a file holding a larger one with 422 quota_exceeded naming the resource, and records the failed import', async () => {
    const { token, accountId } = await tenant({ resource_attribute_bytes: 2048 });
    const document = buckets(2);
    (document.resources[1]!.attributes as Record<string, unknown>).policy = 'x'.repeat(3000);
    const refused = await importInto(token, accountId, document);
    expectError(refused, 422, 'quota_exceeded');
    expect(refused.body.error.message).toContain('resources[1]');
    expect(refused.body.error.details).toEqual([
      { field: 'body', issue: expect.stringMatching(/^resources\[1\]: attributes take 30\d\d bytes, over the limit of 2048$/), quota: 'resource_attribute_bytes', limit: 2048, usage: expect.any(Number) },
    ]);
    expect(await resourceCount(token)).toBe(0);
    const imports = await request(t.app).get(`/v1/accounts/${accountId}/imports`).set(as(token)).expect(200);
    expect(imports.body.data).toEqual([expect.objectContaining({ status: 'failed', problems: [expect.objectContaining({ item: 'resources[1]', field: 'attributes' })] })]);

    expect((await importInto(token, accountId, buckets(2))).status).toBe(201);
  });
});

describe('queued jobs per organization', () => {
  it('refuses audits, reports and queued imports beyond it with 429 too_many_queued_jobs; other organizations go on', async () => {
    const { id, token, accountId } = await tenant({ queued_jobs: 2 });
    await request(t.app).post('/v1/audits').set(as(token)).send({}).expect(202);
    await request(t.app).post('/v1/audits').set(as(token)).send({}).expect(202);

    const audit = await request(t.app).post('/v1/audits').set(as(token)).send({});
    expectError(audit, 429, 'too_many_queued_jobs');
    expect(audit.headers['retry-after']).toMatch(/^\d+$/);
    expect(audit.body.error.details).toEqual([{ field: null, issue: '2 unfinished of 2', quota: 'queued_jobs', limit: 2, usage: 2 }]);

    const succeeded = await seedAudit(t.db, id, {});
    expectError(await request(t.app).post(`/v1/audits/${succeeded}/reanalyze`).set(as(token)), 429, 'too_many_queued_jobs');
    expectError(await request(t.app).post('/v1/reports').set(as(token)).send({ type: 'executive_summary', format: 'json' }), 429, 'too_many_queued_jobs');
    // More resources than IMPORT_INLINE_MAX_RESOURCES: the import would queue.
    expectError(await importInto(token, accountId, buckets(4)), 429, 'too_many_queued_jobs');
    // A small import is written in the request: it queues nothing and passes.
    expect((await importInto(token, accountId, buckets(2))).status).toBe(201);
    const audits = await request(t.app).get('/v1/audits').set(as(token)).expect(200);
    expect(audits.body.data.filter((a: { status: string }) => a.status === 'queued')).toHaveLength(2);

    const other = await tenant({ queued_jobs: 2 });
    await request(t.app).post('/v1/audits').set(as(other.token)).send({}).expect(202);
  });
});

describe('stored report bytes', () => {
  it('refuses a report while the stored ones fill the limit, with 422 quota_exceeded', async () => {
    const { id, token } = await tenant({ report_bytes: 0 });
    await seedAudit(t.db, id, {});
    const refused = await request(t.app).post('/v1/reports').set(as(token)).send({ type: 'executive_summary', format: 'json' });
    expectError(refused, 422, 'quota_exceeded');
    expect(refused.body.error.details).toEqual([{ field: null, issue: '0 of at most 0', quota: 'report_bytes', limit: 0, usage: 0 }]);
    expect((await request(t.app).get('/v1/reports').set(as(token)).expect(200)).body.data).toEqual([]);

    await request(t.app).patch(`/v1/platform/organizations/${id}`).set(as(operator)).send({ limits: { report_bytes: 1000000 } }).expect(200);
    await request(t.app).post('/v1/reports').set(as(token)).send({ type: 'executive_summary', format: 'json' }).expect(202);
  });
});

describe('the longest risk acceptance', () => {
  const DAY = 24 * 60 * 60 * 1000;
  const inDays = (days: number) => new Date(Date.now() + days * DAY).toISOString();

  it('is 365 days unless an admin sets another; a longer expires_at answers 422 risk_acceptance_too_long', async () => {
    const { id, token, accountId } = await tenant();
    const { findingIds } = await seedFindings(t.db, id, accountId, [{ type: 'aws_s3_bucket' }, { type: 'aws_s3_bucket' }], [{ resource: 0 }, { resource: 1 }]);
    const organization = await request(t.app).get('/v1/organization').set(as(token)).expect(200);
    expect(organization.body).toMatchObject({ id, risk_acceptance_max_days: 365 });

    const accept = (findingId: string, days: number) =>
      request(t.app).patch(`/v1/findings/${findingId}`).set(as(token)).send({ status: 'risk_accepted', reason: 'Planned for next year', expires_at: inDays(days) });
    const tooLong = await accept(findingIds[0]!, 366);
    expectError(tooLong, 422, 'risk_acceptance_too_long');
    expect(tooLong.body.error.details).toEqual([
      { field: 'body.expires_at', issue: 'at most 365 days from now (risk_acceptance_max_days)', quota: 'risk_acceptance_max_days', limit: 365, usage: 366 },
    ]);

    const member = await request(t.app).post('/v1/members').set(as(token)).send({ username: `member-${id}@example.com`, role: 'member', password: PASSWORD }).expect(201);
    const memberToken = await logInAs(t.app, member.body.username, PASSWORD);
    expectError(await request(t.app).patch('/v1/organization').set(as(memberToken)).send({ risk_acceptance_max_days: 1000 }), 403, 'insufficient_scope');

    const changed = await request(t.app).patch('/v1/organization').set(as(token)).send({ risk_acceptance_max_days: 30 });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ id, risk_acceptance_max_days: 30 });
    expect((await request(t.app).get('/v1/organization').set(as(token)).expect(200)).body.risk_acceptance_max_days).toBe(30);

    expectError(await accept(findingIds[0]!, 31), 422, 'risk_acceptance_too_long');
    const batch = await request(t.app)
      .post('/v1/findings/batch-update')
      .set(as(token))
      .send({ ids: findingIds, change: { status: 'risk_accepted', reason: 'Later', expires_at: inDays(31) } });
    expectError(batch, 422, 'risk_acceptance_too_long');
    const untouched = await request(t.app).get(`/v1/findings/${findingIds[1]}`).set(as(token)).expect(200);
    expect(untouched.body.status).toBe('open');

    expect((await accept(findingIds[0]!, 29)).status).toBe(200);
    // Changing only the expiry of an accepted risk is bounded too.
    expectError(
      await request(t.app).patch(`/v1/findings/${findingIds[0]}`).set(as(token)).send({ expires_at: inDays(40) }),
      422,
      'risk_acceptance_too_long',
    );
  });
});
