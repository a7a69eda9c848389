import { sql } from 'kysely';
import request from 'supertest';
import { migrateTo, migrateToLatest, openDatabase } from '../src/db/database';
import { encodeCursor } from '../src/http/pagination';
import { insertOrganizationWithOwner } from '../src/organizations/organizations.service';
import { as, logInAs, useTestApp } from './support/app';
import { expectError } from './support/expectations';
import { seedResources } from './support/inventory';

const t = useTestApp();
let owner: string;
let organizationId: string;
let accountId: string;
let otherAccountId: string;
beforeAll(async () => {
  owner = await t.ownerToken();
  organizationId = (await request(t.app).get('/v1/me').set(as(owner))).body.organization.id;
  accountId = (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: '123456789012', name: 'prod' })).body.id;
  otherAccountId = (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: '123456789013', name: 'dev' })).body.id;
  await seedResources(t.db, organizationId, accountId, [
    { type: 'aws_s3_bucket', name: 'logs-archive', tags: { env: 'prod', owner: 'sre' } },
    { type: 'aws_s3_bucket', name: 'public-assets', tags: { env: 'prod' } },
    { type: 'aws_instance', name: 'web-1', tags: { env: 'staging' }, region: 'us-east-1' },
    { type: 'aws_instance', name: null, tags: {} },
    { type: 'aws_ebs_volume', name: 'old-volume', status: 'gone' },
  ]);
  await seedResources(t.db, organizationId, otherAccountId, [
    { type: 'aws_s3_bucket', name: 'dev-bucket', tags: { env: 'dev' }, lastSeenAt: new Date(Date.UTC(2026, 10, 2)) },
  ]);
});

async function names(query: string): Promise<(string | null)[]> {
  const response = await request(t.app).get(`/v1/resources?${query}`).set(as(owner));
  expect(response.status).toBe(200);
  return response.body.data.map((r: { name: string | null }) => r.name);
}

describe('GET /v1/resources', () => {
  it('lists summaries without attributes, newest sighting first by default', async () => {
    const response = await request(t.app).get('/v1/resources').set(as(owner));
    expect(response.body.data).toHaveLength(6);
    expect(response.body.data[0]).not.toHaveProperty('attributes');
    expect(response.body.data[0].name).toBe('dev-bucket');
  });

  it.each([
    ['type=aws_s3_bucket', ['dev-bucket', 'public-assets', 'logs-archive']],
    ['type=aws_s3_bucket&type=aws_ebs_volume', ['dev-bucket', 'old-volume', 'public-assets', 'logs-archive']],
    ['tag=env:prod', ['public-assets', 'logs-archive']],
    ['tag=owner', ['logs-archive']],
    ['tag=owner&tag=env:staging', ['web-1', 'logs-archive']],
    ['region=us-east-1', ['web-1']],
    ['status=gone', ['old-volume']],
    ['name=ASSET', ['public-assets']],
    ['q=arn:aws:test', ['dev-bucket', 'old-volume', null, 'web-1', 'public-assets', 'logs-archive']],
    ['sort=name', [null, 'dev-bucket', 'logs-archive', 'old-volume', 'public-assets', 'web-1']],
    ['sort=-name&type=aws_s3_bucket', ['public-assets', 'logs-archive', 'dev-bucket']],
    ['sort=first_seen_at&status=active&type=aws_instance', ['web-1', null]],
  ])('filters and sorts: %s', async (query, expected) => {
    expect(await names(query)).toEqual(expected);
  });

  it('filters by account', async () => {
    expect(await names(`account_id=${otherAccountId}`)).toEqual(['dev-bucket']);
  });

  it('names the allowed values when a filter value is unknown', async () => {
    const response = await request(t.app).get('/v1/resources?status=deleted').set(as(owner));
    expectError(response, 422, 'validation_failed');
    expect(response.body.error.details[0]).toMatchObject({ field: 'query.status', issue: expect.stringContaining('active, gone') });
    const sort = await request(t.app).get('/v1/resources?sort=size').set(as(owner));
    expect(sort.body.error.details[0].issue).toContain('last_seen_at');
  });

  it('pages with a cursor bound to filters and sort', async () => {
    const first = await request(t.app).get('/v1/resources?sort=name&limit=2').set(as(owner));
    expect(first.body.has_more).toBe(true);
    const second = await request(t.app).get(`/v1/resources?sort=name&limit=2&cursor=${first.body.next_cursor}`).set(as(owner));
    expect(second.body.data.map((r: { name: string }) => r.name)).toEqual(['logs-archive', 'old-volume']);
    expectError(await request(t.app).get(`/v1/resources?sort=-name&limit=2&cursor=${first.body.next_cursor}`).set(as(owner)), 400, 'invalid_cursor');
    expectError(await request(t.app).get(`/v1/resources?sort=name&type=aws_instance&cursor=${first.body.next_cursor}`).set(as(owner)), 400, 'invalid_cursor');
  });

  it('refuses hand-edited cursors, and binds the time filters too', async () => {
    const forge = (keys: unknown[], binding: unknown) => encodeCursor(keys as (string | number)[], binding);
    const sort = { field: 'last_seen_at', descending: true };
    const filter = {};
    const badTime = forge(['not-a-date', 'res_01JD8X3N5W6Q2R4T7Y9ZABCDEF'], { list: 'resources', filter, sort });
    expectError(await request(t.app).get(`/v1/resources?cursor=${badTime}`).set(as(owner)), 400, 'invalid_cursor');
    const [resource] = (await request(t.app).get('/v1/resources?limit=1').set(as(owner))).body.data;
    const badVersion = forge(['abc'], { list: 'resource_versions', resource: resource.id });
    expectError(await request(t.app).get(`/v1/resources/${resource.id}/versions?cursor=${badVersion}`).set(as(owner)), 400, 'invalid_cursor');

    const first = await request(t.app).get('/v1/resources?limit=1&seen_after=2000-01-01T00:00:00Z').set(as(owner));
    const moved = await request(t.app).get(`/v1/resources?limit=1&seen_after=2100-01-01T00:00:00Z&cursor=${first.body.next_cursor}`).set(as(owner));
    expectError(moved, 400, 'invalid_cursor');
  });

  it('pages through a set while resources are inserted, without duplicates or gaps', async () => {
    const base = Date.UTC(2026, 9, 1);
    const account = (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: '123456789014', name: 'paging' })).body.id;
    const original = await seedResources(
      t.db,
      organizationId,
      account,
      Array.from({ length: 25 }, (_, i) => ({ type: 'aws_sqs_queue', lastSeenAt: new Date(base + i * 1000) })),
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    let page = 0;
    do {
      const response: request.Response = await request(t.app)
        .get(`/v1/resources?account_id=${account}&sort=last_seen_at&limit=4${cursor ? `&cursor=${cursor}` : ''}`)
        .set(as(owner));
      seen.push(...response.body.data.map((r: { id: string }) => r.id));
      cursor = response.body.next_cursor;
      // Each page, a resource appears behind the reader and one ahead of it.
      await seedResources(t.db, organizationId, account, [
        { type: 'aws_sqs_queue', lastSeenAt: new Date(base - 1000 * ++page) },
        { type: 'aws_sqs_queue', lastSeenAt: new Date(base + 3_600_000 + page) },
      ]);
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of original) expect(seen).toContain(id);
  });

  it('answers another organization with nothing, and its ids with 404', async () => {
    const [ours] = (await request(t.app).get('/v1/resources?limit=1').set(as(owner))).body.data;
    await t.db.transaction().execute((trx) => insertOrganizationWithOwner(trx, { name: 'Other', username: 'res-other', password: 'other-password-123' }));
    const other = await logInAs(t.app, 'res-other', 'other-password-123');
    expect((await request(t.app).get('/v1/resources').set(as(other))).body.data).toEqual([]);
    expectError(await request(t.app).get(`/v1/resources/${ours.id}`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).get(`/v1/resources/${ours.id}/versions`).set(as(other)), 404, 'not_found');
  });
});

