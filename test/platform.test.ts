import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import request from 'supertest';
import { as, logInAs, OWNER, startTestApp, useTestApp } from './support/app';
import { runAuditThroughHttp } from './support/audits';
import { expectError, expectStandardHeaders } from './support/expectations';
import { consent, getAuthorize, HOST, ORIGIN, pkce, registerClient, tokenRequest, type RegisteredClient } from './support/oauth';

const native = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'inventory', 'native.json'), 'utf8')) as { resources: object[] };
const REDIRECT = 'https://app.example.com/callback';
const PASSWORD = 'tenant-password-0123456789';

// The bootstrap owner is also a platform operator, named in PLATFORM_ADMINS.
const t = useTestApp(
  { PLATFORM_ADMINS: ` someone-else, ${OWNER.username.toUpperCase()} `, SIGNUP_ENABLED: 'true', RATE_LIMIT_SIGNUP_PER_HOUR: '3' },
  { workers: true },
);
let operator: string;
beforeAll(async () => {
  operator = await t.ownerToken();
});

let slugs = 0;
/** Creates an organization through the platform API; answers it and its owner's login token. */
async function createTenant(name: string) {
  const slug = `tenant-${++slugs}`;
  const username = `owner-${slug}@example.com`;
  const response = await request(t.app)
    .post('/v1/platform/organizations')
    .set(as(operator))
    .send({ name, slug, owner: { username, password: PASSWORD } });
  expect(response.status).toBe(201);
  return { id: response.body.organization.id as string, username, token: await logInAs(t.app, username, PASSWORD) };
}

