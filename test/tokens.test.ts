import request from 'supertest';
import { as, startTestApp, useTestApp } from './support/app';
import { expectError, expectStandardHeaders } from './support/expectations';

const t = useTestApp();
let owner: string;
beforeAll(async () => {
  owner = await t.ownerToken();
});

const DAY = 86_400_000;

describe('personal access tokens', () => {
  it('lives a whole life: create, use, last_used_at, revoke, refused', async () => {
    const created = await request(t.app)
      .post('/v1/tokens')
      .set(as(owner))
      .send({ name: 'ci-nightly', scopes: ['audits:read', 'findings:read'], expires_in_days: 30 });
    expect(created.status).toBe(201);
    expectStandardHeaders(created);
    const { token: secret, ...token } = created.body;
    expect(secret).toMatch(/^ffp_[0-9A-Za-z]{49}$/);
    expect(created.headers.location).toBe(`/v1/tokens/${token.id}`);
    expect(token).toEqual({
      id: expect.stringMatching(/^pat_/),
      name: 'ci-nightly',
      prefix: secret.slice(0, 12),
      scopes: ['audits:read', 'findings:read'],
      created_at: expect.any(String),
      last_used_at: null,
      expires_at: expect.any(String),
    });
    expect(Math.abs(new Date(token.expires_at).getTime() - (Date.now() + 30 * DAY))).toBeLessThan(60_000);

    const me = await request(t.app).get('/v1/me').set(as(secret));
    expect(me.status).toBe(200);
    expect(me.body.scopes).toEqual(['audits:read', 'findings:read']);

    const listed = await request(t.app).get('/v1/tokens').set(as(owner));
    const entry = listed.body.data.find((item: { id: string }) => item.id === token.id);
    expect(entry.last_used_at).toEqual(expect.any(String));
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    expect(JSON.stringify((await request(t.app).get(`/v1/tokens/${token.id}`).set(as(owner))).body)).not.toContain(secret);

    const revoked = await request(t.app).delete(`/v1/tokens/${token.id}`).set(as(owner));
    expect(revoked.status).toBe(204);
    const refused = await request(t.app).get('/v1/me').set(as(secret));
    expectError(refused, 401, 'invalid_token');
    expect(refused.body.error.message).toContain('revoked');
    expectError(await request(t.app).delete(`/v1/tokens/${token.id}`).set(as(owner)), 404, 'not_found');
  });

  it('refuses an expired token with 401 token_expired', async () => {
    const { id, secret } = await t.createPat(owner, ['findings:read']);
    await request(t.app).get('/v1/me').set(as(secret)).expect(200);
    await t.db.updateTable('personal_access_tokens').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', id).execute();
    expectError(await request(t.app).get('/v1/me').set(as(secret)), 401, 'token_expired');
  });

  it('refuses a look-alike with a wrong checksum without touching the store', async () => {
    const { secret } = await t.createPat(owner, ['findings:read']);
    const forged = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    expectError(await request(t.app).get('/v1/me').set(as(forged)), 401, 'invalid_token');
  });

  it('expires in 90 days by default, and never only where the server allows it', async () => {
    const byDefault = await request(t.app).post('/v1/tokens').set(as(owner)).send({ name: 'default', scopes: ['findings:read'] });
    expect(Math.abs(new Date(byDefault.body.expires_at).getTime() - (Date.now() + 90 * DAY))).toBeLessThan(60_000);

    const never = await request(t.app).post('/v1/tokens').set(as(owner)).send({ name: 'never', scopes: ['findings:read'], expires_at: null });
    expectError(never, 422, 'validation_failed');
    expect(never.body.error.details).toEqual([{ field: 'body.expires_at', issue: expect.stringContaining('not allowed') }]);

    const permissive = await startTestApp({ PAT_ALLOW_NO_EXPIRY: 'true' });
    try {
      const allowed = await request(permissive.app)
        .post('/v1/tokens')
        .set(as(await permissive.ownerToken()))
        .send({ name: 'never', scopes: ['findings:read'], expires_at: null });
      expect(allowed.status).toBe(201);
      expect(allowed.body.expires_at).toBeNull();
    } finally {
      await permissive.close();
    }
  });

  it('refuses contradictory or past expiries with 422', async () => {
    const both = await request(t.app)
      .post('/v1/tokens')
      .set(as(owner))
      .send({ name: 'x', scopes: ['findings:read'], expires_in_days: 3, expires_at: new Date(Date.now() + DAY).toISOString() });
    expectError(both, 422, 'validation_failed');
    const past = await request(t.app).post('/v1/tokens').set(as(owner)).send({ name: 'x', scopes: ['findings:read'], expires_at: '2020-01-01T00:00:00Z' });
    expectError(past, 422, 'validation_failed');
    const unknownScope = await request(t.app).post('/v1/tokens').set(as(owner)).send({ name: 'x', scopes: ['everything'] });
    expectError(unknownScope, 422, 'validation_failed');
    expect(unknownScope.body.error.details[0].field).toBe('body.scopes.0');
  });

  it('cannot be used to mint, list or revoke tokens: that takes a login session', async () => {
    const { id, secret } = await t.createPat(owner, ['findings:read', 'org:admin']);
    const minted = await request(t.app).post('/v1/tokens').set(as(secret)).send({ name: 'escape', scopes: ['findings:read'] });
    expectError(minted, 403, 'forbidden');
    expect(minted.body.error.message).toContain('login session');
    expectError(await request(t.app).get('/v1/tokens').set(as(secret)), 403, 'forbidden');
    expectError(await request(t.app).delete(`/v1/tokens/${id}`).set(as(secret)), 403, 'forbidden');
  });

  it("is capped by its owner's role: a viewer cannot write, and a demotion narrows old tokens", async () => {
    const viewer = await t.addMember('viewer');
    expectError(await request(t.app).post('/v1/tokens').set(as(viewer.token)).send({ name: 'w', scopes: ['audits:write'] }), 422, 'scope_not_held');

    const admin = await t.addMember('admin');
    const { secret } = await t.createPat(admin.token, ['org:admin', 'findings:read']);
    await request(t.app).get('/v1/members').set(as(secret)).expect(200);
    await request(t.app).patch(`/v1/members/${admin.userId}`).set(as(owner)).send({ role: 'member' }).expect(200);
    expectError(await request(t.app).get('/v1/members').set(as(secret)), 403, 'insufficient_scope');
    expect((await request(t.app).get('/v1/me').set(as(secret))).body.scopes).toEqual(['findings:read']);
  });

  it("shows each user only their own tokens; another's answers 404", async () => {
    const member = await t.addMember('member');
    const mine = await t.createPat(member.token, ['findings:read']);
    expectError(await request(t.app).get(`/v1/tokens/${mine.id}`).set(as(owner)), 404, 'not_found');
    expectError(await request(t.app).delete(`/v1/tokens/${mine.id}`).set(as(owner)), 404, 'not_found');
    const list = await request(t.app).get('/v1/tokens').set(as(member.token));
    expect(list.body.data.map((item: { id: string }) => item.id)).toEqual([mine.id]);
  });

  it('lists newest first, in pages', async () => {
    const member = await t.addMember('member');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.unshift((await t.createPat(member.token, ['findings:read'])).id);
    const first = await request(t.app).get('/v1/tokens?limit=2').set(as(member.token));
    expect(first.body).toMatchObject({ has_more: true, next_cursor: expect.any(String) });
    const second = await request(t.app).get(`/v1/tokens?limit=2&cursor=${first.body.next_cursor}`).set(as(member.token));
    expect(second.body).toMatchObject({ has_more: false, next_cursor: null });
    expect([...first.body.data, ...second.body.data].map((item: { id: string }) => item.id)).toEqual(ids);
  });
});
