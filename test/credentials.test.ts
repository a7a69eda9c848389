import { jest } from '@jest/globals';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { insertOrganizationWithOwner } from '../src/organizations/organizations.service';
import { as, logInAs, OWNER, startTestApp, useTestApp } from './support/app';
import { expectError, expectStandardHeaders } from './support/expectations';
import { consent, pkce, registerClient, tokenRequest } from './support/oauth';

// Login sessions, signing out everywhere, and credentials that die with the password (issue 16).

// The owner is a platform operator and sign-up is on, so every operation that answers a secret can be called.
const t = useTestApp({ SIGNUP_ENABLED: 'true', PLATFORM_ADMINS: OWNER.username });
const MEMBER_PASSWORD = 'member-password-0123456789';
const REDIRECT = 'https://app.example.com/callback';
let owner: string;
beforeAll(async () => {
  owner = await t.ownerToken();
});

/** A fresh admin of the organization, logged in `sessions` times (the first login is `addMember`'s). */
async function memberWithSessions(sessions: number) {
  const member = await t.addMember('admin');
  const tokens = [member.token];
  while (tokens.length < sessions) tokens.push(await logInAs(t.app, member.username, MEMBER_PASSWORD));
  return { ...member, tokens };
}

/** Approves an OAuth app as the holder of `sessionToken` and answers the app's access and refresh tokens. */
async function oauthGrant(sessionToken: string) {
  const client = await registerClient(t.app, owner);
  const { verifier, challenge } = pkce();
  const location = await consent(t.app, sessionToken, {
    response_type: 'code',
    client_id: client.id,
    redirect_uri: REDIRECT,
    scope: 'findings:read',
    state: 'state-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  const response = await tokenRequest(t.app, {
    grant_type: 'authorization_code',
    code: location.searchParams.get('code')!,
    redirect_uri: REDIRECT,
    client_id: client.id,
    client_secret: client.client_secret!,
    code_verifier: verifier,
  }).expect(200);
  return { client, access: response.body.access_token as string, refresh: response.body.refresh_token as string };
}

async function status(token: string): Promise<number> {
  return (await request(t.app).get('/v1/me').set(as(token))).status;
}

function expectNoStore(response: request.Response): void {
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.headers.pragma).toBe('no-cache');
}