describe('platform organizations', () => {
  it('creates an organization with an invited owner, who accepts and owns it', async () => {
    const response = await request(t.app)
      .post('/v1/platform/organizations')
      .set(as(operator))
      .send({ name: '  Acme Corp ', slug: 'acme', owner: { username: 'alice@acme.example' } });
    expect(response.status).toBe(201);
    expectStandardHeaders(response);
    const { organization, owner } = response.body;
    expect(response.headers.location).toBe(`/v1/platform/organizations/${organization.id}`);
    expect(organization).toEqual({
      id: expect.stringMatching(/^org_/),
      name: 'Acme Corp',
      slug: 'acme',
      status: 'active',
      suspended_at: null,
      member_count: 1,
      limits: { resources: 1000000, resource_attribute_bytes: 262144, queued_jobs: 50, report_bytes: 1073741824 },
      plan: { name: 'starter', expires_at: null },
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(owner).toMatchObject({ username: 'alice@acme.example', role: 'owner', status: 'invited', invitation: { token: expect.stringMatching(/^ffi_/) } });

    const accepted = await request(t.app).post('/auth/invitations/accept').send({ invitation_token: owner.invitation.token, password: PASSWORD });
    expect(accepted.status).toBe(200);
    const me = await request(t.app).get('/v1/me').set(as(accepted.body.access_token));
    expect(me.body).toMatchObject({ role: 'owner', organization: { id: organization.id, name: 'Acme Corp' } });

    const got = await request(t.app).get(`/v1/platform/organizations/${organization.id}`).set(as(operator));
    expect(got.body).toMatchObject({ id: organization.id, status: 'active', member_count: 1 });
  });

  it('refuses a taken slug or username with 409, writing nothing', async () => {
    const before = await request(t.app).get('/v1/platform/organizations?limit=200').set(as(operator));
    const slug = await request(t.app).post('/v1/platform/organizations').set(as(operator)).send({ name: 'Again', slug: 'acme', owner: { username: 'new-person' } });
    expectError(slug, 409, 'slug_taken');
    const username = await request(t.app).post('/v1/platform/organizations').set(as(operator)).send({ name: 'Again', slug: 'again', owner: { username: OWNER.username } });
    expectError(username, 409, 'username_taken');
    const invalid = await request(t.app).post('/v1/platform/organizations').set(as(operator)).send({ name: 'Bad', slug: 'Not A Slug', owner: { username: 'x' } });
    expectError(invalid, 422, 'validation_failed');
    const after = await request(t.app).get('/v1/platform/organizations?limit=200').set(as(operator));
    expect(after.body.data).toHaveLength(before.body.data.length);
  });

  it('lists organizations with cursors and a status filter, renames and reinstates them', async () => {
    const tenant = await createTenant('Listed Ltd');
    const firstPage = await request(t.app).get('/v1/platform/organizations?limit=1').set(as(operator));
    expect(firstPage.status).toBe(200);
    expect(firstPage.body).toMatchObject({ data: [expect.objectContaining({ name: 'Default organization' })], has_more: true });
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page: request.Response = await request(t.app).get(`/v1/platform/organizations?limit=1${cursor ? `&cursor=${cursor}` : ''}`).set(as(operator));
      all.push(...page.body.data.map((o: { id: string }) => o.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(all).toContain(tenant.id);
    expect(new Set(all).size).toBe(all.length);
    expectError(await request(t.app).get(`/v1/platform/organizations?status=active&cursor=${firstPage.body.next_cursor}`).set(as(operator)), 400, 'invalid_cursor');

    const suspended = await request(t.app).patch(`/v1/platform/organizations/${tenant.id}`).set(as(operator)).send({ status: 'suspended', name: 'Listed Limited' });
    expect(suspended.body).toMatchObject({ name: 'Listed Limited', status: 'suspended', suspended_at: expect.any(String) });
    const onlySuspended = await request(t.app).get('/v1/platform/organizations?status=suspended').set(as(operator));
    expect(onlySuspended.body.data.map((o: { id: string }) => o.id)).toEqual([tenant.id]);
    const reinstated = await request(t.app).patch(`/v1/platform/organizations/${tenant.id}`).set(as(operator)).send({ status: 'active' });
    expect(reinstated.body).toMatchObject({ status: 'active', suspended_at: null });
    expectError(await request(t.app).get('/v1/platform/organizations/org_01JD8X3N5V0000000000000000').set(as(operator)), 404, 'not_found');
  });

  it("refuses to suspend the operator's own organization, which would lock them out", async () => {
    const own = (await request(t.app).get('/v1/me').set(as(operator)).expect(200)).body.organization.id;
    expectError(await request(t.app).patch(`/v1/platform/organizations/${own}`).set(as(operator)).send({ status: 'suspended' }), 409, 'conflict');
    expect((await request(t.app).get(`/v1/platform/organizations/${own}`).set(as(operator)).expect(200)).body.status).toBe('active');
    await request(t.app).patch(`/v1/platform/organizations/${own}`).set(as(operator)).send({ name: 'Operators' }).expect(200);
  });
});

describe('two organizations created through the platform API', () => {
  it('answers 404 to every object of one asked by the other', async () => {
    const a = await createTenant('Tenant A');
    const b = await createTenant('Tenant B');
    const account = (await request(t.app).post('/v1/accounts').set(as(a.token)).send({ provider: 'aws', external_id: '345678901234', name: 'a-prod' }).expect(201)).body;
    const imported = (await request(t.app).post(`/v1/accounts/${account.id}/imports?format=native&mode=full`).set(as(a.token)).send(native).expect(201)).body;
    const audit = await runAuditThroughHttp(t.app, a.token, { mode: 'full' });
    expect(audit.status).toBe('succeeded');
    const resource = (await request(t.app).get('/v1/resources?limit=1').set(as(a.token))).body.data[0];
    const finding = (await request(t.app).get('/v1/findings?limit=1').set(as(a.token))).body.data[0];
    expect(finding).toBeDefined();
    const member = (await request(t.app).post('/v1/members').set(as(a.token)).send({ username: 'a-viewer', role: 'viewer' }).expect(201)).body;
    const client = await registerClient(t.app, a.token);

    const objects = [
      `/v1/accounts/${account.id}`,
      `/v1/accounts/${account.id}/imports`,
      `/v1/imports/${imported.id}`,
      `/v1/resources/${resource.id}`,
      `/v1/resources/${resource.id}/versions`,
      `/v1/resources/${resource.id}/findings`,
      `/v1/audits/${audit.id}`,
      `/v1/findings/${finding.id}`,
      `/v1/findings/${finding.id}/events`,
      `/v1/members/${member.user_id}`,
      `/v1/oauth-clients/${client.id}`,
    ];
    for (const url of objects) {
      expect((await request(t.app).get(url).set(as(a.token))).status).toBe(200);
      expectError(await request(t.app).get(url).set(as(b.token)), 404, 'not_found');
    }
    expectError(await request(t.app).patch(`/v1/findings/${finding.id}`).set(as(b.token)).send({ note: 'not mine' }), 404, 'not_found');
    expectError(await request(t.app).delete(`/v1/accounts/${account.id}`).set(as(b.token)), 404, 'not_found');
    expectError(await request(t.app).get(`/v1/compliance/score?audit_id=${audit.id}`).set(as(b.token)), 404, 'not_found');
    for (const list of ['/v1/accounts', '/v1/resources', '/v1/audits', '/v1/findings', '/v1/oauth-clients']) {
      expect((await request(t.app).get(list).set(as(b.token))).body.data).toEqual([]);
    }
    // Two tenants, an audit and some forty requests: well past jest's 30 s on a loaded machine.
  }, 120_000);
});

describe('suspension', () => {
  it('refuses every credential kind of the organization with 403 organization_suspended, and lifting it restores them', async () => {
    const tenant = await createTenant('Suspended Co');
    const other = await createTenant('Unaffected Co');
    const pat = await t.createPat(tenant.token, ['findings:read']);
    const client = await registerClient(t.app, tenant.token, { client_type: 'public', scopes: ['findings:read'] });
    const oauth = await oauthTokens(client, tenant.token);
    const unusedCode = await authorizationCode(client, tenant.token);
    const invitation = (await request(t.app).post('/v1/members').set(as(tenant.token)).send({ username: 'suspended-invitee', role: 'viewer' }).expect(201)).body.invitation.token;

    const suspend = await request(t.app).patch(`/v1/platform/organizations/${tenant.id}`).set(as(operator)).send({ status: 'suspended' });
    expect(suspend.status).toBe(200);

    const refused = {
      password: await request(t.app).post('/auth/login').send({ username: tenant.username, password: PASSWORD }),
      login_token: await request(t.app).get('/v1/me').set(as(tenant.token)),
      login_token_on_organization: await request(t.app).get('/v1/organization').set(as(tenant.token)),
      cookie: await request(t.app).get('/v1/me').set('Cookie', `fourfold_session=${tenant.token}`),
      personal_access_token: await request(t.app).get('/v1/findings').set(as(pat.secret)),
      oauth_access_token: await request(t.app).get('/v1/findings').set(as(oauth.access_token)),
      oauth_refresh_grant: await tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: oauth.refresh_token, client_id: client.id }),
      oauth_code_grant: await exchange(client, unusedCode),
      invitation: await request(t.app).post('/auth/invitations/accept').send({ invitation_token: invitation, password: PASSWORD }),
    };
    for (const [kind, response] of Object.entries(refused)) {
      expect([kind, response.status]).toEqual([kind, 403]);
      expectError(response, 403, 'organization_suspended');
    }
    // The OAuth login form answers with a page, not JSON.
    const browserLogin = () =>
      request(t.app).post('/oauth/login').set('Origin', ORIGIN).set('Host', HOST).type('form')
        .send({ username: tenant.username, password: PASSWORD, return_to: '/oauth/authorize?response_type=code' });
    const page = await browserLogin();
    expect(page.status).toBe(403);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('This organization is suspended');
    expect(page.headers['set-cookie']).toBeUndefined();
    // A wrong password still says only that it is wrong.
    expectError(await request(t.app).post('/auth/login').send({ username: tenant.username, password: 'wrong-password-000' }), 401, 'invalid_credentials');
    // The consent page does not take the suspended session: it asks for a login.
    expect((await getAuthorize(t.app, tenant.token, authorizeParams(client, pkce().challenge))).text).not.toContain('csrf_token');
    expect((await request(t.app).get('/v1/me').set(as(other.token))).status).toBe(200);

    await request(t.app).patch(`/v1/platform/organizations/${tenant.id}`).set(as(operator)).send({ status: 'active' }).expect(200);
    expect((await request(t.app).post('/auth/login').send({ username: tenant.username, password: PASSWORD })).status).toBe(200);
    expect((await request(t.app).get('/v1/me').set(as(tenant.token))).status).toBe(200);
    expect((await request(t.app).get('/v1/me').set('Cookie', `fourfold_session=${tenant.token}`)).status).toBe(200);
    expect((await request(t.app).get('/v1/findings').set(as(pat.secret))).status).toBe(200);
    expect((await request(t.app).get('/v1/findings').set(as(oauth.access_token))).status).toBe(200);
    expect((await tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: oauth.refresh_token, client_id: client.id })).status).toBe(200);
    expect((await exchange(client, unusedCode)).status).toBe(200);
    expect((await request(t.app).post('/auth/invitations/accept').send({ invitation_token: invitation, password: PASSWORD })).status).toBe(200);
    expect((await browserLogin()).status).toBe(303);
  });

  it('refuses to delete an active organization; a suspended one goes with every row of it', async () => {
    const doomed = await createTenant('Doomed Inc');
    const kept = await createTenant('Kept Inc');
    for (const tenant of [doomed, kept]) {
      const account = (await request(t.app).post('/v1/accounts').set(as(tenant.token)).send({ provider: 'aws', external_id: '345678901234', name: 'prod' }).expect(201)).body;
      await request(t.app).post(`/v1/accounts/${account.id}/imports?format=native&mode=full`).set(as(tenant.token)).send(native).expect(201);
      expect((await runAuditThroughHttp(t.app, tenant.token, { mode: 'full' })).status).toBe('succeeded');
      await request(t.app).post('/v1/members').set(as(tenant.token)).send({ username: `invitee-of-${tenant.id}`, role: 'viewer' }).expect(201);
      await t.createPat(tenant.token, ['findings:read']);
      const client = await registerClient(t.app, tenant.token, { client_type: 'public', scopes: ['findings:read'] });
      await oauthTokens(client, tenant.token);
      await request(t.app).post('/v1/audits').set(as(tenant.token)).set('Idempotency-Key', 'once').send({ mode: 'full' }).expect(202);
    }
    const before = await rowsOf(doomed.id);
    expect(Object.keys(before)).toEqual(
      expect.arrayContaining(['accounts', 'audits', 'findings', 'idempotency_keys', 'imports', 'invitations', 'memberships', 'oauth_authorizations', 'oauth_clients', 'oauth_tokens', 'personal_access_tokens', 'resources']),
    );

    const refused = await request(t.app).delete(`/v1/platform/organizations/${doomed.id}`).set(as(operator));
    expectError(refused, 409, 'organization_not_suspended');
    expect(refused.body.error.message).toMatch(/suspend it first/);
    await request(t.app).patch(`/v1/platform/organizations/${doomed.id}`).set(as(operator)).send({ status: 'suspended' }).expect(200);
    const deleted = await request(t.app).delete(`/v1/platform/organizations/${doomed.id}`).set(as(operator));
    expect(deleted.status).toBe(204);
    expectStandardHeaders(deleted);

    expect(await rowsOf(doomed.id)).toEqual({});
    expect(await t.db.selectFrom('users').select('id').where(sql<string>`lower(username)`, 'in', [doomed.username, `invitee-of-${doomed.id}`.toLowerCase()]).execute()).toEqual([]);
    expect(await rowsOf(kept.id)).toEqual(expect.objectContaining({ memberships: 2, findings: before.findings }));
    expectError(await request(t.app).get(`/v1/platform/organizations/${doomed.id}`).set(as(operator)), 404, 'not_found');
    expectError(await request(t.app).delete(`/v1/platform/organizations/${doomed.id}`).set(as(operator)), 404, 'not_found');
    const malformed = '/v1/platform/organizations/not-an-id';
    expectError(await request(t.app).get(malformed).set(as(operator)), 422, 'validation_failed');
    expectError(await request(t.app).patch(malformed).set(as(operator)).send({ name: 'X' }), 422, 'validation_failed');
    expectError(await request(t.app).delete(malformed).set(as(operator)), 422, 'validation_failed');
    expect((await request(t.app).get('/v1/findings').set(as(kept.token))).body.data.length).toBeGreaterThan(0);
  });
});

