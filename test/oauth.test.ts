import { createHash } from 'node:crypto';
import request from 'supertest';
import { insertOrganizationWithOwner } from '../src/organizations/organizations.service';
import { logInAs, startTestApp, useTestApp } from './support/app';
import { expectError, expectStandardHeaders } from './support/expectations';
import {
  consent,
  getAuthorize,
  HOST,
  ORIGIN,
  pkce,
  registerClient,
  tokenRequest,
  type RegisteredClient,
} from './support/oauth';

const t = useTestApp();
let owner: string;
beforeAll(async () => {
  owner = await t.ownerToken();
});

const REDIRECT = 'https://app.example.com/callback';

/** Runs the flow up to the code: consent as the owner, with PKCE unless `challenge` is null. */
async function authorize(client: RegisteredClient, options: { scope?: string; challenge?: string | null; state?: string } = {}) {
  const { verifier, challenge } = pkce();
  const usePkce = options.challenge !== null;
  const location = await consent(t.app, owner, {
    response_type: 'code',
    client_id: client.id,
    redirect_uri: REDIRECT,
    scope: options.scope ?? 'findings:read audits:read',
    state: options.state ?? 'state-123',
    code_challenge: usePkce ? (options.challenge ?? challenge) : undefined,
    code_challenge_method: usePkce ? 'S256' : undefined,
  });
  return { location, code: location.searchParams.get('code'), verifier };
}

function exchange(client: RegisteredClient, code: string, verifier?: string, extra: Record<string, string> = {}) {
  return tokenRequest(t.app, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    client_id: client.id,
    client_secret: client.client_secret ?? undefined,
    code_verifier: verifier,
    ...extra,
  });
}

function refresh(client: RegisteredClient, refreshToken: string, extra: Record<string, string> = {}) {
  return tokenRequest(t.app, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: client.id,
    client_secret: client.client_secret ?? undefined,
    ...extra,
  });
}

const me = (accessToken: string) => request(t.app).get('/v1/me').set('Authorization', `Bearer ${accessToken}`);

describe('GET /.well-known/oauth-authorization-server', () => {
  it('describes the server as RFC 8414 says, with URLs of the address it was asked at', async () => {
    const response = await request(t.app).get('/.well-known/oauth-authorization-server').set('Host', HOST);
    expect(response.status).toBe(200);
    expectStandardHeaders(response);
    expect(response.body).toMatchObject({
      issuer: ORIGIN,
      authorization_endpoint: `${ORIGIN}/oauth/authorize`,
      token_endpoint: `${ORIGIN}/oauth/token`,
      revocation_endpoint: `${ORIGIN}/oauth/revoke`,
      introspection_endpoint: `${ORIGIN}/oauth/introspect`,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      code_challenge_methods_supported: ['S256'],
    });
  });
});

