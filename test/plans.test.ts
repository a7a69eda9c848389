import { generateKeyPairSync } from 'node:crypto';
import type { OpenAPIV3_1 } from 'openapi-types';
import request from 'supertest';
import { ConfigError, loadConfig } from '../src/config';
import { loadOpenApiDocument } from '../src/http/openapi-document';
import { issueLicense } from '../src/plans/license';
import { assertPlanLimit } from '../src/plans/plans.service';
import { as, logInAs, OWNER, startTestApp, useTestApp, type TestApp } from './support/app';
import { expectError } from './support/expectations';

const PASSWORD = 'tenant-password-0123456789';
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const DAY = 86_400_000;

// A copy of the spec in which creating an account is a `pro` feature (`sync`), as the gated
// operations of rotation and sync will be: the guard works from the spec alone.
function gatedDocument(): OpenAPIV3_1.Document {
  const document = structuredClone(loadOpenApiDocument().document);
  Object.assign(document.paths!['/v1/accounts']!.post!, { 'x-required-plan': 'pro', 'x-plan-feature': 'sync' });
  return document;
}

// The owner is a platform operator, so that the tests can change plans through the API.
const t = useTestApp({ PLATFORM_ADMINS: OWNER.username }, { document: gatedDocument() });
let operator: string;
beforeAll(async () => {
  operator = await t.ownerToken();
});

let tenants = 0;
async function createTenant(app: TestApp = t) {
  const slug = `plans-${++tenants}`;
  const username = `owner-${slug}@example.com`;
  const response = await request(app.app).post('/v1/platform/organizations').set(as(operator)).send({ name: slug, slug, owner: { username, password: PASSWORD } });
  expect(response.status).toBe(201);
  return { id: response.body.organization.id as string, token: await logInAs(app.app, username, PASSWORD) };
}

const setPlan = (organizationId: string, plan: object) => request(t.app).patch(`/v1/platform/organizations/${organizationId}`).set(as(operator)).send({ plan });
const entitlementsOf = (token: string, app: TestApp = t) => request(app.app).get('/v1/organization/entitlements').set(as(token));

/** Connects an AWS account with an access key pair (nothing reaches AWS): it counts as a connected account. */
function connect(token: string, accountId: string) {
  return request(t.app)
    .put(`/v1/accounts/${accountId}/connection`)
    .set(as(token))
    .send({ kind: 'aws_access_key', access_key_id: 'AKIAIOSFODNN7EXAMPLE', secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' });
}

describe('GET /v1/organization/entitlements', () => {
  it('answers starter by default: its features on, rotation automation and sync off, and each limit with its usage', async () => {
    const tenant = await createTenant();
    const response = await entitlementsOf(tenant.token);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      plan: 'starter',
      granted_plan: 'starter',
      source: 'organization',
      expires_at: null,
      expired: false,
      notice: null,
      features: {
        inventory: { enabled: true, required_plan: 'starter' },
        audits: { enabled: true, required_plan: 'starter' },
        policies: { enabled: true, required_plan: 'starter' },
        reports: { enabled: true, required_plan: 'starter' },
        alerts: { enabled: true, required_plan: 'starter' },
        audit_log: { enabled: true, required_plan: 'starter' },
        rotation: { enabled: true, required_plan: 'starter' },
        automatic_rotation: { enabled: false, required_plan: 'pro' },
        sync: { enabled: false, required_plan: 'pro' },
      },
      limits: { connected_accounts: { limit: 4, usage: 0 }, rotations_per_month: { limit: 3, usage: 0 } },
    });
  });

  it('follows a platform operator: pro lifts the limits; once it expires starter is in force again, says so, and nothing is deleted', async () => {
    const tenant = await createTenant();
    const expiresAt = new Date(Date.now() + 30 * DAY).toISOString();
    const patched = await setPlan(tenant.id, { name: 'pro', expires_at: expiresAt });
    expect(patched.status).toBe(200);
    expect(patched.body.plan).toEqual({ name: 'pro', expires_at: expiresAt });

    const created = await request(t.app).post('/v1/accounts').set(as(tenant.token)).send({ provider: 'aws', external_id: '123456789012', name: 'prod' });
    expect(created.status).toBe(201);
    expect((await connect(tenant.token, created.body.id)).status).toBe(200);
    const pro = await entitlementsOf(tenant.token);
    expect(pro.body).toMatchObject({ plan: 'pro', granted_plan: 'pro', expires_at: expiresAt, expired: false, notice: null });
    expect(pro.body.features.sync).toEqual({ enabled: true, required_plan: 'pro' });
    expect(pro.body.limits).toEqual({ connected_accounts: { limit: null, usage: 1 }, rotations_per_month: { limit: null, usage: 0 } });

    const past = new Date(Date.now() - DAY).toISOString();
    expect((await setPlan(tenant.id, { name: 'pro', expires_at: past })).status).toBe(200);
    const lapsed = await entitlementsOf(tenant.token);
    expect(lapsed.body).toMatchObject({ plan: 'starter', granted_plan: 'pro', expires_at: past, expired: true });
    expect(lapsed.body.notice).toContain('expired');
    expect(lapsed.body.features.sync.enabled).toBe(false);
    expect(lapsed.body.limits.connected_accounts).toEqual({ limit: 4, usage: 1 });
    // The account made on pro is still there.
    expect((await request(t.app).get(`/v1/accounts/${created.body.id}`).set(as(tenant.token))).status).toBe(200);
  });

  it('refuses a plan that does not exist', async () => {
    const tenant = await createTenant();
    expectError(await setPlan(tenant.id, { name: 'platinum' }), 422, 'validation_failed');
  });
});