describe('GET /v1/me/sessions', () => {
  it('lists the caller’s live sessions newest first, with the one making the request marked current', async () => {
    const member = await memberWithSessions(1);
    await request(t.app).post('/auth/login').set('User-Agent', 'laptop-browser/1.0').send({ username: member.username, password: MEMBER_PASSWORD }).expect(200);
    const third = await logInAs(t.app, member.username, MEMBER_PASSWORD);

    const response = await request(t.app).get('/v1/me/sessions').set(as(member.token));
    expect(response.status).toBe(200);
    expectStandardHeaders(response);
    expect(response.body.has_more).toBe(false);
    const sessions = response.body.data as { id: string; current: boolean; user_agent: string | null; ip_address: string | null; created_at: string; expires_at: string }[];
    expect(sessions).toHaveLength(3);
    expect(sessions.map((s) => s.id)).toEqual([...sessions.map((s) => s.id)].sort().reverse());
    expect(sessions.filter((s) => s.current)).toHaveLength(1);
    expect(sessions[2]!.current).toBe(true);
    expect(sessions[1]!.user_agent).toBe('laptop-browser/1.0');
    expect(sessions[1]!.ip_address).toMatch(/^[0-9a-f.:]+$/);
    // It expires when its token does, 8 hours after the login.
    expect(Date.parse(sessions[0]!.expires_at)).toBe((jwt.decode(third) as jwt.JwtPayload).exp! * 1000);
    expect(Math.abs(Date.parse(sessions[0]!.expires_at) - Date.parse(sessions[0]!.created_at) - 8 * 3600 * 1000)).toBeLessThan(1000);

    // Each session's id is its token's jti, so the third login sees itself as current.
    const fromThird = await request(t.app).get('/v1/me/sessions?limit=1').set(as(third));
    expect(fromThird.body).toMatchObject({ data: [{ id: sessions[0]!.id, current: true }], has_more: true });
    const next = await request(t.app).get(`/v1/me/sessions?limit=1&cursor=${fromThird.body.next_cursor}`).set(as(third));
    expect(next.body.data.map((s: { id: string }) => s.id)).toEqual([sessions[1]!.id]);
  });

  it('records when each session was last used, writing at most once a minute', async () => {
    const member = await memberWithSessions(1);
    const lastUsed = async () => Date.parse((await request(t.app).get('/v1/me/sessions').set(as(member.token))).body.data[0].last_used_at as string);
    const setLastUsed = (at: Date) => t.db.updateTable('sessions').set({ last_used_at: at }).where('user_id', '=', member.userId).execute();

    const recently = new Date(Math.floor(Date.now() / 1000) * 1000 - 30_000);
    await setLastUsed(recently);
    expect(await lastUsed()).toBe(recently.getTime());
    await setLastUsed(new Date(Date.now() - 3600_000));
    // The API keeps a verified credential for CREDENTIAL_CACHE_SECONDS (5 s): the use is recorded
    // at the next verification after that, here 6 s later.
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now + 6_000);
    try {
      expect(now - (await lastUsed())).toBeLessThan(30_000);
    } finally {
      clock.mockRestore();
    }
  });

  it('takes a login session only: a personal access token gets 403', async () => {
    const pat = await t.createPat(owner, ['findings:read']);
    expectError(await request(t.app).get('/v1/me/sessions').set(as(pat.secret)), 403, 'forbidden');
    expectError(await request(t.app).post('/auth/logout-all').set(as(pat.secret)), 403, 'forbidden');
    expectError(await request(t.app).post('/v1/me/password').set(as(pat.secret)).send({ current_password: OWNER.password, new_password: 'x'.repeat(20) }), 403, 'forbidden');
  });
});

describe('DELETE /v1/me/sessions/{id}', () => {
  it('ends that session only', async () => {
    const member = await memberWithSessions(2);
    const [mine, lost] = member.tokens as [string, string];
    const listed = await request(t.app).get('/v1/me/sessions').set(as(mine));
    const lostId = listed.body.data.find((s: { current: boolean }) => !s.current).id as string;

    const response = await request(t.app).delete(`/v1/me/sessions/${lostId}`).set(as(mine));
    expect(response.status).toBe(204);
    expectStandardHeaders(response);
    expectError(await request(t.app).get('/v1/me').set(as(lost)), 401, 'invalid_token');
    expect(await status(mine)).toBe(200);
    expectError(await request(t.app).delete(`/v1/me/sessions/${lostId}`).set(as(mine)), 404, 'not_found');
  });

  it("answers another user's session, in this organization or another, with 404 and leaves it working", async () => {
    const alice = await memberWithSessions(1);
    const bob = await memberWithSessions(1);
    await t.db.transaction().execute((trx) => insertOrganizationWithOwner(trx, { name: 'Elsewhere', username: 'elsewhere-owner', password: 'elsewhere-password-1' }));
    const stranger = await logInAs(t.app, 'elsewhere-owner', 'elsewhere-password-1');
    const idOf = async (token: string) => (await request(t.app).get('/v1/me/sessions').set(as(token))).body.data[0].id as string;
    const [aliceSession, bobSession, strangerSession] = [await idOf(alice.token), await idOf(bob.token), await idOf(stranger)];

    for (const [caller, victim] of [
      [alice.token, bobSession],
      [alice.token, strangerSession],
      [stranger, aliceSession],
    ] as const) {
      expectError(await request(t.app).delete(`/v1/me/sessions/${victim}`).set(as(caller)), 404, 'not_found');
      const listed = await request(t.app).get('/v1/me/sessions').set(as(caller));
      expect(listed.body.data.map((s: { id: string }) => s.id)).not.toContain(victim);
    }
    for (const token of [alice.token, bob.token, stranger]) expect(await status(token)).toBe(200);
  });
});

