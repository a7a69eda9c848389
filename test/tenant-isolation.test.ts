import fs from 'node:fs';
import type { OpenAPIV3_1 } from 'openapi-types';
import path from 'node:path';
import request from 'supertest';
import type { Operation } from '../src/http/operations';
import { newId } from '../src/ids';
import { as, logInAs, OWNER, useTestApp } from './support/app';
import { runAuditThroughHttp } from './support/audits';
import { until } from './support/deliveries';
import { expectError } from './support/expectations';
import { consent, pkce, registerClient, tokenRequest } from './support/oauth';
import { expectAsSpecified, operationObject, SPEC, requestExample, requiredQuery, resolved, specOperations } from './support/spec-conformance';

// Driven by the spec: a second organization tries every id of the first on every operation that
// takes one (in its path, its query or its body), and is answered exactly as for an id that never
// existed: 404 on a path, never the object, never a 403 that tells it exists, never a 500.

const native = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'inventory', 'native.json'), 'utf8')) as { resources: object[] };
const PASSWORD = 'tenant-password-0123456789';
const TENANT = '8c3dad1d-0000-4000-8000-00000000000a';
const APP = '0b7c0c8e-1d2f-4a3b-8c4d-5e6f7a8b9c0d';
const KEY = '0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b';
const REDIRECT = 'https://app.example.com/callback';

const credentials = [
  {
    type: 'azuread_application_password',
    native_id: `/applications/${APP}/password/${KEY}`,
    name: 'prod',
    attributes: { application_id: `/applications/${APP}`, application_object_id: APP, key_id: KEY, end_date: '2026-12-20T00:00:00Z' },
  },
  {
    type: 'azurerm_key_vault_secret',
    native_id: 'https://payments-kv.vault.azure.net/secrets/prod-client-secret',
    name: 'prod-client-secret',
    tags: { 'key-id': KEY },
    attributes: { name: 'prod-client-secret', versionless_id: 'https://payments-kv.vault.azure.net/secrets/prod-client-secret' },
  },
].map((r) => ({ provider: 'azure', region: null, relationships: [], tags: {}, ...r }));

// The clouds are a closed local port: the scan and the sync run the fixture starts fail at once.
const CLOSED = 'http://127.0.0.1:9';
const t = useTestApp(
  {
    PLATFORM_ADMINS: OWNER.username,
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1:9',
    DISCOVERY_AWS_ENDPOINT: CLOSED,
    DISCOVERY_AZURE_AUTHORITY_HOST: CLOSED,
    DISCOVERY_AZURE_RESOURCE_MANAGER_ENDPOINT: CLOSED,
    DISCOVERY_AZURE_KEY_VAULT_ENDPOINT: CLOSED,
    DISCOVERY_AZURE_GRAPH_ENDPOINT: CLOSED,
    DISCOVERY_GCP_ENDPOINT: CLOSED,
  }, { workers: true });

/** The first organization's objects, by the noun their ids are: `account`, `syncRun`, … */
const a: Record<string, string> = {};
let owner: string;
let other: string;
let otherUserId: string;