describe('/v1/oauth-clients', () => {
  it('registers a confidential client, shows its secret once and stores only its SHA-256', async () => {
    const response = await request(t.app)
      .post('/v1/oauth-clients')
      .set('Authorization', `Bearer ${owner}`)
      .send({ name: 'Acme', client_type: 'confidential', redirect_uris: [REDIRECT], scopes: ['findings:read'] });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ id: expect.stringMatching(/^cli_/), client_type: 'confidential', client_secret: expect.stringMatching(/^ffs_/) });
    expect(response.headers.location).toBe(`/v1/oauth-clients/${response.body.id}`);
    const row = await t.db.selectFrom('oauth_clients').selectAll().where('id', '=', response.body.id).executeTakeFirstOrThrow();
    expect(row.secret_hash).toBe(createHash('sha256').update(response.body.client_secret).digest('hex'));
    const again = await request(t.app).get(`/v1/oauth-clients/${response.body.id}`).set('Authorization', `Bearer ${owner}`);
    expect(again.status).toBe(200);
    expect(again.body).not.toHaveProperty('client_secret');
  });

  it('registers a public client without a secret', async () => {
    const client = await registerClient(t.app, owner, { client_type: 'public', redirect_uris: ['http://127.0.0.1:9999/cb'] });
    expect(client.client_secret).toBeNull();
  });

  it('refuses redirect URIs that are not https (or loopback http) or that have a fragment', async () => {
    const response = await request(t.app)
      .post('/v1/oauth-clients')
      .set('Authorization', `Bearer ${owner}`)
      .send({ name: 'Bad', client_type: 'public', redirect_uris: ['http://app.example.com/cb', 'https://app.example.com/cb#x'], scopes: ['findings:read'] });
    expectError(response, 422, 'invalid_redirect_uri');
    expect(response.body.error.details.map((d: { field: string }) => d.field)).toEqual(['body.redirect_uris.0', 'body.redirect_uris.1']);
  });

  it('lists with keyset cursors', async () => {
    await registerClient(t.app, owner, { name: 'Paged one' });
    await registerClient(t.app, owner, { name: 'Paged two' });
    const first = await request(t.app).get('/v1/oauth-clients?limit=1').set('Authorization', `Bearer ${owner}`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ data: [{ name: 'Paged two' }], has_more: true, next_cursor: expect.any(String) });
    const second = await request(t.app).get(`/v1/oauth-clients?limit=1&cursor=${first.body.next_cursor}`).set('Authorization', `Bearer ${owner}`);
    expect(second.body.data[0].name).toBe('Paged one');
  });

  it("answers 404 for another organization's client, and it cannot be authorized by our users", async () => {
    await t.db.transaction().execute((trx) =>
      insertOrganizationWithOwner(trx, { name: 'Other org', username: 'other@example.com', password: 'another-long-password' }),
    );
    const other = await logInAs(t.app, 'other@example.com', 'another-long-password');
    const foreign = await registerClient(t.app, other);
    expectError(await request(t.app).get(`/v1/oauth-clients/${foreign.id}`).set('Authorization', `Bearer ${owner}`), 404, 'not_found');
    expectError(await request(t.app).delete(`/v1/oauth-clients/${foreign.id}`).set('Authorization', `Bearer ${owner}`), 404, 'not_found');
    const list = await request(t.app).get('/v1/oauth-clients?limit=200').set('Authorization', `Bearer ${owner}`);
    expect(list.body.data.map((c: { id: string }) => c.id)).not.toContain(foreign.id);
    const page = await getAuthorize(t.app, owner, { response_type: 'code', client_id: foreign.id, redirect_uri: REDIRECT, scope: 'findings:read', state: 's' });
    expect(page.status).toBe(400);
    expect(page.headers.location).toBeUndefined();
  });
});

