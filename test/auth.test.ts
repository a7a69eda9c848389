import jwt from 'jsonwebtoken';
import request from 'supertest';
import { OWNER, startTestApp, useTestApp, TEST_SECRET } from './support/app';
import { expectError, expectStandardHeaders } from './support/expectations';

const t = useTestApp();

/** Signs a token like a login token, with `overrides` applied to claims and options. */
function forgeToken(
  claims: Record<string, unknown> = {},
  options: jwt.SignOptions = {},
  secret: string = TEST_SECRET,
): Promise<string> {
  return t.ownerToken().then((real) => {
    const payload = jwt.decode(real) as jwt.JwtPayload;
    const { iat: _iat, exp: _exp, ...rest } = payload;
    const exp = Math.floor(Date.now() / 1000) + 600;
    return jwt.sign({ ...rest, exp, ...claims }, secret, { algorithm: 'HS256', ...options });
  });
}

describe('POST /auth/login', () => {
  it('answers a bearer token for 8 hours and sets it as an HTTP-only, SameSite=Lax cookie', async () => {
    const response = await request(t.app).post('/auth/login').send(OWNER);
    expect(response.status).toBe(200);
    expectStandardHeaders(response);
    expect(response.body).toEqual({ access_token: expect.any(String), token_type: 'bearer', expires_in: 28800 });
    const claims = jwt.decode(response.body.access_token) as jwt.JwtPayload;
    expect(claims).toMatchObject({ iss: 'fourfold', aud: 'fourfold-api', sub: expect.stringMatching(/^usr_/), org: expect.stringMatching(/^org_/), jti: expect.any(String) });
    expect((claims.exp as number) - (claims.iat as number)).toBe(28800);
    const cookie = (response.headers['set-cookie'] as unknown as string[])[0];
    expect(cookie).toMatch(new RegExp(`^fourfold_session=${response.body.access_token};`));
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/Max-Age=28800/);
    expect(cookie).not.toMatch(/Secure/);
  });

  it('marks the cookie Secure when served over https behind a trusted proxy', async () => {
    const proxied = await startTestApp({ TRUST_PROXY: '1' });
    try {
      const response = await request(proxied.app).post('/auth/login').set('X-Forwarded-Proto', 'https').send(OWNER);
      expect(response.status).toBe(200);
      expect((response.headers['set-cookie'] as unknown as string[])[0]).toMatch(/; Secure/);
    } finally {
      await proxied.close();
    }
  });

  it('takes the username case-insensitively', async () => {
    const response = await request(t.app).post('/auth/login').send({ ...OWNER, username: OWNER.username.toUpperCase() });
    expect(response.status).toBe(200);
  });

  it('answers a wrong password and an unknown user with the same 401 invalid_credentials', async () => {
    const wrongPassword = await request(t.app).post('/auth/login').send({ ...OWNER, password: 'wrong-password' });
    const unknownUser = await request(t.app).post('/auth/login').send({ username: 'nobody', password: OWNER.password });
    for (const response of [wrongPassword, unknownUser]) {
      expectError(response, 401, 'invalid_credentials');
      expect(response.headers['www-authenticate']).toBe('Bearer realm="fourfold"');
      expect(response.headers['set-cookie']).toBeUndefined();
    }
    expect(wrongPassword.body.error.message).toBe(unknownUser.body.error.message);
  });

  it('spends as long on an unknown user as on a wrong password, so neither reveals which it was', async () => {
    // The two kinds alternate, so that load from a test file running beside this one weighs on both alike.
    const times = { wrongPassword: [] as number[], unknownUser: [] as number[] };
    const time = async (body: object) => {
      const start = process.hrtime.bigint();
      await request(t.app).post('/auth/login').send(body).expect(401);
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    for (let i = 0; i < 9; i++) {
      times.wrongPassword.push(await time({ ...OWNER, password: 'wrong-password' }));
      times.unknownUser.push(await time({ username: 'nobody', password: 'wrong-password' }));
    }
    const median = (samples: number[]) => samples.sort((a, b) => a - b)[4] as number;
    const wrongPassword = median(times.wrongPassword);
    const unknownUser = median(times.unknownUser);
    // Without the decoy hash an unknown user answers over ten times faster; allow for noise.
    expect(unknownUser / wrongPassword).toBeGreaterThan(0.5);
    expect(unknownUser / wrongPassword).toBeLessThan(2);
  });
});