beforeAll(async () => {
  owner = await t.ownerToken();
  const post = async (url: string, body: object, status = 201) => {
    const response = await request(t.app).post(url).set(as(owner)).send(body);
    if (response.status !== status) throw new Error(`POST ${url} answered ${response.status}: ${response.text}`);
    expectAsSpecified(response);
    // A Location names the object made, which can be read there.
    if (response.headers.location) expect({ url, location: (await request(t.app).get(response.headers.location).set(as(owner))).status }).toEqual({ url, location: 200 });
    return response.body;
  };
  const tenant = await post('/v1/platform/organizations', { name: 'Other Co', slug: 'other-co', owner: { username: 'other@example.com', password: PASSWORD } });
  a.organization = (await request(t.app).get('/v1/me').set(as(owner))).body.organization.id;
  expect(tenant.organization.id).not.toBe(a.organization);
  other = await logInAs(t.app, 'other@example.com', PASSWORD);
  otherUserId = (await request(t.app).get('/v1/me').set(as(other))).body.user.id;
  // Both on the plan with every feature, so that each request reaches the lookup of its ids.
  await t.db.updateTable('organizations').set({ plan: 'enterprise' }).execute();

  a.account = (await post('/v1/accounts', { provider: 'aws', external_id: '123456789012', name: 'aws-prod' })).id;
  await request(t.app)
    .put(`/v1/accounts/${a.account}/connection`)
    .set(as(owner))
    .send({ kind: 'aws_access_key', access_key_id: 'AKIAISOLATION0000001', secret_access_key: 'aws-secret-access-key-isolation', audit_after_scan: false })
    .expect(200);
  a.azureAccount = (await post('/v1/accounts', { provider: 'azure', external_id: '5f1c9a52-0000-4000-8000-000000000001', name: 'azure-prod' })).id;
  await request(t.app)
    .put(`/v1/accounts/${a.azureAccount}/connection`)
    .set(as(owner))
    .send({ kind: 'azure_service_principal', tenant_id: TENANT, client_id: '3f0e3a1b-0000-4000-8000-0000000000c1', client_secret: 'azure-client-secret-value', audit_after_scan: false })
    .expect(200);
  a.import = (await post(`/v1/accounts/${a.account}/imports?format=native&mode=full`, native)).id;
  await post(`/v1/accounts/${a.azureAccount}/imports?format=native&mode=full`, { resources: credentials });
  a.scan = (await post(`/v1/accounts/${a.account}/scans`, { mode: 'full' }, 202)).id;

  a.policy = (await post('/v1/policies', requestExample(operation('createPolicy'))!)).id;
  a.audit = (await runAuditThroughHttp(t.app, owner, { mode: 'full' })).id;
  a.resource = (await request(t.app).get(`/v1/resources?account_id=${a.account}&limit=1`).set(as(owner))).body.data[0].id;
  a.finding = (await request(t.app).get('/v1/findings?limit=1').set(as(owner))).body.data[0].id;
  a.report = (await post('/v1/reports', { type: 'executive_summary', format: 'json' }, 202)).id;

  const azure = (await request(t.app).get(`/v1/resources?account_id=${a.azureAccount}`).set(as(owner))).body.data as { id: string; name: string }[];
  a.credential = azure.find((r) => r.name === 'prod')!.id;
  a.store = azure.find((r) => r.name === 'prod-client-secret')!.id;
  await post('/v1/credential-link-proposals', {}, 200);
  a.credentialLink = (await request(t.app).get(`/v1/resources/${a.credential}/credential-links`).set(as(owner))).body.data[0].id;
  a.rotationPolicy = (await post('/v1/rotation-policies', { name: 'Payments', selector: { resource_ids: [a.credential] }, days_before_expiry: 30 })).id;
  a.rotation = newId('rot');
  await t.db
    .insertInto('rotations')
    .values({
      id: a.rotation,
      organization_id: a.organization!,
      account_id: a.azureAccount!,
      application_id: APP,
      key_id: KEY,
      key_vault_secrets: JSON.stringify([]),
      lifetime_days: 90,
      overlap_hours: 24,
      status: 'failed',
      steps: JSON.stringify([]),
      created_at: new Date(),
      finished_at: new Date(),
    })
    .execute();

  a.webhookEndpoint = (await post('/v1/webhook-endpoints', { ...requestExample(operation('createWebhookEndpoint')), url: 'http://127.0.0.1:9/hook' })).id;
  a.alertRule = (await post('/v1/alert-rules', { ...requestExample(operation('createAlertRule')), delivery_method: 'webhook', recipients: undefined, webhook_endpoint_id: a.webhookEndpoint })).id;
  a.delivery = (await post(`/v1/alert-rules/${a.alertRule}/test`, {}, 202)).id;
  a.sync = (
    await post('/v1/syncs', {
      name: 'Payments to AWS',
      source: { account_id: a.azureAccount, vault_name: 'kv-payments', name_pattern: 'payments-*' },
      targets: [{ account_id: a.account, service: 'aws_secrets_manager', region: 'eu-central-1' }],
    })
  ).id;
  a.syncRun = (await post(`/v1/syncs/${a.sync}/run`, {}, 202)).id;

  a.member = (await post('/v1/members', { username: 'viewer@example.com', role: 'viewer' })).user_id;
  a.token = (await t.createPat(owner, ['findings:read'])).id;
  const client = await registerClient(t.app, owner, { client_type: 'public', redirect_uris: [REDIRECT] });
  a.oauthClient = client.id;
  const { verifier, challenge } = pkce();
  const redirect = await consent(t.app, owner, {
    response_type: 'code',
    client_id: client.id,
    redirect_uri: REDIRECT,
    scope: 'findings:read',
    state: 's',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  await tokenRequest(t.app, { grant_type: 'authorization_code', code: redirect.searchParams.get('code')!, redirect_uri: REDIRECT, client_id: client.id, code_verifier: verifier }).expect(200);
  a.authorization = (await request(t.app).get('/v1/authorizations').set(as(owner))).body.data[0].id;
  a.session = (await request(t.app).get('/v1/me/sessions').set(as(owner))).body.data[0].id;
  // Settle the background work the fixture started, so that no answer below races it.
  await until('the first organization has no queued work', async () => {
    const pending = await t.db.selectFrom('scans').select('id').where('status', 'in', ['queued', 'running']).executeTakeFirst();
    return pending ? undefined : true;
  });
}, 180_000);

function operation(operationId: string) {
  const found = specOperations().find((o) => o.operationId === operationId);
  if (!found) throw new Error(`no operation ${operationId} in the spec`);
  return found;
}

/** Which of the first organization's objects a path parameter names, by the path's first noun. */
const OBJECT_OF_PATH: Record<string, string> = {
  members: 'member',
  me: 'session',
  accounts: 'account',
  scans: 'scan',
  rotations: 'rotation',
  'rotation-policies': 'rotationPolicy',
  imports: 'import',
  resources: 'resource',
  'credential-links': 'credentialLink',
  tokens: 'token',
  'alert-rules': 'alertRule',
  deliveries: 'delivery',
  syncs: 'sync',
  'webhook-endpoints': 'webhookEndpoint',
  'oauth-clients': 'oauthClient',
  authorizations: 'authorization',
  audits: 'audit',
  findings: 'finding',
  policies: 'policy',
  reports: 'report',
};
const OBJECT_OF_PARAMETER: Record<string, string> = { run_id: 'syncRun' };
/** Path parameters that name no organization's object: the catalogue's, and the platform operator's. */
const NOT_TENANT_DATA = new Set(['/v1/rules/{id}', '/v1/compliance/frameworks/{id}', '/v1/platform/organizations/{id}']);

const withIds = specOperations().filter((o) => o.path.includes('{') && !NOT_TENANT_DATA.has(o.path));

function concretePath(template: string, ids: Record<string, string>): string {
  const noun = template.split('/')[2]!;
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const object = OBJECT_OF_PARAMETER[name] ?? OBJECT_OF_PATH[noun];
    if (!object || !ids[object]) throw new Error(`${template}: no object of the first organization for {${name}}; add one to the fixture`);
    return ids[object]!;
  });
}