describe('GET /oauth/authorize', () => {
  let client: RegisteredClient;
  beforeAll(async () => {
    client = await registerClient(t.app, owner);
  });
  const params = (overrides: Record<string, string | undefined> = {}) => ({
    response_type: 'code',
    client_id: client.id,
    redirect_uri: REDIRECT,
    scope: 'findings:read',
    state: 'xyz',
    ...pkceParams(),
    ...overrides,
  });
  const pkceParams = () => ({ code_challenge: pkce().challenge, code_challenge_method: 'S256' });

  it('shows a login page without a session, under a strict Content-Security-Policy', async () => {
    const response = await getAuthorize(t.app, undefined, params());
    expect(response.status).toBe(200);
    expectStandardHeaders(response);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.text).toContain('action="/oauth/login"');
    expect(response.headers['content-security-policy']).toMatch(/default-src 'none'.*form-action 'self'.*frame-ancestors 'none'/);
  });

  it('shows the consent page with the scopes in words, and escapes what the client named', async () => {
    const named = await registerClient(t.app, owner, { name: '<script>alert(1)</script>' });
    const response = await getAuthorize(t.app, owner, params({ client_id: named.id, scope: 'findings:read audits:read' }));
    expect(response.status).toBe(200);
    expect(response.text).toContain('Read findings, their history and scores.');
    expect(response.text).toContain('Read audits and their results.');
    expect(response.text).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(response.text).not.toContain('<script>');
  });

  it('takes the issuer from PUBLIC_URL, not from the Host a client sends', async () => {
    const configured = await startTestApp({ PUBLIC_URL: 'https://api.fourfold.test/' });
    try {
      const response = await request(configured.app).get('/.well-known/oauth-authorization-server').set('Host', 'evil.example');
      expect(response.body.issuer).toBe('https://api.fourfold.test');
      expect(response.body.token_endpoint).toBe('https://api.fourfold.test/oauth/token');
    } finally {
      await configured.close();
    }
  });

  it('ignores token request parameters it does not know (RFC 6749 §3.2)', async () => {
    const response = await request(t.app).post('/oauth/token').type('form').send({ grant_type: 'refresh_token', refresh_token: 'ffr_unknown', client_id: 'cli_01JD8X3N5W6Q2R4T7Y9ZABCDEF', resource: 'https://api.example' });
    expect(response.status).toBe(400);
    expect(response.body.error).not.toBe('validation_failed');
    expect(typeof response.body.error).toBe('string');
  });

  it('shows an error page and never redirects for an unknown client or a redirect URI that does not match exactly', async () => {
    for (const overrides of [
      { client_id: 'cli_01JD8X3N5W6Q2R4T7Y9ZABCDEF' },
      { redirect_uri: 'https://evil.example/callback' },
      { redirect_uri: `${REDIRECT}/` },
      { redirect_uri: `${REDIRECT}?x=1` },
      { redirect_uri: undefined },
    ]) {
      const response = await getAuthorize(t.app, owner, params(overrides));
      expect(response.status).toBe(400);
      expect(response.headers.location).toBeUndefined();
      expect(response.text).toContain('cannot be authorized');
    }
  });

  it.each([
    ['no state', { state: undefined }, 'invalid_request'],
    ['another response_type', { response_type: 'token' }, 'unsupported_response_type'],
    ['the plain PKCE method', { code_challenge_method: 'plain' }, 'invalid_request'],
    ['an unknown scope', { scope: 'everything' }, 'invalid_scope'],
    ['only scopes the client is not allowed', { scope: 'org:admin' }, 'invalid_scope'],
  ])('redirects to the client with an error for %s', async (_name, overrides, error) => {
    const response = await getAuthorize(t.app, owner, params(overrides));
    expect(response.status).toBe(303);
    const location = new URL(response.headers.location as string);
    expect(location.origin + location.pathname).toBe(REDIRECT);
    expect(location.searchParams.get('error')).toBe(error);
    expect(location.searchParams.get('iss')).toBe(ORIGIN);
  });

  it('requires PKCE of public clients', async () => {
    const publicClient = await registerClient(t.app, owner, { client_type: 'public', redirect_uris: [REDIRECT] });
    const response = await getAuthorize(t.app, owner, params({ client_id: publicClient.id, code_challenge: undefined, code_challenge_method: undefined }));
    expect(response.status).toBe(303);
    const location = new URL(response.headers.location as string);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/);
    expect(location.searchParams.get('state')).toBe('xyz');
  });
});

describe('POST /oauth/authorize', () => {
  let client: RegisteredClient;
  beforeAll(async () => {
    client = await registerClient(t.app, owner);
  });
  const params = () => ({ response_type: 'code', client_id: client.id, redirect_uri: REDIRECT, scope: 'findings:read', state: 'abc' });
  const post = (fields: Record<string, string>, origin: string | null = ORIGIN) => {
    const req = request(t.app).post('/oauth/authorize').set('Host', HOST).set('Cookie', `fourfold_session=${owner}`).type('form');
    return (origin ? req.set('Origin', origin) : req).send(fields);
  };

  it('refuses a form from another origin or without the right CSRF token', async () => {
    const page = await getAuthorize(t.app, owner, params()).expect(200);
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(page.text)![1]!;
    expect((await post({ ...params(), csrf_token: csrf, decision: 'approve' }, 'https://evil.example')).status).toBe(403);
    expect((await post({ ...params(), csrf_token: csrf, decision: 'approve' }, null)).status).toBe(403);
    expect((await post({ ...params(), csrf_token: 'forged', decision: 'approve' })).status).toBe(403);
    // The token is bound to the request it was shown for: another scope needs another token.
    const escalated = await post({ ...params(), scope: 'findings:read audits:read', csrf_token: csrf, decision: 'approve' });
    expect(escalated.status).toBe(403);
    expect(escalated.headers.location).toBeUndefined();
  });

  it('redirects with access_denied when the user denies', async () => {
    const location = await consent(t.app, owner, params(), 'deny');
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('state')).toBe('abc');
    expect(location.searchParams.get('code')).toBeNull();
  });

  it('redirects with a code, the state and the issuer when the user approves', async () => {
    const location = await consent(t.app, owner, params());
    expect(location.origin + location.pathname).toBe(REDIRECT);
    expect(location.searchParams.get('code')).toMatch(/^ffc_/);
    expect(location.searchParams.get('state')).toBe('abc');
    expect(location.searchParams.get('iss')).toBe(ORIGIN);
  });
});