describe('GET /v1/me', () => {
  it('answers the caller, their organization, role and scopes for a bearer token', async () => {
    const response = await request(t.app).get('/v1/me').set('Authorization', `Bearer ${await t.ownerToken()}`);
    expect(response.status).toBe(200);
    expectStandardHeaders(response);
    expect(response.body).toEqual({
      user: { id: expect.stringMatching(/^usr_/), username: OWNER.username, created_at: expect.any(String) },
      organization: { id: expect.stringMatching(/^org_/), name: 'Default organization', created_at: expect.any(String), updated_at: expect.any(String) },
      role: 'owner',
      scopes: expect.arrayContaining(['findings:read', 'audits:write', 'org:admin']),
    });
    expect(response.body.scopes).toHaveLength(13);
  });

  it('accepts the session cookie', async () => {
    const token = await t.ownerToken();
    const response = await request(t.app).get('/v1/me').set('Cookie', `fourfold_session=${token}`);
    expect(response.status).toBe(200);
    expect(response.body.role).toBe('owner');
  });

  it('answers 401 unauthenticated with WWW-Authenticate when no credentials come', async () => {
    const response = await request(t.app).get('/v1/me');
    expectError(response, 401, 'unauthenticated');
    expect(response.headers['www-authenticate']).toBe('Bearer realm="fourfold"');
  });

  const rejected: [string, () => Promise<string>, string][] = [
    ['a malformed token', async () => 'Bearer not-a-jwt', 'invalid_token'],
    ['an empty bearer token', async () => 'Bearer ', 'invalid_token'],
    ['another scheme', async () => `Basic ${Buffer.from('a:b').toString('base64')}`, 'invalid_token'],
    [
      'a tampered token',
      async () => {
        const [header, payload, signature] = (await t.ownerToken()).split('.') as [string, string, string];
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
        const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'usr_01JD8X3N5W6Q2R4T7Y9ZABCDEF' })).toString('base64url');
        return `Bearer ${header}.${forged}.${signature}`;
      },
      'invalid_token',
    ],
    ['an expired token', async () => `Bearer ${await forgeToken({ exp: Math.floor(Date.now() / 1000) - 10 })}`, 'token_expired'],
    [
      'an alg: none token',
      async () => {
        const claims = jwt.decode(await t.ownerToken()) as jwt.JwtPayload;
        const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
        return `Bearer ${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`;
      },
      'invalid_token',
    ],
    ['a token signed with another algorithm', async () => `Bearer ${await forgeToken({}, { algorithm: 'HS512' })}`, 'invalid_token'],
    ['a token signed with another key', async () => `Bearer ${await forgeToken({}, {}, 'x'.repeat(40))}`, 'invalid_token'],
    ['a token for another audience', async () => `Bearer ${await forgeToken({ aud: 'someone-else' })}`, 'invalid_token'],
    ['a token from another issuer', async () => `Bearer ${await forgeToken({ iss: 'someone-else' })}`, 'invalid_token'],
    ['a token of an organization the user is not in', async () => `Bearer ${await forgeToken({ org: 'org_01JD8X3N5V0000000000000000' })}`, 'invalid_token'],
  ];

  it.each(rejected)('answers %s with 401 and the reason in WWW-Authenticate', async (_name, header, code) => {
    const response = await request(t.app).get('/v1/me').set('Authorization', await header());
    expectError(response, 401, code);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="fourfold", error="invalid_token", error_description="[^"]+"$/);
  });
});

describe('POST /auth/logout', () => {
  it('revokes the token, so the next request with it is refused', async () => {
    const token = await t.ownerToken();
    const other = await t.ownerToken();
    const response = await request(t.app).post('/auth/logout').set('Authorization', `Bearer ${token}`);
    expect(response.status).toBe(204);
    expectStandardHeaders(response);
    expect((response.headers['set-cookie'] as unknown as string[])[0]).toMatch(/^fourfold_session=;.*Expires=Thu, 01 Jan 1970/);
    const after = await request(t.app).get('/v1/me').set('Authorization', `Bearer ${token}`);
    expectError(after, 401, 'invalid_token');
    expect(after.body.error.message).toContain('revoked');
    // Only that login is ended, not the user's other sessions.
    await request(t.app).get('/v1/me').set('Authorization', `Bearer ${other}`).expect(200);
  });

  it('refuses a cookie-authenticated logout without this origin (CSRF), and accepts it with', async () => {
    const token = await t.ownerToken();
    const cookie = `fourfold_session=${token}`;
    const crossSite = await request(t.app).post('/auth/logout').set('Cookie', cookie).set('Origin', 'https://evil.example');
    expectError(crossSite, 403, 'csrf_check_failed');
    const noOrigin = await request(t.app).post('/auth/logout').set('Cookie', cookie);
    expectError(noOrigin, 403, 'csrf_check_failed');
    await request(t.app).get('/v1/me').set('Cookie', cookie).expect(200);

    const response = await request(t.app)
      .post('/auth/logout')
      .set('Cookie', cookie)
      .set('Host', 'fourfold.test')
      .set('Origin', 'http://fourfold.test');
    expect(response.status).toBe(204);
    await request(t.app).get('/v1/me').set('Cookie', cookie).expect(401);
  });

  it('answers 401 without credentials', async () => {
    expectError(await request(t.app).post('/auth/logout'), 401, 'unauthenticated');
  });
});