/** An id of the same kind as each of `ids` that no organization holds. */
function unknownIds(ids: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(ids).map(([object, id]) => [object, newId(id.slice(0, id.indexOf('_')) as never)]));
}

function send(op: Operation, url: string, token: string, body: object | undefined) {
  const call = request(t.app)[op.method as 'get'](url).query(requiredQuery(op)).set(as(token));
  return body === undefined ? call : call.send(body);
}

it('finds the operations that take an id in their path', () => {
  expect(withIds.length).toBeGreaterThanOrEqual(50);
});

describe.each(withIds.map((o) => [`${o.method.toUpperCase()} ${o.path}`, o] as const))('%s', (_name, op) => {
  it("answers another organization's id with 404, as it answers an id that never existed", async () => {
    const body = op.method === 'get' || op.method === 'delete' ? undefined : (requestExample(op) ?? {});
    const url = concretePath(op.path, a);
    const theirs = await send(op, url, other, body);
    expectError(theirs, 404, 'not_found');
    expectAsSpecified(theirs);
    const unknown = await send(op, concretePath(op.path, unknownIds(a)), other, body);
    expect({ status: unknown.status, code: unknown.body.error?.code }).toEqual({ status: 404, code: 'not_found' });
    expect(theirs.body.error.message.replace(/\w+_[0-9A-HJKMNP-TV-Z]{26}/g, 'ID')).toBe(unknown.body.error.message.replace(/\w+_[0-9A-HJKMNP-TV-Z]{26}/g, 'ID'));
  });
});

