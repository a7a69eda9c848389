import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { insertOrganizationWithOwner } from '../src/organizations/organizations.service';
import { as, logInAs, startTestApp, useTestApp } from './support/app';
import { expectError, expectStandardHeaders } from './support/expectations';

const FIXTURES = path.join(__dirname, 'fixtures', 'inventory');
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));

const t = useTestApp();
let owner: string;
beforeAll(async () => {
  owner = await t.ownerToken();
});

let accountCount = 0;
async function newAccount(provider = 'aws'): Promise<string> {
  const externalId = provider === 'aws' ? String(100000000000 + ++accountCount) : `project-${++accountCount}x`;
  return (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider, external_id: externalId, name: `a${accountCount}` }).expect(201)).body.id;
}
function importInto(account: string, format: string, body: unknown, mode = 'incremental') {
  return request(t.app).post(`/v1/accounts/${account}/imports?format=${format}&mode=${mode}`).set(as(owner)).send(body as object);
}
async function inventoryOf(account: string) {
  const response = await request(t.app).get(`/v1/resources?account_id=${account}&limit=200&sort=name`).set(as(owner)).expect(200);
  return response.body.data as { id: string; native_id: string; type: string; status: string; version: number; relationships: unknown[]; tags: Record<string, string> }[];
}