describe('POST /auth/logout-all', () => {
  it("ends every session of the caller, and only theirs; tokens stay unless asked", async () => {
    const member = await memberWithSessions(3);
    const bystander = await memberWithSessions(1);
    const pat = await t.createPat(member.tokens[0]!, ['findings:read']);

    const response = await request(t.app).post('/auth/logout-all').set(as(member.tokens[1]!));
    expect(response.status).toBe(200);
    expectStandardHeaders(response);
    expect(response.body).toEqual({ revoked: { sessions: 3, personal_access_tokens: 0, oauth_authorizations: 0 } });
    expect((response.headers['set-cookie'] as unknown as string[])[0]).toMatch(/^fourfold_session=;.*Expires=Thu, 01 Jan 1970/);
    for (const token of member.tokens) expectError(await request(t.app).get('/v1/me').set(as(token)), 401, 'invalid_token');
    expect(await status(bystander.token)).toBe(200);
    expect(await status(owner)).toBe(200);
    expect(await status(pat.secret)).toBe(200);

    // Logging in again works, and signing out everywhere with include_tokens takes the token too.
    const again = await logInAs(t.app, member.username, MEMBER_PASSWORD);
    const all = await request(t.app).post('/auth/logout-all').set(as(again)).send({ include_tokens: true });
    expect(all.body).toEqual({ revoked: { sessions: 1, personal_access_tokens: 1, oauth_authorizations: 0 } });
    expectError(await request(t.app).get('/v1/me').set(as(pat.secret)), 401, 'invalid_token');
  });

  it('refuses a cookie-authenticated request from another origin (CSRF)', async () => {
    const member = await memberWithSessions(1);
    const crossSite = await request(t.app).post('/auth/logout-all').set('Cookie', `fourfold_session=${member.token}`).set('Origin', 'https://evil.example');
    expectError(crossSite, 403, 'csrf_check_failed');
    expect(await status(member.token)).toBe(200);
  });
});

describe('POST /v1/me/password', () => {
  it('keeps the calling session and ends every other session, token and app grant of the user', async () => {
    const member = await memberWithSessions(3);
    const [caller, ...others] = member.tokens as [string, ...string[]];
    const pat = await t.createPat(caller, ['findings:read']);
    const app = await oauthGrant(caller);
    const bystander = await memberWithSessions(1);
    expect(await status(app.access)).toBe(200);

    const response = await request(t.app).post('/v1/me/password').set(as(caller)).send({ current_password: MEMBER_PASSWORD, new_password: 'a-brand-new-password-0123' });
    expect(response.status).toBe(200);
    expectStandardHeaders(response);
    expect(response.body).toEqual({ revoked: { sessions: 2, personal_access_tokens: 1, oauth_authorizations: 1 } });

    expect(await status(caller)).toBe(200);
    for (const token of [...others, pat.secret, app.access]) expectError(await request(t.app).get('/v1/me').set(as(token)), 401, 'invalid_token');
    const refreshed = await tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: app.refresh, client_id: app.client.id, client_secret: app.client.client_secret! });
    expect(refreshed.status).toBe(400);
    expect(refreshed.body.error).toBe('invalid_grant');
    expect(await status(bystander.token)).toBe(200);

    expectError(await request(t.app).post('/auth/login').send({ username: member.username, password: MEMBER_PASSWORD }), 401, 'invalid_credentials');
    await logInAs(t.app, member.username, 'a-brand-new-password-0123');
  });

  it('keeps tokens and app grants with keep_tokens, still ending the other sessions', async () => {
    const member = await memberWithSessions(2);
    const [caller, other] = member.tokens as [string, string];
    const pat = await t.createPat(caller, ['findings:read']);
    const app = await oauthGrant(caller);

    const response = await request(t.app)
      .post('/v1/me/password')
      .set(as(caller))
      .send({ current_password: MEMBER_PASSWORD, new_password: 'a-brand-new-password-0123', keep_tokens: true });
    expect(response.body).toEqual({ revoked: { sessions: 1, personal_access_tokens: 0, oauth_authorizations: 0 } });
    expectError(await request(t.app).get('/v1/me').set(as(other)), 401, 'invalid_token');
    for (const token of [caller, pat.secret, app.access]) expect(await status(token)).toBe(200);
  });

  it('refuses a wrong current password with 422 and changes nothing', async () => {
    const member = await memberWithSessions(2);
    const pat = await t.createPat(member.tokens[0]!, ['findings:read']);
    const response = await request(t.app).post('/v1/me/password').set(as(member.tokens[0]!)).send({ current_password: 'not-my-password', new_password: 'a-brand-new-password-0123' });
    expectError(response, 422, 'validation_failed');
    expect(response.body.error.details).toEqual([{ field: 'body.current_password', issue: 'is not your current password' }]);
    for (const token of [...member.tokens, pat.secret]) expect(await status(token)).toBe(200);
    await logInAs(t.app, member.username, MEMBER_PASSWORD);
  });

  it('applies the sign-up password rule to the new password', async () => {
    const member = await memberWithSessions(1);
    const response = await request(t.app).post('/v1/me/password').set(as(member.token)).send({ current_password: MEMBER_PASSWORD, new_password: 'short' });
    expectError(response, 422, 'validation_failed');
    expect(response.body.error.details[0].field).toBe('body.new_password');
    await logInAs(t.app, member.username, MEMBER_PASSWORD);
  });

  it("spends the caller's login budget: guessing the current password is limited like logging in", async () => {
    const limited = await startTestApp({ RATE_LIMIT_LOGIN_PER_USERNAME: '3' });
    try {
      const token = await logInAs(limited.app, OWNER.username, OWNER.password);
      const guess = () => request(limited.app).post('/v1/me/password').set(as(token)).send({ current_password: 'a-guess', new_password: 'a-brand-new-password-0123' });
      expectError(await guess(), 422, 'validation_failed');
      expectError(await guess(), 422, 'validation_failed');
      const refused = await guess();
      expectError(refused, 429, 'rate_limited');
      expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    } finally {
      await limited.close();
    }
  });
});