it('leaves every object of the first organization as it was', async () => {
  for (const op of withIds.filter((o) => o.method === 'get')) {
    const url = concretePath(op.path, a);
    const response = await request(t.app).get(url).set(as(owner));
    expectAsSpecified(response);
    // A report still being generated has no download yet (409); everything else answers 200.
    expect({ url, status: response.status === 409 ? 200 : response.status }).toEqual({ url, status: 200 });
  }
});

// Ids inside queries and bodies: every id the spec's examples show (a query parameter's example,
// or an id in a request example) is replaced by the first organization's object of that kind.

const ID = /^([a-z]+)_[0-9A-HJKMNP-TV-Z]{26}$/;
const OBJECT_OF_PREFIX: Record<string, string> = {
  acc: 'account',
  res: 'resource',
  aud: 'audit',
  pol: 'policy',
  fnd: 'finding',
  whe: 'webhookEndpoint',
  alr: 'alertRule',
  syn: 'sync',
  rpt: 'report',
  rot: 'rotation',
  scn: 'scan',
  dlv: 'delivery',
};
/** Where the kind of object a field names is narrower than its id's prefix says. */
const OBJECT_OF_FIELD: Record<string, string> = {
  credential_id: 'credential',
  credential_resource_id: 'credential',
  store_resource_id: 'store',
  'source.account_id': 'azureAccount',
};

/** `value` with each example id in it replaced by `ids`' object of that kind; `replaced` counts them. */
function substituted(value: unknown, ids: Record<string, string>, replaced: { count: number }, field = ''): unknown {
  if (typeof value === 'string') {
    const prefix = ID.exec(value)?.[1];
    const object = OBJECT_OF_FIELD[field] ?? OBJECT_OF_FIELD[field.split('.').pop()!] ?? (prefix ? OBJECT_OF_PREFIX[prefix] : undefined);
    if (!object) return value;
    replaced.count++;
    return ids[object];
  }
  // One object stands for every example id of its kind: a list names it once.
  if (Array.isArray(value)) return [...new Set(value.map((item) => substituted(item, ids, replaced, field)))];
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substituted(item, ids, replaced, field ? `${field}.${key}` : key)]));
  }
  return value;
}

const SOME = (prefix: string) => `${prefix}_01JD8X3N5W6Q2R4T7Y9ZABCDEF`;
/** Ids a request may carry that no example of the spec shows. */
const BODIES_NO_EXAMPLE_SHOWS: Record<string, Record<string, object>> = {
  createAlertRule: {
    webhook: { name: 'Hook', alert_type: 'finding_opened', delivery_method: 'webhook', webhook_endpoint_id: SOME('whe') },
    filters: { name: 'Filtered', alert_type: 'finding_opened', delivery_method: 'webhook', webhook_endpoint_id: SOME('whe'), filters: { policy_ids: [SOME('pol')], account_ids: [SOME('acc')] } },
  },
  createRotationPolicy: {
    resources: { name: 'By id', selector: { resource_ids: [SOME('res')] }, days_before_expiry: 30 },
    accounts: { name: 'By account', selector: { account_ids: [SOME('acc')] }, days_before_expiry: 30 },
  },
  createPolicy: {
    scoped: { kind: 'override', name: 'Scoped', override: { rule_id: 'aws.s3.bucket_public_read', severity: 'critical', scope: { account_ids: [SOME('acc')] } } },
  },
  createReport: { accounts: { type: 'remediation_plan', format: 'json', filters: { account_ids: [SOME('acc')] } } },
  testPolicy: { stored: { policy_id: SOME('pol') } },
};