describe('the plan guard', () => {
  it('answers 403 plan_required, naming feature, required and current plan, to an operation marked x-required-plan; pro passes', async () => {
    const tenant = await createTenant();
    const body = { provider: 'aws', external_id: '210987654321', name: 'gated' };
    const refused = await request(t.app).post('/v1/accounts').set(as(tenant.token)).send(body);
    expectError(refused, 403, 'plan_required');
    expect(refused.body.error.details).toEqual([{ field: null, issue: expect.any(String), feature: 'sync', required_plan: 'pro', current_plan: 'starter' }]);
    expect((await request(t.app).get('/v1/accounts').set(as(tenant.token))).body.data).toEqual([]);

    await setPlan(tenant.id, { name: 'pro', expires_at: null });
    expect((await request(t.app).post('/v1/accounts').set(as(tenant.token)).send(body)).status).toBe(201);
    await setPlan(tenant.id, { name: 'enterprise' });
    expect((await request(t.app).post('/v1/accounts').set(as(tenant.token)).send({ ...body, external_id: '111111111111' })).status).toBe(201);
  });

  it('assertPlanLimit answers 403 plan_limit_reached at the fifth connected account on starter, and lets pro past', async () => {
    const tenant = await createTenant();
    await setPlan(tenant.id, { name: 'pro' });
    for (let i = 0; i < 4; i++) {
      const created = await request(t.app).post('/v1/accounts').set(as(tenant.token)).send({ provider: 'aws', external_id: `00000000000${i}`, name: `a${i}` });
      expect(created.status).toBe(201);
      expect((await connect(tenant.token, created.body.id)).status).toBe(200);
    }
    await t.db.transaction().execute((trx) => assertPlanLimit(trx, { license: undefined }, tenant.id, 'connected_accounts'));
    await setPlan(tenant.id, { name: 'starter' });
    const error = await t.db
      .transaction()
      .execute((trx) => assertPlanLimit(trx, { license: undefined }, tenant.id, 'connected_accounts'))
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: 'plan_limit_reached',
      details: [{ field: null, issue: '4 of at most 4', plan_limit: 'connected_accounts', limit: 4, usage: 4, current_plan: 'starter' }],
    });
    // A check that adds nothing (as a re-connection) is within the limit.
    await t.db.transaction().execute((trx) => assertPlanLimit(trx, { license: undefined }, tenant.id, 'connected_accounts', 0));
    const entitlements = await entitlementsOf(tenant.token);
    expect(entitlements.body.limits.connected_accounts).toEqual({ limit: 4, usage: 4 });
  });
});

describe('a signed licence (self-hosted)', () => {
  it('gives every organization its plan and limits', async () => {
    const license = issueLicense(PRIVATE_PEM, { plan: 'pro', expiresAt: new Date(Date.now() + 365 * DAY), limits: { connected_accounts: 50 }, licensee: 'Acme' });
    const app = await startTestApp({ FOURFOLD_LICENSE: license, FOURFOLD_LICENSE_PUBLIC_KEY: PUBLIC_PEM });
    try {
      const response = await entitlementsOf(await app.ownerToken(), app);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ plan: 'pro', granted_plan: 'pro', source: 'license', expired: false, notice: null });
      expect(response.body.limits).toEqual({ connected_accounts: { limit: 50, usage: 0 }, rotations_per_month: { limit: null, usage: 0 } });
    } finally {
      await app.close();
    }
  });

  it('falls back to starter once expired, and says so in the log and the entitlements', async () => {
    const license = issueLicense(PRIVATE_PEM, { plan: 'enterprise', expiresAt: new Date(Date.now() - DAY), limits: {}, licensee: 'Acme' });
    const app = await startTestApp({ FOURFOLD_LICENSE: license, FOURFOLD_LICENSE_PUBLIC_KEY: PUBLIC_PEM });
    try {
      const response = await entitlementsOf(await app.ownerToken(), app);
      expect(response.body).toMatchObject({ plan: 'starter', granted_plan: 'enterprise', source: 'license', expired: true });
      expect(response.body.notice).toContain("licence (enterprise) expired");
      expect(response.body.features.sync.enabled).toBe(false);
      expect(app.logs).toEqual(expect.arrayContaining([expect.objectContaining({ level: 40, licensed_plan: 'enterprise', plan: 'starter' })]));
    } finally {
      await app.close();
    }
  });

  it('refuses to start on a licence another key signed, a tampered one, or one without its public key', () => {
    const other = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const forged = issueLicense(other, { plan: 'enterprise', expiresAt: new Date(Date.now() + DAY), limits: {}, licensee: 'x' });
    expect(() => loadConfig({ FOURFOLD_LICENSE: forged, FOURFOLD_LICENSE_PUBLIC_KEY: PUBLIC_PEM })).toThrow(/FOURFOLD_LICENSE is not signed/);
    const genuine = issueLicense(PRIVATE_PEM, { plan: 'starter', expiresAt: new Date(Date.now() + DAY), limits: {}, licensee: 'x' });
    const [prefix, , signature] = genuine.split('.');
    const payload = Buffer.from(JSON.stringify({ plan: 'enterprise', expires_at: '2099-01-01T00:00:00Z', limits: {}, licensee: 'x' })).toString('base64url');
    expect(() => loadConfig({ FOURFOLD_LICENSE: `${prefix}.${payload}.${signature}`, FOURFOLD_LICENSE_PUBLIC_KEY: PUBLIC_PEM })).toThrow(ConfigError);
    expect(() => loadConfig({ FOURFOLD_LICENSE: genuine })).toThrow(/FOURFOLD_LICENSE_PUBLIC_KEY/);
    expect(loadConfig({ FOURFOLD_LICENSE: genuine, FOURFOLD_LICENSE_PUBLIC_KEY: PUBLIC_PEM }).license).toMatchObject({ plan: 'starter' });
  });
});