describe('POST /oauth/token', () => {
  let confidential: RegisteredClient;
  let publicClient: RegisteredClient;
  beforeAll(async () => {
    confidential = await registerClient(t.app, owner);
    publicClient = await registerClient(t.app, owner, { client_type: 'public', redirect_uris: [REDIRECT] });
  });

  it('exchanges a code and its PKCE verifier for a one-hour access token and a refresh token', async () => {
    const { code, verifier } = await authorize(publicClient);
    const response = await exchange(publicClient, code!, verifier);
    expect(response.status).toBe(200);
    expectStandardHeaders(response);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toEqual({
      access_token: expect.stringMatching(/^ffo_/),
      token_type: 'Bearer',
      expires_in: expect.any(Number),
      refresh_token: expect.stringMatching(/^ffr_/),
      scope: 'findings:read audits:read',
    });
    expect(response.body.expires_in).toBeGreaterThan(3590);
    expect(response.body.expires_in).toBeLessThanOrEqual(3600);
    const caller = await me(response.body.access_token);
    expect(caller.status).toBe(200);
    expect(caller.body.scopes).toEqual(['findings:read', 'audits:read']);
    const row = await t.db.selectFrom('oauth_tokens').selectAll().where('client_id', '=', publicClient.id).executeTakeFirstOrThrow();
    expect(row.access_token_hash).toBe(createHash('sha256').update(response.body.access_token).digest('hex'));
  });

  it('refuses a wrong redirect URI at the exchange', async () => {
    const { code, verifier } = await authorize(publicClient);
    const response = await exchange(publicClient, code!, verifier, { redirect_uri: 'https://app.example.com/other' });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_request');
  });

  it('refuses a missing or incorrect PKCE verifier, and the code is spent afterwards', async () => {
    const { code, verifier } = await authorize(publicClient);
    const missing = await exchange(publicClient, code!);
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ error: 'invalid_grant', error_description: expect.stringMatching(/code_verifier/) });

    const second = await authorize(publicClient);
    const wrong = await exchange(publicClient, second.code!, pkce().verifier);
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('invalid_grant');
    // A failed attempt consumes the code: even the right verifier cannot use it now.
    expect((await exchange(publicClient, second.code!, second.verifier)).body.error).toBe('invalid_grant');
    expect((await exchange(publicClient, code!, verifier)).body.error).toBe('invalid_grant');
  });

  it('refuses a code of another client', async () => {
    const { code, verifier } = await authorize(publicClient);
    const response = await exchange(confidential, code!, verifier);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_grant');
  });

  it('requires the secret of a confidential client, even with PKCE', async () => {
    const { code, verifier } = await authorize(confidential);
    const noSecret = await exchange({ ...confidential, client_secret: null }, code!, verifier);
    expect(noSecret.body.error).toBe('invalid_client');
    const wrongSecret = await exchange({ ...confidential, client_secret: 'ffs_wrong' }, code!, verifier);
    expect(wrongSecret.body.error).toBe('invalid_client');
    const basic = await tokenRequest(t.app, { grant_type: 'authorization_code', code: code!, redirect_uri: REDIRECT, code_verifier: verifier })
      .auth(confidential.id, confidential.client_secret!);
    expect(basic.status).toBe(200);
  });

  it('accepts a confidential client without PKCE', async () => {
    const { code } = await authorize(confidential, { challenge: null });
    const response = await exchange(confidential, code!);
    expect(response.status).toBe(200);
  });

  it('on a reused code refuses it and revokes the tokens it was exchanged for', async () => {
    const { code, verifier } = await authorize(publicClient);
    const first = await exchange(publicClient, code!, verifier).expect(200);
    await me(first.body.access_token).expect(200);
    const replay = await exchange(publicClient, code!, verifier);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    expectError(await me(first.body.access_token), 401, 'invalid_token');
    expect((await refresh(publicClient, first.body.refresh_token)).body.error).toBe('invalid_grant');
  });

  it('rotates refresh tokens, and a reused one revokes the whole family', async () => {
    const { code, verifier } = await authorize(publicClient);
    const first = await exchange(publicClient, code!, verifier).expect(200);
    const second = await refresh(publicClient, first.body.refresh_token);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
    await me(second.body.access_token).expect(200);

    const reused = await refresh(publicClient, first.body.refresh_token);
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe('invalid_grant');
    // The whole family is revoked: the newest access and refresh tokens too.
    expectError(await me(second.body.access_token), 401, 'invalid_token');
    expectError(await me(first.body.access_token), 401, 'invalid_token');
    expect((await refresh(publicClient, second.body.refresh_token)).body.error).toBe('invalid_grant');
  });

  it('grants only requested ∩ client-allowed ∩ user-held scopes, and refreshes cannot widen them', async () => {
    const narrow = await registerClient(t.app, owner, { client_type: 'public', redirect_uris: [REDIRECT], scopes: ['findings:read'] });
    const page = await getAuthorize(t.app, owner, {
      response_type: 'code',
      client_id: narrow.id,
      redirect_uri: REDIRECT,
      scope: 'findings:read org:admin',
      state: 's',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    });
    expect(page.text).toMatch(/id="withheld">\s*<li>Manage the organization/);
    const { code, verifier } = await authorize(narrow, { scope: 'findings:read org:admin' });
    const tokens = await exchange(narrow, code!, verifier).expect(200);
    expect(tokens.body.scope).toBe('findings:read');
    expect((await me(tokens.body.access_token)).body.scopes).toEqual(['findings:read']);
    expectError(await request(t.app).get('/v1/oauth-clients').set('Authorization', `Bearer ${tokens.body.access_token}`), 403, 'insufficient_scope');
    const widened = await refresh(narrow, tokens.body.refresh_token, { scope: 'findings:read org:admin' });
    expect(widened.status).toBe(400);
    expect(widened.body.error).toBe('invalid_scope');
  });

  it('answers RFC 6749 errors for unsupported grants and missing parameters', async () => {
    const unsupported = await tokenRequest(t.app, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: confidential.id, client_secret: confidential.client_secret! });
    expect(unsupported.status).toBe(400);
    expect(unsupported.body.error).toBe('unsupported_grant_type');
    // Grants the library knows but our clients may not use (password, client_credentials).
    const password = await tokenRequest(t.app, { grant_type: 'password', client_id: confidential.id, client_secret: confidential.client_secret! });
    expect(password.body.error).toBe('unauthorized_client');
    const noGrant = await tokenRequest(t.app, { client_id: confidential.id, client_secret: confidential.client_secret! });
    expect(noGrant.body.error).toBe('invalid_request');
  });
});