interface IdCase {
  name: string;
  op: Operation;
  url: string;
  query: Record<string, unknown>;
  body: unknown;
}

/** The cases of an operation without path parameters of the organization's: one per id-bearing query parameter, one per id-bearing request example. */
function idCases(op: Operation): IdCase[] {
  const object = operationObject(op);
  const url = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const parameter = [...(SPEC.paths![op.path]!.parameters ?? []), ...(object.parameters ?? [])].map((p) => resolved<OpenAPIV3_1.ParameterObject>(p)).find((p) => p.in === 'path' && p.name === name);
    const schema = parameter?.schema ? resolved<OpenAPIV3_1.SchemaObject>(parameter.schema) : {};
    return String(parameter?.example ?? schema.examples?.[0] ?? schema.enum?.[0]);
  });
  const cases: IdCase[] = [];
  for (const parameter of (object.parameters ?? []).map((p) => resolved<OpenAPIV3_1.ParameterObject>(p))) {
    if (parameter.in !== 'query') continue;
    const schema = parameter.schema ? resolved<OpenAPIV3_1.SchemaObject>(parameter.schema) : {};
    const prefix = ID.exec(String(parameter.example))?.[1] ?? /^\^([a-z]+)_/.exec(schema.pattern ?? '')?.[1];
    if (prefix && OBJECT_OF_PREFIX[prefix]) cases.push({ name: `?${parameter.name}=`, op, url, query: { [parameter.name]: `${prefix}_ID` }, body: undefined });
  }
  const content = object.requestBody ? resolved<OpenAPIV3_1.RequestBodyObject>(object.requestBody).content['application/json'] : undefined;
  const examples = content?.examples ? Object.entries(content.examples).map(([name, e]) => [name, resolved<OpenAPIV3_1.ExampleObject>(e).value] as const) : [];
  if (content?.example !== undefined) examples.push(['example', content.example]);
  for (const [name, value] of Object.entries(BODIES_NO_EXAMPLE_SHOWS[op.operationId] ?? {})) examples.push([name, value]);
  for (const [name, value] of examples) {
    const replaced = { count: 0 };
    substituted(value, a, replaced);
    if (replaced.count > 0) cases.push({ name: `body "${name}"`, op, url, query: {}, body: value });
  }
  return cases;
}

/** Sends `c` as the second organization with the ids of `ids` in it. */
function queryOf(c: IdCase, ids: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(c.query).map(([name, value]) => [name, ids[OBJECT_OF_PREFIX[String(value).split('_')[0]!]!]!]));
}

function sendCase(c: IdCase, ids: Record<string, string>) {
  const query = queryOf(c, ids);
  const call = request(t.app)[c.op.method as 'get'](c.url).query({ ...requiredQuery(c.op), ...query }).set(as(other));
  return c.body === undefined ? call : call.send(substituted(c.body, ids, { count: 0 }) as object);
}

const bodyAndQueryCases = specOperations()
  .filter((o) => o.path.startsWith('/v1/') && (!o.path.includes('{') || NOT_TENANT_DATA.has(o.path)) && !o.path.startsWith('/v1/platform/'))
  .flatMap(idCases);

it('finds operations taking ids in their query or body', () => {
  expect(bodyAndQueryCases.length).toBeGreaterThanOrEqual(20);
});

