import { sql } from 'kysely';
import request from 'supertest';
import { insertOrganizationWithOwner } from '../src/organizations/organizations.service';
import { as, logInAs, OWNER, useTestApp } from './support/app';
import { expectError, expectStandardHeaders } from './support/expectations';

const t = useTestApp();
let owner: string;
beforeAll(async () => {
  owner = await t.ownerToken();
});


describe('organization', () => {
  it('is readable by any member and renamed only with org:admin', async () => {
    const viewer = await t.addMember('viewer');
    const read = await request(t.app).get('/v1/organization').set(as(viewer.token));
    expect(read.status).toBe(200);
    expect(read.body).toEqual({
      id: expect.stringMatching(/^org_/),
      name: 'Default organization',
      risk_acceptance_max_days: 365,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });

    expectError(await request(t.app).patch('/v1/organization').set(as(viewer.token)).send({ name: 'Nope' }), 403, 'insufficient_scope');
    const renamed = await request(t.app).patch('/v1/organization').set(as(owner)).send({ name: '  Acme Platform  ' });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('Acme Platform');
    expect((await request(t.app).get('/v1/organization').set(as(owner))).body.name).toBe('Acme Platform');
  });
});

describe('members', () => {
  it('adds a member with a password, who can then log in with their role', async () => {
    const response = await request(t.app)
      .post('/v1/members')
      .set(as(owner))
      .send({ username: 'Erin@Example.com', role: 'member', password: 'erins-password-123' });
    expect(response.status).toBe(201);
    expectStandardHeaders(response);
    expect(response.headers.location).toBe(`/v1/members/${response.body.user_id}`);
    expect(response.body).toEqual({
      user_id: expect.stringMatching(/^usr_/),
      username: 'Erin@Example.com',
      role: 'member',
      status: 'active',
      created_at: expect.any(String),
      invitation: null,
    });
    const token = await logInAs(t.app, 'erin@example.com', 'erins-password-123');
    const me = await request(t.app).get('/v1/me').set(as(token));
    expect(me.body).toMatchObject({ role: 'member', user: { id: response.body.user_id } });
    expect(me.body.scopes).not.toContain('org:admin');
  });

  it('invites a member without a password; the invitation logs them in once', async () => {
    const response = await request(t.app).post('/v1/members').set(as(owner)).send({ username: 'frank', role: 'viewer' });
    expect(response.status).toBe(201);
    expect(response.body.status).toBe('invited');
    const { token: invitation, expires_at } = response.body.invitation;
    expect(invitation).toMatch(/^ffi_[0-9A-Za-z]{49}$/);
    expect(new Date(expires_at).getTime() - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    // No password yet: logging in fails like any wrong password.
    expectError(await request(t.app).post('/auth/login').send({ username: 'frank', password: 'anything-at-all' }), 401, 'invalid_credentials');

    const accepted = await request(t.app).post('/auth/invitations/accept').send({ invitation_token: invitation, password: 'franks-own-password' });
    expect(accepted.status).toBe(200);
    expect((accepted.headers['set-cookie'] as unknown as string[])[0]).toMatch(/^fourfold_session=/);
    const me = await request(t.app).get('/v1/me').set(as(accepted.body.access_token));
    expect(me.body).toMatchObject({ role: 'viewer', user: { username: 'frank' } });
    expect((await request(t.app).get(`/v1/members/${response.body.user_id}`).set(as(owner))).body.status).toBe('active');

    const again = await request(t.app).post('/auth/invitations/accept').send({ invitation_token: invitation, password: 'another-password-1' });
    expectError(again, 401, 'invalid_token');
    await logInAs(t.app, 'frank', 'franks-own-password');
  });

  it('refuses a taken username, whatever its case, with 409 username_taken', async () => {
    const response = await request(t.app).post('/v1/members').set(as(owner)).send({ username: OWNER.username.toUpperCase(), role: 'viewer' });
    expectError(response, 409, 'username_taken');
    expect(response.body.error.details).toEqual([{ field: 'body.username', issue: 'already taken' }]);
  });

  it('lists members in pages with a cursor bound to the role filter', async () => {
    await t.addMember('viewer');
    await t.addMember('viewer');
    const first = await request(t.app).get('/v1/members?role=viewer&limit=1').set(as(owner));
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ data: [{ role: 'viewer' }], has_more: true, next_cursor: expect.any(String) });
    const seen = [first.body.data[0].user_id];
    let cursor = first.body.next_cursor;
    while (cursor) {
      const page = await request(t.app).get(`/v1/members?role=viewer&limit=1&cursor=${cursor}`).set(as(owner));
      expect(page.status).toBe(200);
      seen.push(...page.body.data.map((m: { user_id: string }) => m.user_id));
      cursor = page.body.next_cursor;
    }
    const all = await request(t.app).get('/v1/members?role=viewer&limit=200').set(as(owner));
    expect(seen).toEqual(all.body.data.map((m: { user_id: string }) => m.user_id));
    expect(new Set(seen).size).toBe(seen.length);

    const reused = await request(t.app).get(`/v1/members?role=admin&cursor=${first.body.next_cursor}`).set(as(owner));
    expectError(reused, 400, 'invalid_cursor');
    expectError(await request(t.app).get('/v1/members?cursor=garbage').set(as(owner)), 400, 'invalid_cursor');
    const badRole = await request(t.app).get('/v1/members?role=king').set(as(owner));
    expectError(badRole, 422, 'validation_failed');
    expect(badRole.body.error.details[0]).toMatchObject({ field: 'query.role', issue: expect.stringContaining('owner, admin, member, viewer') });
  });

  it('does not let a member manage members', async () => {
    const member = await t.addMember('member');
    expectError(await request(t.app).get('/v1/members').set(as(member.token)), 403, 'insufficient_scope');
    expectError(await request(t.app).post('/v1/members').set(as(member.token)).send({ username: 'x', role: 'viewer' }), 403, 'insufficient_scope');
  });

  it('lets only owners make owners', async () => {
    const admin = await t.addMember('admin');
    const response = await request(t.app).post('/v1/members').set(as(admin.token)).send({ username: 'would-be-owner', role: 'owner' });
    expectError(response, 403, 'forbidden');
    const target = await t.addMember('viewer');
    expectError(await request(t.app).patch(`/v1/members/${target.userId}`).set(as(admin.token)).send({ role: 'owner' }), 403, 'forbidden');
    const ownerRow = (await request(t.app).get('/v1/members?role=owner').set(as(owner))).body.data[0];
    expectError(await request(t.app).patch(`/v1/members/${ownerRow.user_id}`).set(as(admin.token)).send({ role: 'viewer' }), 403, 'forbidden');
    expectError(await request(t.app).delete(`/v1/members/${ownerRow.user_id}`).set(as(admin.token)), 403, 'forbidden');
  });

  it('keeps the last owner: no demotion, no removal; a second owner unlocks both', async () => {
    const ownerId = (await request(t.app).get('/v1/me').set(as(owner))).body.user.id;
    expectError(await request(t.app).patch(`/v1/members/${ownerId}`).set(as(owner)).send({ role: 'admin' }), 409, 'last_owner');
    expectError(await request(t.app).delete(`/v1/members/${ownerId}`).set(as(owner)), 409, 'last_owner');

    const second = await t.addMember('owner');
    const demoted = await request(t.app).patch(`/v1/members/${second.userId}`).set(as(owner)).send({ role: 'admin' });
    expect(demoted.status).toBe(200);
    expect(demoted.body.role).toBe('admin');
    await request(t.app).patch(`/v1/members/${second.userId}`).set(as(owner)).send({ role: 'owner' }).expect(200);
    // With two owners, either may demote the other; the first owner is then restored.
    await request(t.app).patch(`/v1/members/${ownerId}`).set(as(second.token)).send({ role: 'admin' }).expect(200);
    expectError(await request(t.app).delete(`/v1/members/${second.userId}`).set(as(second.token)), 409, 'last_owner');
    await request(t.app).patch(`/v1/members/${ownerId}`).set(as(second.token)).send({ role: 'owner' }).expect(200);
  });

  it('applies a role change from the next request on', async () => {
    const admin = await t.addMember('admin');
    await request(t.app).get('/v1/members').set(as(admin.token)).expect(200);
    await request(t.app).patch(`/v1/members/${admin.userId}`).set(as(owner)).send({ role: 'viewer' }).expect(200);
    expectError(await request(t.app).get('/v1/members').set(as(admin.token)), 403, 'insufficient_scope');
    expect((await request(t.app).get('/v1/me').set(as(admin.token))).body.role).toBe('viewer');
  });

  it('removes a member, whose credentials stop working at once', async () => {
    const member = await t.addMember('member');
    const pat = await t.createPat(member.token, ['findings:read']);
    const removed = await request(t.app).delete(`/v1/members/${member.userId}`).set(as(owner));
    expect(removed.status).toBe(204);
    expectStandardHeaders(removed);
    expectError(await request(t.app).get('/v1/me').set(as(member.token)), 401, 'invalid_token');
    expectError(await request(t.app).get('/v1/me').set(as(pat.secret)), 401, 'invalid_token');
    expectError(await request(t.app).get(`/v1/members/${member.userId}`).set(as(owner)), 404, 'not_found');
    // The user was in no other organization, so the username is free again.
    await request(t.app).post('/v1/members').set(as(owner)).send({ username: member.username, role: 'viewer' }).expect(201);
  });

  it("answers another organization's member with 404, exactly like a missing one", async () => {
    const other = await t.db.transaction().execute((trx) =>
      insertOrganizationWithOwner(trx, { name: 'Other Co', username: 'other-owner', password: 'other-password-123' }),
    );
    for (const call of [
      request(t.app).get(`/v1/members/${other.userId}`),
      request(t.app).patch(`/v1/members/${other.userId}`).send({ role: 'viewer' }),
      request(t.app).delete(`/v1/members/${other.userId}`),
    ]) {
      expectError(await call.set(as(owner)), 404, 'not_found');
    }
    const list = await request(t.app).get('/v1/members?limit=200').set(as(owner));
    expect(list.body.data.map((m: { user_id: string }) => m.user_id)).not.toContain(other.userId);
    const [{ count }] = (await sql<{ count: string }>`select count(*) from memberships where user_id = ${other.userId}`.execute(t.db)).rows as [{ count: string }];
    expect(Number(count)).toBe(1);
  });
});
