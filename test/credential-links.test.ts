import request from 'supertest';
import { nameSimilarity, proposeLinks } from '../src/credential-links/credential-link-proposals';
import { insertOrganizationWithOwner } from '../src/organizations/organizations.service';
import { as, logInAs, useTestApp } from './support/app';
import { expectError } from './support/expectations';

const t = useTestApp();

const APP = '0b7c0c8e-1d2f-4a3b-8c4d-5e6f7a8b9c0d';
const CLIENT = '6a1f3c9e-2b4d-4e8f-9a0b-1c2d3e4f5a6b';
const KEY = '0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b';
const SUB = '/subscriptions/5f1c9a52-0000-4000-8000-000000000001/resourceGroups/payments/providers';
const SM_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ci/deployer-AbCdEf';

type Native = { type: string; native_id: string; name: string; tags?: Record<string, string>; attributes: Record<string, unknown> };

const azure: Native[] = [
  { type: 'azuread_application_password', native_id: `/applications/${APP}/password/${KEY}`, name: 'prod', attributes: { application_id: `/applications/${APP}`, application_object_id: APP, application_client_id: CLIENT, application_display_name: 'payments-api', key_id: KEY, end_date: '2026-12-20T00:00:00Z' } },
  // Tagged with the key id, and a similar name: a strong proposal.
  { type: 'azurerm_key_vault_secret', native_id: 'https://payments-kv.vault.azure.net/secrets/payments-api-client-secret', name: 'payments-api-client-secret', tags: { 'key-id': KEY }, attributes: { name: 'payments-api-client-secret', versionless_id: 'https://payments-kv.vault.azure.net/secrets/payments-api-client-secret', content_type: null } },
  // Its content type names the application's client id.
  { type: 'azurerm_key_vault_secret', native_id: 'https://payments-dr-kv.vault.azure.net/secrets/sp-login', name: 'sp-login', attributes: { name: 'sp-login', versionless_id: 'https://payments-dr-kv.vault.azure.net/secrets/sp-login', content_type: `client secret of ${CLIENT}` } },
  // Nothing in common.
  { type: 'azurerm_key_vault_secret', native_id: 'https://payments-kv.vault.azure.net/secrets/smtp-relay', name: 'smtp-relay', attributes: { name: 'smtp-relay', versionless_id: 'https://payments-kv.vault.azure.net/secrets/smtp-relay' } },
  {
    type: 'azurerm_linux_web_app', native_id: `${SUB}/Microsoft.Web/sites/payments-api`, name: 'payments-api',
    attributes: { app_settings: { AZURE_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=https://payments-kv.vault.azure.net/secrets/payments-api-client-secret/)', OTHER: 'plain' } },
  },
  {
    type: 'azurerm_linux_function_app', native_id: `${SUB}/Microsoft.Web/sites/payments-jobs`, name: 'payments-jobs',
    attributes: { app_settings: { SECRET: '@Microsoft.KeyVault(VaultName=PAYMENTS-KV;SecretName=payments-api-client-secret)' }, connection_string: [{ name: 'db', value: '@Microsoft.KeyVault(VaultName=payments-kv;SecretName=smtp-relay)' }] },
  },
  // Another vault's secret of the same name: not a reference to ours.
  { type: 'azurerm_windows_web_app', native_id: `${SUB}/Microsoft.Web/sites/other`, name: 'other', attributes: { app_settings: { S: '@Microsoft.KeyVault(SecretUri=https://other-kv.vault.azure.net/secrets/payments-api-client-secret/1)' } } },
];

const aws: Native[] = [
  { type: 'aws_iam_access_key', native_id: 'AKIAIOSFODNN7EXAMPLE', name: 'ci-deployer', attributes: { id: 'AKIAIOSFODNN7EXAMPLE', user: 'ci-deployer', status: 'Active' } },
  { type: 'aws_secretsmanager_secret', native_id: SM_ARN, name: 'ci/deployer', attributes: { arn: SM_ARN, name: 'ci/deployer' } },
  { type: 'aws_lambda_function', native_id: 'arn:aws:lambda:eu-west-1:123456789012:function:deploy', name: 'deploy', attributes: { environment: [{ variables: { DEPLOYER_SECRET: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ci/deployer' } }] } },
  {
    type: 'aws_ecs_task_definition', native_id: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3', name: 'web',
    attributes: { container_definitions: JSON.stringify([{ name: 'web', secrets: [{ name: 'TOKEN', valueFrom: `${SM_ARN}:token::` }] }]) },
  },
  // A secret whose name only starts like ours.
  { type: 'aws_lambda_function', native_id: 'arn:aws:lambda:eu-west-1:123456789012:function:other', name: 'other', attributes: { environment: [{ variables: { S: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ci/deployer-old-XyZ123' } }] } },
];

const gcp: Native[] = [
  { type: 'google_service_account_key', native_id: '//iam.googleapis.com/projects/acme-prod/serviceAccounts/payments-api@acme-prod.iam.gserviceaccount.com/keys/5c1f', name: '5c1f', attributes: { key_id: '5c1f', service_account_id: 'payments-api@acme-prod.iam.gserviceaccount.com', key_type: 'USER_MANAGED' } },
  { type: 'google_secret_manager_secret', native_id: 'projects/acme-prod/secrets/stripe-key', name: 'stripe-key', tags: { 'service-account': 'payments-api@acme-prod.iam.gserviceaccount.com' }, attributes: { secret_id: 'stripe-key', project: 'acme-prod' } },
  {
    type: 'google_cloud_run_v2_service', native_id: 'projects/acme-prod/locations/europe-west1/services/checkout', name: 'checkout',
    attributes: { template: [{ containers: [{ env: [{ name: 'STRIPE', value: 'stripe-key', value_source: [{ secret_key_ref: [{ secret: 'stripe-key', version: 'latest' }] }] }] }] }] },
  },
  {
    type: 'google_cloud_run_service', native_id: 'projects/acme-prod/locations/europe-west1/services/legacy', name: 'legacy',
    attributes: { template: [{ spec: [{ containers: [{ env: [{ name: 'STRIPE', value_from: [{ secret_key_ref: [{ name: 'projects/acme-prod/secrets/stripe-key', key: 'latest' }] }] }] }] }] }] },
  },
];

let owner: string;
const ids: Record<string, string> = {};

async function importInto(provider: string, externalId: string, resources: Native[]): Promise<void> {
  const account = await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider, external_id: externalId, name: externalId }).expect(201);
  const body = { resources: resources.map((r) => ({ provider, region: null, relationships: [], tags: {}, ...r })) };
  const imported = await request(t.app).post(`/v1/accounts/${account.body.id}/imports?format=native`).set(as(owner)).send(body);
  expect({ status: imported.status, problems: imported.body.problems ?? imported.body.error }).toEqual({ status: 201, problems: [] });
  const listed = await request(t.app).get(`/v1/resources?account_id=${account.body.id}&limit=200`).set(as(owner)).expect(200);
  for (const r of listed.body.data as { id: string; name: string }[]) ids[r.name] = r.id;
}

async function linksOf(resourceId: string, query = ''): Promise<{ store: { name: string }; credential: { name: string }; status: string; confidence: number; reasons: { kind: string; detail: string }[]; id: string }[]> {
  return (await request(t.app).get(`/v1/resources/${resourceId}/credential-links${query}`).set(as(owner)).expect(200)).body.data;
}

beforeAll(async () => {
  owner = await t.ownerToken();
  await importInto('azure', '5f1c9a52-0000-4000-8000-000000000001', azure);
  await importInto('aws', '123456789012', aws);
  await importInto('gcp', 'acme-prod', gcp);
});

describe('credential link proposals', () => {
  it('proposes the store entries holding each credential, with a confidence and the reasons, and nothing else', async () => {
    const first = await request(t.app).post('/v1/credential-link-proposals').set(as(owner)).expect(200);
    expect(first.body).toEqual({ proposed: 4, updated: 0, withdrawn: 0, unchanged: 0 });

    const entra = await linksOf(ids.prod!);
    expect(entra.map((l) => [l.store.name, l.status])).toEqual([['payments-api-client-secret', 'proposed'], ['sp-login', 'proposed']]);
    const tagged = entra[0]!;
    expect(tagged.reasons.map((r) => r.kind)).toEqual(['tag', 'name_similarity']);
    expect(tagged.reasons[0]!.detail).toContain(`key-id=${KEY}`);
    expect(tagged.confidence).toBeGreaterThan(0.95);
    expect(entra[1]).toMatchObject({ confidence: 0.6, reasons: [{ kind: 'content_type', detail: expect.stringContaining("application's client id") }] });
    // The same links on the store's side.
    expect((await linksOf(ids['payments-api-client-secret']!)).map((l) => l.credential.name)).toEqual(['prod']);
    expect(await linksOf(ids['smtp-relay']!)).toEqual([]);

    // IAM user and secret share their words; the service account is named in a tag.
    expect((await linksOf(ids['ci-deployer']!)).map((l) => [l.store.name, l.reasons.map((r) => r.kind)])).toEqual([['ci/deployer', ['name_similarity']]]);
    expect((await linksOf(ids['5c1f']!)).map((l) => [l.store.name, l.confidence])).toEqual([['stripe-key', 0.7]]);

    // A second run changes nothing.
    const again = await request(t.app).post('/v1/credential-link-proposals').set(as(owner)).expect(200);
    expect(again.body).toEqual({ proposed: 0, updated: 0, withdrawn: 0, unchanged: 4 });
  });

  it('keeps a person\'s decision: confirmed and rejected links survive later proposals, and filter by status', async () => {
    const [tagged, byContentType] = await linksOf(ids.prod!);
    const confirmed = await request(t.app).patch(`/v1/credential-links/${tagged!.id}`).set(as(owner)).send({ status: 'confirmed' }).expect(200);
    expect(confirmed.body).toMatchObject({ status: 'confirmed', origin: 'automatic', decided_by: expect.stringMatching(/^usr_/), decided_at: expect.any(String) });
    await request(t.app).patch(`/v1/credential-links/${byContentType!.id}`).set(as(owner)).send({ status: 'rejected' }).expect(200);

    const run = await request(t.app).post('/v1/credential-link-proposals').set(as(owner)).expect(200);
    expect(run.body).toEqual({ proposed: 0, updated: 0, withdrawn: 0, unchanged: 2 });
    expect((await linksOf(ids.prod!, '?status=confirmed')).map((l) => l.store.name)).toEqual(['payments-api-client-secret']);
    expect((await linksOf(ids.prod!, '?status=rejected')).map((l) => l.store.name)).toEqual(['sp-login']);
    expect(await linksOf(ids.prod!, '?status=proposed')).toEqual([]);
    expect((await request(t.app).get(`/v1/credential-links/${tagged!.id}`).set(as(owner)).expect(200)).body.status).toBe('confirmed');
  });

  it('lets a person add a link, refuses a second one for the same pair and links of other types, and deletes', async () => {
    const added = await request(t.app).post('/v1/credential-links').set(as(owner)).send({ credential_resource_id: ids.prod, store_resource_id: ids['smtp-relay'] }).expect(201);
    expect(added.headers.location).toBe(`/v1/credential-links/${added.body.id}`);
    expect(added.body).toMatchObject({ status: 'confirmed', origin: 'manual', confidence: 1, reasons: [{ kind: 'manual' }], credential: { id: ids.prod, type: 'azuread_application_password' }, store: { id: ids['smtp-relay'] } });
    const again = await request(t.app).post('/v1/credential-links').set(as(owner)).send({ credential_resource_id: ids.prod, store_resource_id: ids['smtp-relay'] });
    expectError(again, 409, 'conflict');
    expect(again.body.error.details).toEqual([{ field: null, issue: `linked by ${added.body.id}` }]);
    const swapped = await request(t.app).post('/v1/credential-links').set(as(owner)).send({ credential_resource_id: ids['smtp-relay'], store_resource_id: ids.prod });
    expectError(swapped, 422, 'validation_failed');
    expect(swapped.body.error.details.map((d: { field: string }) => d.field)).toEqual(['body.credential_resource_id', 'body.store_resource_id']);
    expectError(await request(t.app).post('/v1/credential-links').set(as(owner)).send({ credential_resource_id: ids.prod, store_resource_id: 'res_00000000000000000000000000' }), 404, 'not_found');
    expectError(await request(t.app).patch(`/v1/credential-links/${added.body.id}`).set(as(owner)).send({ status: 'proposed' }), 422, 'validation_failed');

    await request(t.app).delete(`/v1/credential-links/${added.body.id}`).set(as(owner)).expect(204);
    expectError(await request(t.app).get(`/v1/credential-links/${added.body.id}`).set(as(owner)), 404, 'not_found');
    expectError(await request(t.app).delete(`/v1/credential-links/${added.body.id}`).set(as(owner)), 404, 'not_found');
  });

  it('pages the links of a resource with cursors', async () => {
    const first = await request(t.app).get(`/v1/resources/${ids.prod}/credential-links?limit=1`).set(as(owner)).expect(200);
    expect(first.body).toMatchObject({ has_more: true, data: [{ store: { name: 'payments-api-client-secret' } }] });
    const second = await request(t.app).get(`/v1/resources/${ids.prod}/credential-links?limit=1&cursor=${first.body.next_cursor}`).set(as(owner)).expect(200);
    expect(second.body).toMatchObject({ has_more: false, next_cursor: null, data: [{ store: { name: 'sp-login' } }] });
    expectError(await request(t.app).get(`/v1/resources/${ids.prod}/credential-links?limit=1&status=confirmed&cursor=${first.body.next_cursor}`).set(as(owner)), 400, 'invalid_cursor');
  });

  it('answers 404 to another organization, and 403 to a viewer changing links', async () => {
    await t.db.transaction().execute((trx) => insertOrganizationWithOwner(trx, { name: 'Other', username: 'links-other', password: 'other-password-123' }));
    const other = await logInAs(t.app, 'links-other', 'other-password-123');
    const [link] = await linksOf(ids.prod!);
    expectError(await request(t.app).get(`/v1/resources/${ids.prod}/credential-links`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).get(`/v1/resources/${ids['payments-api-client-secret']}/dependents`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).get(`/v1/credential-links/${link!.id}`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).patch(`/v1/credential-links/${link!.id}`).set(as(other)).send({ status: 'rejected' }), 404, 'not_found');
    expectError(await request(t.app).delete(`/v1/credential-links/${link!.id}`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).post('/v1/credential-links').set(as(other)).send({ credential_resource_id: ids.prod, store_resource_id: ids['smtp-relay'] }), 404, 'not_found');
    expect((await request(t.app).post('/v1/credential-link-proposals').set(as(other)).expect(200)).body).toEqual({ proposed: 0, updated: 0, withdrawn: 0, unchanged: 0 });

    const viewer = await t.addMember('viewer');
    expect((await request(t.app).get(`/v1/credential-links/${link!.id}`).set(as(viewer.token)).expect(200)).body.id).toBe(link!.id);
    expectError(await request(t.app).patch(`/v1/credential-links/${link!.id}`).set(as(viewer.token)).send({ status: 'rejected' }), 403, 'insufficient_scope');
    expectError(await request(t.app).post('/v1/credential-link-proposals').set(as(viewer.token)), 403, 'insufficient_scope');
  });
});

describe('GET /v1/resources/{id}/dependents', () => {
  async function dependentsOf(name: string, query = ''): Promise<{ data: { resource: { name: string }; references: { attribute_path: string; form: string }[] }[]; next_cursor: string | null; has_more: boolean }> {
    return (await request(t.app).get(`/v1/resources/${ids[name]}/dependents${query}`).set(as(owner)).expect(200)).body;
  }

  it('finds App Service and Function App settings referencing a Key Vault secret, by SecretUri or VaultName/SecretName', async () => {
    const { data } = await dependentsOf('payments-api-client-secret');
    expect(data.map((d) => [d.resource.name, d.references])).toEqual(expect.arrayContaining([
      ['payments-api', [{ attribute_path: 'app_settings.AZURE_CLIENT_SECRET', form: 'key_vault_reference' }]],
      ['payments-jobs', [{ attribute_path: 'app_settings.SECRET', form: 'key_vault_reference' }]],
    ]));
    expect(data).toHaveLength(2);
    expect((await dependentsOf('smtp-relay')).data.map((d) => [d.resource.name, d.references[0]?.attribute_path])).toEqual([['payments-jobs', 'connection_string[0].value']]);
    expect((await dependentsOf('sp-login')).data).toEqual([]);
  });

  it('finds Lambda environment variables and ECS task definitions naming a Secrets Manager ARN', async () => {
    const { data } = await dependentsOf('ci/deployer');
    expect(data.map((d) => [d.resource.name, d.references.map((r) => r.attribute_path)]).sort()).toEqual([
      ['deploy', ['environment[0].variables.DEPLOYER_SECRET']],
      ['web', ['container_definitions[0].secrets[0].valueFrom']],
    ]);
  });

  it('finds Cloud Run (v1 and v2) secret references, and not a plain value equal to the name', async () => {
    const { data } = await dependentsOf('stripe-key');
    expect(data.map((d) => [d.resource.name, d.references.map((r) => r.attribute_path)]).sort()).toEqual([
      ['checkout', ['template[0].containers[0].env[0].value_source[0].secret_key_ref[0].secret']],
      ['legacy', ['template[0].spec[0].containers[0].env[0].value_from[0].secret_key_ref[0].name']],
    ]);
  });

  it('pages with cursors, and answers an empty list for a resource that is not a secret', async () => {
    const first = await dependentsOf('payments-api-client-secret', '?limit=1');
    expect(first).toMatchObject({ has_more: true });
    const second = await dependentsOf('payments-api-client-secret', `?limit=1&cursor=${first.next_cursor}`);
    expect(second).toMatchObject({ has_more: false, next_cursor: null });
    expect(new Set([first.data[0]?.resource.name, second.data[0]?.resource.name])).toEqual(new Set(['payments-api', 'payments-jobs']));
    expect((await dependentsOf('payments-api')).data).toEqual([]);
    expectError(await request(t.app).get('/v1/resources/res_00000000000000000000000000/dependents').set(as(owner)), 404, 'not_found');
  });
});

describe('proposal logic', () => {
  it('compares names by their words, credential words left out', () => {
    expect(nameSimilarity('payments-api-client-secret', 'payments-api')).toBe(1);
    expect(nameSimilarity('PaymentsApiSecret', 'payments api')).toBe(1);
    expect(nameSimilarity('smtp-relay', 'payments-api')).toBe(0);
    expect(nameSimilarity('secret', 'key')).toBe(0);
  });

  it('withdraws nothing it did not propose and proposes nothing below the threshold', () => {
    const credential = { id: 'c', type: 'aws_iam_access_key', name: 'AKIA1', tags: {}, attributes: { id: 'AKIA1', user: 'billing-export-reader' } };
    // One word shared of five (similarity 0.4) is no reason; across clouds a same name weighs half (0.25, below 0.3).
    expect(proposeLinks([credential], [{ id: 's', type: 'aws_secretsmanager_secret', name: 'billing-db', tags: {}, attributes: {} }])).toEqual([]);
    expect(proposeLinks([credential], [{ id: 's', type: 'azurerm_key_vault_secret', name: 'billing-export-reader', tags: {}, attributes: {} }])).toEqual([]);
    expect(proposeLinks([credential], [{ id: 's', type: 'aws_secretsmanager_secret', name: 'billing-export-reader', tags: {}, attributes: {} }])).toMatchObject([{ confidence: 0.5 }]);
    expect(proposeLinks([credential], [{ id: 's', type: 'aws_secretsmanager_secret', name: 'x', tags: { AccessKeyId: 'akia1' }, attributes: {} }])).toEqual([
      { credentialId: 'c', storeId: 's', confidence: 0.95, reasons: [{ kind: 'tag', detail: "tag AccessKeyId=akia1 names the credential's access key id" }] },
    ]);
  });
});