it.each(bodyAndQueryCases.map((c) => [`${c.op.method.toUpperCase()} ${c.url} ${c.name}`, c] as const))(
  "%s answers another organization's id as it answers an id that never existed",
  async (_name, c) => {
    const unknown = await sendCase(c, unknownIds(a));
    const theirs = await sendCase(c, a);
    expectAsSpecified(theirs);
    expect(theirs.status).toBeLessThan(500);
    // The audit log holds the caller's own requests, among them those above that named the first organization's ids.
    const ownLog = c.op.operationId === 'listAuditLogEntries';
    const outcome = (r: request.Response) => ({ status: r.status, code: r.body?.error?.code, data: Array.isArray(r.body?.data) && !ownLog ? r.body.data : undefined });
    expect(outcome(theirs)).toEqual(outcome(unknown));
    if (ownLog) for (const entry of theirs.body.data as { actor: { user_id: string } }[]) expect(entry.actor.user_id).toBe(otherUserId);
    // Nothing of the first organization comes back, but the ids the request itself named.
    const named = JSON.stringify([queryOf(c, a), substituted(c.body, a, { count: 0 })]);
    for (const id of Object.values(a).filter((id) => !named.includes(id))) expect(theirs.text).not.toContain(id);
  },
);

it('answers the first organization as the spec says on every GET that needs no id', async () => {
  // The authorization endpoint needs a client's request: the OAuth tests drive it.
  const gets = specOperations().filter((o) => o.method === 'get' && !o.path.includes('{') && o.path !== '/oauth/authorize');
  expect(gets.length).toBeGreaterThanOrEqual(30);
  for (const op of gets) {
    const response = await request(t.app).get(op.path).query(requiredQuery(op)).set(as(owner));
    expect({ path: op.path, status: response.status < 300 ? 'success' : response.status }).toEqual({ path: op.path, status: 'success' });
    expectAsSpecified(response);
  }
});

describe("the second organization's own objects changed to name the first's", () => {
  const own: Record<string, string> = {};
  beforeAll(async () => {
    const create = async (url: string, body: object) => {
      const response = await request(t.app).post(url).set(as(other)).send(body);
      if (response.status !== 201) throw new Error(`POST ${url} answered ${response.status}: ${response.text}`);
      return response.body.id as string;
    };
    own.webhookEndpoint = await create('/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/other', event_types: ['finding_opened'] });
    own.alertRule = await create('/v1/alert-rules', { name: 'Own', alert_type: 'finding_opened', delivery_method: 'webhook', webhook_endpoint_id: own.webhookEndpoint });
    own.rotationPolicy = await create('/v1/rotation-policies', { name: 'Own', selector: { tags: { team: 'other' } }, days_before_expiry: 30 });
    own.policy = await create('/v1/policies', { kind: 'override', name: 'Own override', override: { rule_id: 'aws.s3.bucket_public_read', severity: 'critical' } });
  });

  it.each([
    ['/v1/alert-rules', 'alertRule', (ids: Record<string, string>) => ({ webhook_endpoint_id: ids.webhookEndpoint })],
    ['/v1/alert-rules', 'alertRule', (ids: Record<string, string>) => ({ filters: { policy_ids: [ids.policy], account_ids: [ids.account] } })],
    ['/v1/rotation-policies', 'rotationPolicy', (ids: Record<string, string>) => ({ selector: { resource_ids: [ids.credential], account_ids: [ids.azureAccount] } })],
    ['/v1/policies', 'policy', (ids: Record<string, string>) => ({ override: { rule_id: 'aws.s3.bucket_public_read', severity: 'critical', scope: { account_ids: [ids.account] } } })],
  ])('PATCH %s/{id} answers as for ids that never existed', async (base, object, change) => {
    const patch = (ids: Record<string, string>) => request(t.app).patch(`${base}/${own[object]}`).set(as(other)).send(change(ids));
    const unknown = await patch(unknownIds(a));
    const theirs = await patch(a);
    expectAsSpecified(theirs);
    expect({ status: theirs.status, code: theirs.body.error?.code }).toEqual({ status: unknown.status, code: unknown.body.error?.code });
  });
});