describe('POST /oauth/revoke and /oauth/introspect', () => {
  let confidential: RegisteredClient;
  let publicClient: RegisteredClient;
  beforeAll(async () => {
    confidential = await registerClient(t.app, owner);
    publicClient = await registerClient(t.app, owner, { client_type: 'public', redirect_uris: [REDIRECT] });
  });

  it("introspects the client's own active tokens, and nothing else", async () => {
    const { code } = await authorize(confidential, { challenge: null });
    const tokens = await exchange(confidential, code!).expect(200);
    const introspect = (token: string, client: RegisteredClient = confidential) =>
      request(t.app).post('/oauth/introspect').set('Host', HOST).type('form').send({ token, client_id: client.id, client_secret: client.client_secret ?? '' });
    const active = await introspect(tokens.body.access_token);
    expect(active.status).toBe(200);
    expect(active.body).toMatchObject({ active: true, scope: 'findings:read audits:read', client_id: confidential.id, token_type: 'access_token', iss: ORIGIN, username: 'owner@example.com' });
    expect((await introspect(tokens.body.refresh_token)).body).toMatchObject({ active: true, token_type: 'refresh_token' });
    expect((await introspect('ffo_unknown')).body).toEqual({ active: false });
    const other = await registerClient(t.app, owner);
    expect((await introspect(tokens.body.access_token, other)).body).toEqual({ active: false });
    const publicAttempt = await request(t.app).post('/oauth/introspect').type('form').send({ token: tokens.body.access_token, client_id: publicClient.id });
    expect(publicAttempt.status).toBe(401);
    expect(publicAttempt.body.error).toBe('invalid_client');
  });

  it('revokes the whole grant of a token (RFC 7009), silently for tokens it does not know', async () => {
    const { code, verifier } = await authorize(publicClient);
    const tokens = await exchange(publicClient, code!, verifier).expect(200);
    // Another client cannot revoke it.
    await request(t.app).post('/oauth/revoke').type('form').send({ token: tokens.body.refresh_token, client_id: confidential.id, client_secret: confidential.client_secret! }).expect(200);
    await me(tokens.body.access_token).expect(200);

    const response = await request(t.app).post('/oauth/revoke').type('form').send({ token: tokens.body.refresh_token, token_type_hint: 'refresh_token', client_id: publicClient.id });
    expect(response.status).toBe(200);
    expectStandardHeaders(response);
    expectError(await me(tokens.body.access_token), 401, 'invalid_token');
    expect((await refresh(publicClient, tokens.body.refresh_token)).body.error).toBe('invalid_grant');
    await request(t.app).post('/oauth/revoke').type('form').send({ token: 'ffr_nothing', client_id: publicClient.id }).expect(200);
    const badClient = await request(t.app).post('/oauth/revoke').type('form').send({ token: 'x', client_id: confidential.id, client_secret: 'wrong' });
    expect(badClient.status).toBe(401);
    expect(badClient.body.error).toBe('invalid_client');
  });
});