describe('imports', () => {
  it('imports a native file: the account provider\'s resources, others skipped', async () => {
    const account = await newAccount();
    const response = await importInto(account, 'native', fixture('native.json'));
    expect(response.status).toBe(201);
    expectStandardHeaders(response);
    expect(response.headers.location).toBe(`/v1/imports/${response.body.id}`);
    expect(response.body).toMatchObject({
      account_id: account,
      format: 'native',
      mode: 'incremental',
      status: 'succeeded',
      counts: { created: 7, updated: 0, unchanged: 0, gone: 0, skipped: 5, rejected: 0 },
      problems: [],
    });
    const resources = await inventoryOf(account);
    expect(resources).toHaveLength(7);
    expect(resources.every((r) => r.version === 1 && r.status === 'active')).toBe(true);
    expect((await request(t.app).get(`/v1/accounts/${account}`).set(as(owner))).body.last_import_at).toEqual(expect.any(String));
    expect((await request(t.app).get(`/v1/imports/${response.body.id}`).set(as(owner))).body).toEqual(response.body);
  });

  it('imports a Terraform state with modules, count and for_each, and resolves relationships', async () => {
    const account = await newAccount();
    const response = await importInto(account, 'terraform_state', fixture('terraform.tfstate'));
    expect(response.status).toBe(201);
    expect(response.body.counts).toMatchObject({ created: 29, skipped: 10 });
    const resources = await inventoryOf(account);
    const byNativeId = new Map(resources.map((r) => [r.native_id, r]));
    const instance = byNativeId.get('arn:aws:ec2:eu-west-1:123456789012:instance/i-0a12b34c56d78e901')!;
    expect(instance.type).toBe('aws_instance');
    expect(instance.relationships).toContainEqual({ type: 'attached_to', resource_native_id: 'arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0f3a9c2e7b1d45a60', resource_types: ['aws_security_group'] });
    expect(byNativeId.has('arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0f3a9c2e7b1d45a60')).toBe(true);
    const full = await request(t.app).get(`/v1/resources/${instance.id}`).set(as(owner));
    expect(full.body.attributes).toMatchObject({ instance_type: expect.any(String) });
  });

  it.each([['show-state.json', 29], ['show-plan.json', 7]])('imports terraform show -json output (%s)', async (file, created) => {
    const account = await newAccount();
    const response = await importInto(account, 'terraform_show', fixture(file));
    expect(response.status).toBe(201);
    expect(response.body.counts.created).toBe(created);
  });

  it('versions only what changed; incremental keeps missing resources, full marks them gone', async () => {
    const account = await newAccount();
    const original = fixture('native.json');
    await importInto(account, 'native', original).expect(201);

    const again = await importInto(account, 'native', original);
    expect(again.body.counts).toMatchObject({ created: 0, updated: 0, unchanged: 7 });

    const awsItems = original.resources.filter((r: { provider: string }) => r.provider === 'aws');
    const [changed, removed] = [awsItems[0], awsItems[1]];
    const edited = {
      resources: original.resources
        .filter((r: unknown) => r !== removed)
        .map((r: { tags: object }) => (r === changed ? { ...r, tags: { ...r.tags, reviewed: 'yes' } } : r)),
    };
    const incremental = await importInto(account, 'native', edited, 'incremental');
    expect(incremental.body.counts).toMatchObject({ created: 0, updated: 1, unchanged: 5, gone: 0 });
    let resources = await inventoryOf(account);
    const changedNow = resources.find((r) => r.native_id === changed.native_id)!;
    expect(changedNow).toMatchObject({ version: 2, tags: { reviewed: 'yes' } });
    const versions = await request(t.app).get(`/v1/resources/${changedNow.id}/versions`).set(as(owner));
    expect(versions.body.data.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(versions.body.data[1].tags).not.toHaveProperty('reviewed');
    expect(resources.find((r) => r.native_id === removed.native_id)!.status).toBe('active');

    const full = await importInto(account, 'native', edited, 'full');
    expect(full.body.counts).toMatchObject({ created: 0, updated: 0, unchanged: 6, gone: 1 });
    resources = await inventoryOf(account);
    expect(resources.find((r) => r.native_id === removed.native_id)!.status).toBe('gone');
    expect(resources.filter((r) => r.status === 'active')).toHaveLength(6);
  });

  it('records each sighting: an unchanged re-import moves last_seen_at, not the version; a gone resource seen again is back; full imports mark only the unseen gone', async () => {
    const account = await newAccount();
    const original = fixture('native.json');
    const awsItems = original.resources.filter((r: { provider: string }) => r.provider === 'aws');
    const listed = async (query: string) =>
      (await request(t.app).get(`/v1/resources?account_id=${account}&limit=200&${query}`).set(as(owner)).expect(200)).body.data as {
        id: string; native_id: string; status: string; version: number; first_seen_at: string; last_seen_at: string;
      }[];
    await importInto(account, 'native', original, 'full').expect(201);
    const firstSeen = (await listed('sort=-last_seen_at'))[0]!.last_seen_at;

    await new Promise((resolve) => setTimeout(resolve, 5));
    const removed = awsItems[0];
    const without = { resources: original.resources.filter((r: unknown) => r !== removed) };
    expect((await importInto(account, 'native', without, 'full').expect(201)).body.counts).toMatchObject({ created: 0, updated: 0, unchanged: 6, gone: 1 });
    let resources = await listed('sort=-last_seen_at');
    const gone = resources.find((r) => r.native_id === removed.native_id)!;
    expect(gone).toMatchObject({ status: 'gone', version: 1, last_seen_at: firstSeen });
    const seen = resources.filter((r) => r.status === 'active');
    expect(seen).toHaveLength(6);
    const secondSeen = seen[0]!.last_seen_at;
    expect(secondSeen > firstSeen).toBe(true);
    for (const r of seen) expect(r).toMatchObject({ version: 1, last_seen_at: secondSeen, first_seen_at: firstSeen });
    // Newest sighting first: the gone one, seen only by the first import, sorts last, and the sighting filters agree.
    expect(resources.at(-1)!.id).toBe(gone.id);
    expect((await listed(`seen_after=${encodeURIComponent(secondSeen)}`)).map((r) => r.id).sort()).toEqual(seen.map((r) => r.id).sort());
    expect((await listed(`seen_before=${encodeURIComponent(secondSeen)}`)).map((r) => r.id)).toEqual([gone.id]);
    const one = await request(t.app).get(`/v1/resources/${seen[0]!.id}`).set(as(owner)).expect(200);
    expect(one.body).toMatchObject({ version: 1, last_seen_at: secondSeen, first_seen_at: firstSeen });
    expect((await request(t.app).get(`/v1/resources/${seen[0]!.id}/versions`).set(as(owner))).body.data.map((v: { version: number }) => v.version)).toEqual([1]);

    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await importInto(account, 'native', original, 'full').expect(201)).body.counts).toMatchObject({ created: 0, updated: 1, unchanged: 6, gone: 0 });
    resources = await listed('sort=-last_seen_at');
    const thirdSeen = resources[0]!.last_seen_at;
    expect(thirdSeen > secondSeen).toBe(true);
    for (const r of resources) expect(r).toMatchObject({ status: 'active', version: 1, last_seen_at: thirdSeen });

    // Paging by sighting walks every resource once, in order.
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page: request.Response = await request(t.app).get(`/v1/resources?account_id=${account}&sort=last_seen_at&limit=2${cursor ? `&cursor=${cursor}` : ''}`).set(as(owner)).expect(200);
      paged.push(...page.body.data.map((r: { id: string }) => r.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(paged).toEqual(resources.map((r) => r.id).sort());

    // The sightings go with their resources.
    await request(t.app).delete(`/v1/accounts/${account}?force=true`).set(as(owner)).expect(204);
    expect(await t.db.selectFrom('resource_sightings').select('resource_id').where('resource_id', 'in', resources.map((r) => r.id)).execute()).toEqual([]);
  });

  it('imports a plan with values known only after apply: unknown_attributes on the resource, a new version when they change (issue 15)', async () => {
    const account = await newAccount();
    const aws = 'registry.terraform.io/hashicorp/aws';
    const planWith = (afterUnknown: Record<string, unknown>) => ({
      format_version: '0.2',
      planned_values: {
        root_module: {
          resources: [
            { address: 'aws_s3_bucket.b', mode: 'managed', type: 'aws_s3_bucket', name: 'b', provider_name: aws, values: { bucket: 'acme-plan', versioning: [{ mfa_delete: false }] } },
            { address: 'aws_s3_bucket_policy.p', mode: 'managed', type: 'aws_s3_bucket_policy', name: 'p', provider_name: aws },
          ],
        },
      },
      resource_changes: [
        { address: 'aws_s3_bucket.b', mode: 'managed', change: { actions: ['create'], after: {}, after_unknown: afterUnknown } },
        { address: 'aws_s3_bucket_policy.p', mode: 'managed', change: { actions: ['create'], after: {}, after_unknown: { bucket: true, id: true } } },
      ],
      configuration: {
        root_module: {
          resources: [{ address: 'aws_s3_bucket_policy.p', mode: 'managed', type: 'aws_s3_bucket_policy', expressions: { bucket: { references: ['aws_s3_bucket.b.id', 'aws_s3_bucket.b'] } } }],
        },
      },
    });
    const first = await importInto(account, 'terraform_show', planWith({ arn: true, versioning: [{ enabled: true }] }));
    expect(first.status).toBe(201);
    expect(first.body.counts).toMatchObject({ created: 2 });
    const byType = async () => new Map((await inventoryOf(account)).map((r) => [r.type, r]));
    const bucket = (await byType()).get('aws_s3_bucket')!;
    const full = await request(t.app).get(`/v1/resources/${bucket.id}`).set(as(owner)).expect(200);
    expect(full.body).toMatchObject({ native_id: 'aws_s3_bucket.b', unknown_attributes: ['arn', 'versioning[0].enabled'] });
    expect((await byType()).get('aws_s3_bucket_policy')!.relationships).toEqual([{ type: 'attached_to', resource_native_id: 'aws_s3_bucket.b', resource_types: ['aws_s3_bucket'] }]);

    expect((await importInto(account, 'terraform_show', planWith({ arn: true, versioning: [{ enabled: true }] }))).body.counts).toMatchObject({ created: 0, unchanged: 2 });
    const changed = await importInto(account, 'terraform_show', planWith({ arn: true }));
    expect(changed.body.counts).toMatchObject({ created: 0, updated: 1, unchanged: 1 });
    const versions = await request(t.app).get(`/v1/resources/${bucket.id}/versions`).set(as(owner)).expect(200);
    expect(versions.body.data.map((v: { version: number; unknown_attributes: string[] }) => [v.version, v.unknown_attributes])).toEqual([
      [2, ['arn']],
      [1, ['arn', 'versioning[0].enabled']],
    ]);
  });

  it('keeps resources of different types with one native id apart, and matches them again by type (issue 15)', async () => {
    const account = await newAccount();
    const item = (type: string, attributes: Record<string, unknown>) => ({ type, native_id: 'acme-shared', provider: 'aws', region: 'eu-west-1', name: 'acme-shared', tags: {}, attributes, relationships: [] });
    const file = { resources: [item('aws_s3_bucket', { bucket: 'acme-shared' }), item('aws_s3_bucket_policy', { policy: '{}' }), item('aws_s3_bucket_logging', { target_bucket: 'acme-audit' })] };
    expect((await importInto(account, 'native', file).expect(201)).body.counts).toMatchObject({ created: 3 });
    const edited = { resources: [file.resources[0], { ...file.resources[1], attributes: { policy: '{"Statement":[]}' } }, file.resources[2]] };
    expect((await importInto(account, 'native', edited).expect(201)).body.counts).toMatchObject({ created: 0, updated: 1, unchanged: 2 });
    const resources = await inventoryOf(account);
    expect(resources.map((r) => [r.type, r.version]).sort()).toEqual([['aws_s3_bucket', 1], ['aws_s3_bucket_logging', 1], ['aws_s3_bucket_policy', 2]]);
    // The same type twice is still refused.
    const twice = await importInto(account, 'native', { resources: [file.resources[0], file.resources[0]] });
    expectError(twice, 422, 'invalid_import');
    expect(twice.body.error.details[0].issue).toBe('resources[1] native_id: duplicate aws_s3_bucket "acme-shared", also at resources[0]');
  });

  it('imports a state whose items have no id, identifying them by address (issue 15)', async () => {
    const account = await newAccount();
    const response = await importInto(account, 'terraform_state', fixture('state-item-without-id.tfstate'));
    expect(response.status).toBe(201);
    expect((await inventoryOf(account)).map((r) => r.native_id).sort()).toEqual(['arn:aws:s3:::acme-import-ok', 'module.network.aws_security_group.this["web"]']);
  });

  it.each([
    ['broken/state-version-3.tfstate', 'terraform_state', ['$: unsupported Terraform state version 3']],
    ['broken/native-invalid-items.json', 'native', ['resources[1] native_id: required', 'resources[2] type:']],
    ['broken/aws-cli-describe-instances.json', 'terraform_state', ['$: not a Terraform state']],
    ['terraform.tfstate', 'native', ['$: ']],
  ])('refuses %s as %s with 422, naming the problems, and changes nothing', async (file, format, issues) => {
    const account = await newAccount();
    await importInto(account, 'native', fixture('native.json')).expect(201);
    const before = await inventoryOf(account);

    const response = await importInto(account, format, fixture(file), 'full');
    expectError(response, 422, 'invalid_import');
    const reported = response.body.error.details.map((d: { issue: string }) => d.issue);
    for (const issue of issues) expect(reported.some((r: string) => r.startsWith(issue))).toBe(true);

    expect(await inventoryOf(account)).toEqual(before);
    const imports = await request(t.app).get(`/v1/accounts/${account}/imports`).set(as(owner));
    expect(imports.body.data[0]).toMatchObject({ status: 'failed', counts: { created: 0, rejected: expect.any(Number) } });
    expect(imports.body.data[0].counts.rejected).toBeGreaterThan(0);
    expect(imports.body.data[0].problems.length).toBeGreaterThan(0);
  });

  it('refuses resources the API could not answer with (bad region, type, too many tags, a NUL)', async () => {
    const account = await newAccount();
    const bucket = { type: 'aws_s3_bucket', native_id: 'arn:aws:s3:::ok', provider: 'aws', region: 'eu-west-1', name: 'ok', tags: {}, attributes: {}, relationships: [] };
    const response = await importInto(account, 'native', {
      resources: [
        bucket,
        { ...bucket, native_id: 'arn:aws:s3:::a', region: 'eu west 1' },
        { ...bucket, native_id: 'arn:aws:s3:::b', tags: Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`k${i}`, 'v'])) },
        { ...bucket, native_id: 'arn:aws:s3:::c', attributes: { policy: 'x\u0000y' } },
      ],
    });
    expectError(response, 422, 'invalid_import');
    expect(response.body.error.details.map((d: { issue: string }) => d.issue)).toEqual([
      expect.stringMatching(/^resources\[1\] region: must match pattern/),
      expect.stringMatching(/^resources\[2\] tags: must NOT have more than 100 properties/),
      'resources[3] attributes.policy: contains a NUL character (U+0000), which cannot be stored',
    ]);
    expect(await inventoryOf(account)).toEqual([]);
  });

  it('needs the format, and names the allowed ones', async () => {
    const account = await newAccount();
    const response = await request(t.app).post(`/v1/accounts/${account}/imports?format=csv`).set(as(owner)).send({});
    expectError(response, 422, 'validation_failed');
    expect(response.body.error.details[0]).toMatchObject({ field: 'query.format', issue: expect.stringContaining('native, terraform_state, terraform_show') });
  });

  it('takes bodies above the general limit, up to IMPORT_BODY_LIMIT_BYTES, and 413 beyond', async () => {
    const limited = await startTestApp({ IMPORT_BODY_LIMIT_BYTES: String(3 * 1024 * 1024) });
    try {
      const token = await limited.ownerToken();
      const account = (await request(limited.app).post('/v1/accounts').set(as(token)).send({ provider: 'aws', external_id: '123123123123', name: 'big' })).body.id;
      // 2.2 MiB in resources each under the 256 KiB a resource's attributes may take.
      const padding = 'x'.repeat(200 * 1024);
      const big = {
        resources: Array.from({ length: 11 }, (_, i) => ({ type: 'aws_s3_bucket', native_id: `arn:aws:s3:::big-${i}`, provider: 'aws', region: 'eu-west-1', name: `big-${i}`, tags: {}, attributes: { padding }, relationships: [] })),
      };
      await request(limited.app).post(`/v1/accounts/${account}/imports?format=native`).set(as(token)).send(big).expect(201);
      // The general limit still applies elsewhere.
      expectError(await request(limited.app).patch(`/v1/accounts/${account}`).set(as(token)).send({ name: padding.repeat(11) }), 413, 'payload_too_large');
      const tooBig = { resources: [], padding: 'x'.repeat(4 * 1024 * 1024) };
      const refused = await request(limited.app).post(`/v1/accounts/${account}/imports?format=native`).set(as(token)).send(tooBig);
      expectError(refused, 413, 'payload_too_large');
      expect(refused.body.error.message).toContain(String(3 * 1024 * 1024));
    } finally {
      await limited.close();
    }
  });

  it("answers another organization's accounts and imports with 404", async () => {
    const account = await newAccount();
    const done = (await importInto(account, 'native', fixture('native.json'))).body;
    await t.db.transaction().execute((trx) => insertOrganizationWithOwner(trx, { name: 'Other', username: 'imp-other', password: 'other-password-123' }));
    const other = await logInAs(t.app, 'imp-other', 'other-password-123');
    expectError(await request(t.app).post(`/v1/accounts/${account}/imports?format=native`).set(as(other)).send(fixture('native.json')), 404, 'not_found');
    expectError(await request(t.app).get(`/v1/accounts/${account}/imports`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).get(`/v1/imports/${done.id}`).set(as(other)), 404, 'not_found');
    expect((await inventoryOf(account)).length).toBe(7);
  });
});