describe('Cache-Control: no-store on answers that carry a secret', () => {
  it('is sent by login (also when refused), sign-up, token, client, member and organization creation, invitation acceptance and the OAuth token endpoint', async () => {
    expectNoStore(await request(t.app).post('/auth/login').send(OWNER).expect(200));
    expectNoStore(await request(t.app).post('/auth/login').send({ ...OWNER, password: 'wrong-password' }).expect(401));
    expectNoStore(await request(t.app).post('/v1/tokens').set(as(owner)).send({ name: 'ci', scopes: ['findings:read'] }).expect(201));
    expectNoStore(
      await request(t.app)
        .post('/v1/oauth-clients')
        .set(as(owner))
        .send({ name: 'App', client_type: 'confidential', redirect_uris: [REDIRECT], scopes: ['findings:read'] })
        .expect(201),
    );
    const invited = await request(t.app).post('/v1/members').set(as(owner)).send({ username: 'invited-for-no-store', role: 'viewer' }).expect(201);
    expectNoStore(invited);
    expectNoStore(
      await request(t.app).post('/auth/invitations/accept').send({ invitation_token: invited.body.invitation.token, password: 'an-invited-password-0123' }).expect(200),
    );
    expectNoStore(
      await request(t.app)
        .post('/v1/platform/organizations')
        .set(as(owner))
        .send({ name: 'No Store Corp', slug: 'no-store', owner: { username: 'no-store-owner' } })
        .expect(201),
    );
    expectNoStore(
      await request(t.app)
        .post('/auth/signup')
        .send({ organization_name: 'Signed Up', slug: 'signed-up', username: 'signed-up-owner', password: 'a-signed-up-password-0123' })
        .expect(201),
    );
    const member = await memberWithSessions(1);
    const app = await oauthGrant(member.token);
    expectNoStore(await tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: app.refresh, client_id: app.client.id, client_secret: app.client.client_secret! }).expect(200));
  });

  it('is not sent by operations whose answers hold no secret', async () => {
    const response = await request(t.app).get('/v1/me').set(as(owner)).expect(200);
    expect(response.headers['cache-control']).toBeUndefined();
    expect(response.headers.pragma).toBeUndefined();
  });
});