describe('/v1/authorizations', () => {
  it('lists the apps the user approved and revokes one with everything it holds', async () => {
    const client = await registerClient(t.app, owner, { name: 'Revocable', client_type: 'public', redirect_uris: [REDIRECT] });
    const { code, verifier } = await authorize(client, { scope: 'findings:read' });
    const tokens = await exchange(client, code!, verifier).expect(200);

    const list = await request(t.app).get('/v1/authorizations').set('Authorization', `Bearer ${owner}`);
    expect(list.status).toBe(200);
    const entry = list.body.data.find((a: { client: { id: string } }) => a.client.id === client.id);
    expect(entry).toMatchObject({ id: expect.stringMatching(/^oau_/), client: { name: 'Revocable' }, scopes: ['findings:read'] });

    // An app's own token cannot see or revoke the user's other apps: that takes a login session.
    expectError(await request(t.app).get('/v1/authorizations').set('Authorization', `Bearer ${tokens.body.access_token}`), 403, 'forbidden');
    expectError(await request(t.app).post('/v1/tokens').set('Authorization', `Bearer ${tokens.body.access_token}`).send({ name: 'escape', scopes: ['findings:read'] }), 403, 'forbidden');

    const other = await logInAs(t.app, 'other@example.com', 'another-long-password');
    expectError(await request(t.app).delete(`/v1/authorizations/${entry.id}`).set('Authorization', `Bearer ${other}`), 404, 'not_found');

    const deleted = await request(t.app).delete(`/v1/authorizations/${entry.id}`).set('Authorization', `Bearer ${owner}`);
    expect(deleted.status).toBe(204);
    expectError(await me(tokens.body.access_token), 401, 'invalid_token');
    expect((await refresh(client, tokens.body.refresh_token)).body.error).toBe('invalid_grant');
    expectError(await request(t.app).delete(`/v1/authorizations/${entry.id}`).set('Authorization', `Bearer ${owner}`), 404, 'not_found');
  });
});