describe('GET /v1/resources/{id}', () => {
  it('answers the resource with its attributes', async () => {
    const [summary] = (await request(t.app).get('/v1/resources?name=web-1').set(as(owner))).body.data;
    const response = await request(t.app).get(`/v1/resources/${summary.id}`).set(as(owner));
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ ...summary, attributes: expect.any(Object), unknown_attributes: [] });
  });
});

describe('migration 0015 (issue 15)', () => {
  it('keeps every resource and version, records no unknowns for them, and lets one native id serve several types', async () => {
    const db = openDatabase({ dataDir: null });
    try {
      await migrateTo(db, '0014_platform');
      await sql`insert into organizations (id, name, slug) values ('org_m', 'M', 'm')`.execute(db);
      await sql`insert into accounts (id, organization_id, provider, external_id, name) values ('acc_m', 'org_m', 'aws', '123456789012', 'm')`.execute(db);
      await sql`
        insert into resources (id, organization_id, account_id, provider, type, native_id, tags, attributes, relationships, content_hash, version,
                               first_seen_at, last_seen_at, status, version_recorded_at)
        values ('res_m', 'org_m', 'acc_m', 'aws', 'aws_s3_bucket', 'acme-m', '{}', '{"bucket":"acme-m"}', '[]', 'h2', 2, now(), now(), 'active', now())`.execute(db);
      await sql`
        insert into resource_versions (resource_id, version, content_hash, tags, attributes, relationships, recorded_at)
        values ('res_m', 1, 'h1', '{}', '{}', '[]', now())`.execute(db);

      await migrateToLatest(db);
      const resources = await sql<{ id: string; attributes: unknown; unknown_attributes: unknown }>`select id, attributes, unknown_attributes from resources`.execute(db);
      expect(resources.rows).toEqual([{ id: 'res_m', attributes: { bucket: 'acme-m' }, unknown_attributes: [] }]);
      const versions = await sql<{ version: number; unknown_attributes: unknown }>`select version, unknown_attributes from resource_versions`.execute(db);
      expect(versions.rows).toEqual([{ version: 1, unknown_attributes: [] }]);

      const insert = (id: string, type: string) => sql`
        insert into resources (id, organization_id, account_id, provider, type, native_id, tags, attributes, relationships, content_hash, version,
                               first_seen_at, status, version_recorded_at)
        values (${id}, 'org_m', 'acc_m', 'aws', ${type}, 'acme-m', '{}', '{}', '[]', 'h', 1, now(), 'active', now())`.execute(db);
      await insert('res_p', 'aws_s3_bucket_policy');
      await expect(insert('res_q', 'aws_s3_bucket_policy')).rejects.toThrow(/resources_type_native_id_key/);
    } finally {
      await db.destroy();
    }
  });
});