describe('deleting an organization with work queued', () => {
  it('ends its queued audit and report jobs quietly, at their first attempt, and removes its report files', async () => {
    const reportsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'platform-reports-'));
    // Its own database: the shared app's workers would take the jobs before the deletion.
    const idle = await startTestApp({ PLATFORM_ADMINS: OWNER.username, REPORTS_DIR: reportsDir });
    try {
      const admin = await idle.ownerToken();
      const created = await request(idle.app).post('/v1/platform/organizations').set(as(admin)).send({ name: 'Busy Co', slug: 'busy', owner: { username: 'busy@example.com', password: PASSWORD } });
      expect(created.status).toBe(201);
      const tenant = { id: created.body.organization.id as string, token: await logInAs(idle.app, 'busy@example.com', PASSWORD) };
      const account = (await request(idle.app).post('/v1/accounts').set(as(tenant.token)).send({ provider: 'aws', external_id: '345678901234', name: 'prod' }).expect(201)).body;
      await request(idle.app).post(`/v1/accounts/${account.id}/imports?format=native&mode=full`).set(as(tenant.token)).send(native).expect(201);
      const first = await startTestApp({ REPORTS_DIR: reportsDir }, { sharing: idle, workers: true });
      expect((await runAuditThroughHttp(first.app, tenant.token, { mode: 'full' })).status).toBe('succeeded');
      const kept = (await request(first.app).post('/v1/reports').set(as(tenant.token)).send({ type: 'executive_summary', format: 'json' }).expect(202)).body;
      for (let attempt = 0; attempt < 100 && (await request(first.app).get(`/v1/reports/${kept.id}`).set(as(tenant.token))).body.status !== 'ready'; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await first.close();
      expect(fs.readdirSync(path.join(reportsDir, tenant.id))).toHaveLength(1);

      const audit = (await request(idle.app).post('/v1/audits').set(as(tenant.token)).send({ mode: 'full' }).expect(202)).body;
      const report = (await request(idle.app).post('/v1/reports').set(as(tenant.token)).send({ type: 'remediation_plan', format: 'pdf' }).expect(202)).body;
      await request(idle.app).patch(`/v1/platform/organizations/${tenant.id}`).set(as(admin)).send({ status: 'suspended' }).expect(200);
      await request(idle.app).delete(`/v1/platform/organizations/${tenant.id}`).set(as(admin)).expect(204);
      expect(fs.readdirSync(reportsDir)).toEqual([]);

      const later = await startTestApp({}, { sharing: idle, workers: true });
      try {
        const jobsOf = () =>
          sql<{ name: string; state: string; retry_count: number }>`
            select name, state, retry_count from pgboss.job
            where data->>'audit_id' = ${audit.id} or data->>'report_id' = ${report.id} order by name`.execute(later.db);
        for (let attempt = 0; attempt < 100 && (await jobsOf()).rows.some((job) => job.state !== 'completed'); attempt++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        // The audit's job queues its alerts job as it ends; that too finds nothing to do.
        expect((await jobsOf()).rows).toEqual([
          { name: 'alerts', state: 'completed', retry_count: 0 },
          { name: 'audits', state: 'completed', retry_count: 0 },
          { name: 'reports', state: 'completed', retry_count: 0 },
        ]);
        expect(later.logs.filter((line) => Number(line.level) >= 50)).toEqual([]);
        expect(fs.readdirSync(reportsDir)).toEqual([]);
      } finally {
        await later.close();
      }
    } finally {
      await idle.close();
      fs.rmSync(reportsDir, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('the platform:admin scope', () => {
  it('belongs to the sessions of platform operators and to no organization role', async () => {
    const mine = await request(t.app).get('/v1/me').set(as(operator));
    expect(mine.status).toBe(200);
    expect(mine.body.scopes).toContain('platform:admin');
    const tenant = await createTenant('Role Co');
    const theirs = await request(t.app).get('/v1/me').set(as(tenant.token));
    expect(theirs.body).toMatchObject({ role: 'owner' });
    expect(theirs.body.scopes).toContain('org:admin');
    expect(theirs.body.scopes).not.toContain('platform:admin');
    expectError(await request(t.app).get('/v1/platform/organizations').set(as(tenant.token)), 403, 'insufficient_scope');
    expectError(await request(t.app).post('/v1/platform/organizations').set(as(tenant.token)).send({ name: 'X', slug: 'x', owner: { username: 'x' } }), 403, 'insufficient_scope');
  });

  it('cannot be put in a personal access token, and no token reaches the platform operations', async () => {
    const asked = await request(t.app).post('/v1/tokens').set(as(operator)).send({ name: 'operator token', scopes: ['findings:read', 'platform:admin'] });
    expectError(asked, 422, 'scope_not_held');
    expect(asked.body.error.details).toEqual([{ field: 'body.scopes', issue: 'platform:admin cannot be put in a token' }]);
    expect(asked.body.error.message).toMatch(/No personal access token can carry platform:admin/);
    const { secret } = await t.createPat(operator, ['org:admin']);
    expect((await request(t.app).get('/v1/me').set(as(secret))).body.scopes).toEqual(['org:admin']);
    expectError(await request(t.app).get('/v1/platform/organizations').set(as(secret)), 403, 'forbidden');
  });

  it('cannot be registered for an OAuth client', async () => {
    const refused = await request(t.app)
      .post('/v1/oauth-clients')
      .set(as(operator))
      .send({ name: 'Operator app', client_type: 'public', redirect_uris: [REDIRECT], scopes: ['findings:read', 'platform:admin'] });
    expectError(refused, 422, 'validation_failed');
    expect(refused.body.error.details).toEqual([{ field: 'body.scopes', issue: expect.stringContaining('platform:admin') }]);
    const listed = await request(t.app).get('/v1/oauth-clients?limit=200').set(as(operator));
    expect(listed.body.data.map((c: { name: string }) => c.name)).not.toContain('Operator app');
  });

  it('cannot be granted by OAuth consent', async () => {
    const client = await registerClient(t.app, operator, { client_type: 'public', scopes: ['findings:read'] });
    for (const scope of ['platform:admin', 'findings:read platform:admin']) {
      const refused = await consentRedirect(client, operator, scope);
      expect(refused.searchParams.get('error')).toBe('invalid_scope');
      expect(refused.searchParams.get('code')).toBeNull();
    }
    const tokens = await oauthTokens(client, operator);
    expect(tokens.scope).toBe('findings:read');
    expect((await request(t.app).get('/v1/me').set(as(tokens.access_token))).body.scopes).toEqual(['findings:read']);
    expectError(await request(t.app).get('/v1/platform/organizations').set(as(tokens.access_token)), 403, 'forbidden');
  });
});

describe('POST /auth/signup', () => {
  it('creates an organization and logs its owner in, at most RATE_LIMIT_SIGNUP_PER_HOUR times per IP', async () => {
    const signup = (n: number) =>
      request(t.app).post('/auth/signup').send({ organization_name: `Self ${n}`, slug: `self-${n}`, username: `self-${n}@example.com`, password: PASSWORD });
    const first = await signup(1);
    expect(first.status).toBe(201);
    expect(first.headers['set-cookie']?.[0]).toMatch(/^fourfold_session=/);
    expect(first.body).toMatchObject({ organization: { id: expect.stringMatching(/^org_/), name: 'Self 1' }, user_id: expect.stringMatching(/^usr_/), token_type: 'bearer' });
    const me = await request(t.app).get('/v1/me').set(as(first.body.access_token));
    expect(me.body).toMatchObject({ role: 'owner', organization: { id: first.body.organization.id } });
    expect(me.body.scopes).not.toContain('platform:admin');

    expectError(await signup(1), 409, 'slug_taken');
    expect((await signup(2)).status).toBe(201);
    const limited = await signup(3);
    expectError(limited, 429, 'rate_limited');
    expect(limited.headers['retry-after']).toEqual(expect.any(String));
    expect((await request(t.app).get('/v1/platform/organizations?limit=200').set(as(operator))).body.data.map((o: { slug: string }) => o.slug)).not.toContain('self-3');
  });

  it('answers 404 where the configuration has not switched it on', async () => {
    const closed = await startTestApp({}, { sharing: t });
    const response = await request(closed.app).post('/auth/signup').send({ organization_name: 'No', slug: 'no', username: 'no@example.com', password: PASSWORD });
    expectError(response, 404, 'not_found');
    expect(response.body.error.message).toContain('not enabled');
  });

  it('refuses, like adding a member, a username PLATFORM_ADMINS keeps for an operator no user holds yet', async () => {
    // Whoever took the name first would be a platform operator.
    const open = await startTestApp({ PLATFORM_ADMINS: 'future-operator', SIGNUP_ENABLED: 'true', RATE_LIMIT_SIGNUP_PER_HOUR: '1000' }, { sharing: t });
    const signup = await request(open.app).post('/auth/signup').send({ organization_name: 'Grab', slug: 'grab', username: 'Future-Operator', password: PASSWORD });
    expectError(signup, 409, 'username_taken');
    const tenant = await createTenant('Grabbing Co');
    expectError(await request(open.app).post('/v1/members').set(as(tenant.token)).send({ username: 'future-operator', role: 'viewer', password: PASSWORD }), 409, 'username_taken');
    // An operator may create it, as the first owner of an organization.
    const created = await request(t.app).post('/v1/platform/organizations').set(as(operator)).send({ name: 'Ops', slug: 'ops', owner: { username: 'future-operator', password: PASSWORD } });
    expect(created.status).toBe(201);
    expect((await request(open.app).get('/v1/me').set(as(await logInAs(open.app, 'future-operator', PASSWORD)))).body.scopes).toContain('platform:admin');
    await open.close();
  });
});

/** Rows per table (of those with an organization_id column, found in the catalogue) of one organization. */
async function rowsOf(organizationId: string): Promise<Record<string, number>> {
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.columns
    where column_name = 'organization_id' and table_schema = current_schema()
    order by table_name`.execute(t.db);
  expect(tables.rows.length).toBeGreaterThanOrEqual(13);
  const counts: Record<string, number> = {};
  for (const { table_name } of tables.rows) {
    const result = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table_name)} where organization_id = ${organizationId}`.execute(t.db);
    if (result.rows[0]!.n > 0) counts[table_name] = result.rows[0]!.n;
  }
  return counts;
}

function authorizeParams(client: RegisteredClient, challenge: string, scope = 'findings:read') {
  return { response_type: 'code', client_id: client.id, redirect_uri: REDIRECT, scope, state: 'state-1', code_challenge: challenge, code_challenge_method: 'S256' };
}

const verifiers = new Map<string, string>();
async function authorizationCode(client: RegisteredClient, session: string): Promise<string> {
  const { verifier, challenge } = pkce();
  const location = await consent(t.app, session, authorizeParams(client, challenge));
  const code = location.searchParams.get('code')!;
  verifiers.set(code, verifier);
  return code;
}

function exchange(client: RegisteredClient, code: string) {
  return tokenRequest(t.app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: client.id, code_verifier: verifiers.get(code) });
}

async function oauthTokens(client: RegisteredClient, session: string) {
  const response = await exchange(client, await authorizationCode(client, session));
  expect(response.status).toBe(200);
  return response.body as { access_token: string; refresh_token: string; scope: string };
}

/** Approves the consent page for `scope` (or meets the error redirect before it); answers where the browser is sent. */
async function consentRedirect(client: RegisteredClient, session: string, scope: string): Promise<URL> {
  const params = authorizeParams(client, pkce().challenge, scope);
  const page = await getAuthorize(t.app, session, params);
  if (page.status === 303 || page.status === 302) return new URL(page.headers.location as string);
  const approved = await request(t.app)
    .post('/oauth/authorize')
    .set('Host', HOST)
    .set('Origin', ORIGIN)
    .set('Cookie', `fourfold_session=${session}`)
    .type('form')
    .send({ ...params, csrf_token: /name="csrf_token" value="([^"]+)"/.exec(page.text)?.[1] ?? '', decision: 'approve' });
  return new URL(approved.headers.location as string);
}
