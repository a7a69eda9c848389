import request from 'supertest';
import { as, useTestApp } from './support/app';
import { expectError, expectStandardHeaders } from './support/expectations';

const t = useTestApp();
let owner: string;
beforeAll(async () => {
  owner = await t.ownerToken();
});

const account = (externalId: string) => ({ provider: 'aws', external_id: externalId, name: `acct-${externalId}` });
const withKey = (key: string) => ({ ...as(owner), 'Idempotency-Key': key });

describe('Idempotency-Key', () => {
  it('replays the first answer to a retry with the same key, creating one object', async () => {
    const first = await request(t.app).post('/v1/accounts').set(withKey('create-1')).send(account('500000000001'));
    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const retry = await request(t.app).post('/v1/accounts').set(withKey('create-1')).send(account('500000000001'));
    expect(retry.status).toBe(201);
    expectStandardHeaders(retry);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.headers.location).toBe(first.headers.location);
    expect(retry.body).toEqual(first.body);
    const listed = (await request(t.app).get('/v1/accounts').set(as(owner)).expect(200)).body.data;
    expect(listed.filter((a: { external_id: string }) => a.external_id === '500000000001')).toHaveLength(1);
  });

  it('replays an error answer too, and queues one audit for a retried start', async () => {
    await request(t.app).post('/v1/accounts').set(as(owner)).send(account('500000000002')).expect(201);
    const conflict = await request(t.app).post('/v1/accounts').set(withKey('dup-1')).send(account('500000000002'));
    expectError(conflict, 409, 'account_exists');
    const replayed = await request(t.app).post('/v1/accounts').set(withKey('dup-1')).send(account('500000000002'));
    expect(replayed.status).toBe(409);
    expect(replayed.body).toEqual(conflict.body);

    const audit = await request(t.app).post('/v1/audits').set(withKey('audit-1')).send({ mode: 'full' }).expect(202);
    const again = await request(t.app).post('/v1/audits').set(withKey('audit-1')).send({ mode: 'full' }).expect(202);
    expect(again.body.id).toBe(audit.body.id);
    expect((await request(t.app).get('/v1/audits').set(as(owner)).expect(200)).body.data).toHaveLength(1);
  });

  it('refuses the same key with a different request (422) and while the first is unanswered (409)', async () => {
    await request(t.app).post('/v1/accounts').set(withKey('reuse-1')).send(account('500000000003')).expect(201);
    const reused = await request(t.app).post('/v1/accounts').set(withKey('reuse-1')).send(account('500000000004'));
    expectError(reused, 422, 'idempotency_key_reused');
    expect(reused.body.error.details).toEqual([{ field: 'header.Idempotency-Key', issue: 'used with a different request' }]);

    const me = (await request(t.app).get('/v1/me').set(as(owner))).body;
    await t.db
      .insertInto('idempotency_keys')
      .values({ organization_id: me.organization.id, user_id: me.user.id, key: 'busy-1', operation_id: 'createAccount', request_hash: 'x', response_status: null, response_location: null, response_body: null, created_at: new Date() })
      .execute();
    expectError(await request(t.app).post('/v1/accounts').set(withKey('busy-1')).send(account('500000000005')), 409, 'idempotency_key_in_progress');
  });

  it('forgets a key after 24 hours, and keys are per user', async () => {
    await request(t.app).post('/v1/accounts').set(withKey('old-1')).send(account('500000000006')).expect(201);
    await t.db.updateTable('idempotency_keys').set({ created_at: new Date(Date.now() - 25 * 3_600_000) }).where('key', '=', 'old-1').execute();
    // A day later the key is free: the same request does the work again (and meets the account it made).
    expectError(await request(t.app).post('/v1/accounts').set(withKey('old-1')).send(account('500000000006')), 409, 'account_exists');

    const admin = await t.addMember('admin');
    const theirs = await request(t.app).post('/v1/accounts').set({ ...as(admin.token), 'Idempotency-Key': 'create-1' }).send(account('500000000007'));
    expect(theirs.status).toBe(201);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
  });

  it('does nothing for requests without a key', async () => {
    await request(t.app).post('/v1/audits').set(as(owner)).send({}).expect(202);
    await request(t.app).post('/v1/audits').set(as(owner)).send({}).expect(202);
    expect((await request(t.app).get('/v1/audits').set(as(owner)).expect(200)).body.data).toHaveLength(3);
  });
});
