import request from 'supertest';
import { insertOrganizationWithOwner } from '../src/organizations/organizations.service';
import { as, logInAs, useTestApp } from './support/app';
import { expectError, expectStandardHeaders } from './support/expectations';
import { seedResources } from './support/inventory';

const t = useTestApp();
let owner: string;
beforeAll(async () => {
  owner = await t.ownerToken();
});

const create = (body: object, token = owner) => request(t.app).post('/v1/accounts').set(as(token)).send(body);

describe('cloud accounts', () => {
  it('creates, reads, relabels and lists an account', async () => {
    const created = await create({ provider: 'aws', external_id: '123456789012', name: 'production', labels: { team: 'platform' } });
    expect(created.status).toBe(201);
    expectStandardHeaders(created);
    expect(created.headers.location).toBe(`/v1/accounts/${created.body.id}`);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^acc_/),
      provider: 'aws',
      external_id: '123456789012',
      name: 'production',
      labels: { team: 'platform' },
      created_at: expect.any(String),
      updated_at: expect.any(String),
      last_import_at: null,
    });
    const updated = await request(t.app).patch(`/v1/accounts/${created.body.id}`).set(as(owner)).send({ labels: { env: 'prod' } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ name: 'production', labels: { env: 'prod' } });
    expect((await request(t.app).get(`/v1/accounts/${created.body.id}`).set(as(owner))).body.labels).toEqual({ env: 'prod' });
    const list = await request(t.app).get('/v1/accounts?provider=aws').set(as(owner));
    expect(list.body.data.map((a: { id: string }) => a.id)).toContain(created.body.id);
  });

  it.each([
    ['aws', '12345', 'an AWS account id is 12 digits'],
    ['azure', '123456789012', 'UUID'],
    ['gcp', 'Bad_Project', 'GCP project id'],
    ['gcp', 'ends-with-hyphen-', 'GCP project id'],
  ])('refuses a %s external_id "%s" with 422 saying what it must be', async (provider, externalId, says) => {
    const response = await create({ provider, external_id: externalId, name: 'x' });
    expectError(response, 422, 'validation_failed');
    expect(response.body.error.details).toEqual([{ field: 'body.external_id', issue: expect.stringContaining(says) }]);
  });

  it('accepts valid Azure and GCP ids', async () => {
    await create({ provider: 'azure', external_id: '0b1f6471-1bf0-4dda-aec3-111122223333', name: 'subscription' }).expect(201);
    await create({ provider: 'gcp', external_id: 'acme-prod-1', name: 'project' }).expect(201);
  });

  it('refuses a second account with the same provider and external id with 409 account_exists', async () => {
    await create({ provider: 'aws', external_id: '210987654321', name: 'a' }).expect(201);
    expectError(await create({ provider: 'aws', external_id: '210987654321', name: 'b' }), 409, 'account_exists');
  });

  it('refuses an unknown provider with a message naming the allowed ones', async () => {
    const response = await create({ provider: 'oracle', external_id: '123456789012', name: 'x' });
    expectError(response, 422, 'validation_failed');
    expect(response.body.error.details[0]).toMatchObject({ field: 'body.provider', issue: expect.stringContaining('aws, azure, gcp') });
  });

  it('refuses to delete an account with resources unless forced, then deletes them with it', async () => {
    const account = (await create({ provider: 'aws', external_id: '111122223333', name: 'doomed' })).body;
    const me = (await request(t.app).get('/v1/me').set(as(owner))).body;
    const [resourceId] = await seedResources(t.db, me.organization.id, account.id, [{ type: 'aws_s3_bucket' }]);
    expectError(await request(t.app).delete(`/v1/accounts/${account.id}`).set(as(owner)), 409, 'account_in_use');
    await request(t.app).get(`/v1/resources/${resourceId}`).set(as(owner)).expect(200);
    await request(t.app).delete(`/v1/accounts/${account.id}?force=true`).set(as(owner)).expect(204);
    expectError(await request(t.app).get(`/v1/accounts/${account.id}`).set(as(owner)), 404, 'not_found');
    expectError(await request(t.app).get(`/v1/resources/${resourceId}`).set(as(owner)), 404, 'not_found');
  });

  it('needs resources:write to change and resources:read to read', async () => {
    const viewer = await t.addMember('viewer');
    await request(t.app).get('/v1/accounts').set(as(viewer.token)).expect(200);
    expectError(await create({ provider: 'aws', external_id: '999988887777', name: 'x' }, viewer.token), 403, 'insufficient_scope');
  });

  it("answers every account operation on another organization's account with 404", async () => {
    const account = (await create({ provider: 'aws', external_id: '444455556666', name: 'ours' })).body;
    await t.db.transaction().execute((trx) =>
      insertOrganizationWithOwner(trx, { name: 'Other', username: 'acc-other', password: 'other-password-123' }),
    );
    const other = await logInAs(t.app, 'acc-other', 'other-password-123');
    for (const call of [
      request(t.app).get(`/v1/accounts/${account.id}`),
      request(t.app).patch(`/v1/accounts/${account.id}`).send({ name: 'theirs' }),
      request(t.app).delete(`/v1/accounts/${account.id}?force=true`),
    ]) {
      expectError(await call.set(as(other)), 404, 'not_found');
    }
    expect((await request(t.app).get('/v1/accounts').set(as(other))).body.data).toEqual([]);
  });
});
