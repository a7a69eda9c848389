import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { insertOrganizationWithOwner } from '../src/organizations/organizations.service';
import { CEL_FUNCTIONS, CEL_VARIABLES } from '../src/rules/cel-functions';
import { RuleSet } from '../src/rules/rule-set';
import { loadCatalogue } from '../src/rules/catalogue';
import { loadCelEngine } from '../src/rules/cel-engine';
import { as, logInAs, useTestApp } from './support/app';
import { runAuditThroughHttp, seedAudit, waitForAudit } from './support/audits';
import { expectError } from './support/expectations';
import { waitForReport } from './support/reports';

const native = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'inventory', 'native.json'), 'utf8'));
const awsResources = native.resources.filter((r: { provider: string }) => r.provider === 'aws');
const NOW = new Date('2026-11-26T00:00:00Z');
const BUCKET = 'arn:aws:s3:::acme-dev-uploads';
const DB = 'arn:aws:rds:us-west-2:345678901234:db:acme-dev-crm';
const SG = 'arn:aws:ec2:us-west-2:345678901234:security-group/sg-0b7e4d2c9a1f36e85';
const USER = 'arn:aws:iam::345678901234:user/legacy-backup';

const t = useTestApp({}, { workers: true, auditSettings: { catalogue: loadCatalogue, now: () => NOW } });
let owner: string;
let aws: string;
/** The first audit, before any policy. */
let firstAuditId: string;

beforeAll(async () => {
  owner = await t.ownerToken();
  aws = (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: '345678901234', name: 'dev' }).expect(201)).body.id;
  await request(t.app).post(`/v1/accounts/${aws}/imports?format=native&mode=full`).set(as(owner)).send({ resources: awsResources }).expect(201);
  const first = await runAuditThroughHttp(t.app, owner);
  expect(first).toMatchObject({ status: 'succeeded', policy_versions: [] });
  firstAuditId = first.id;
});

type ListedFinding = { id: string; rule_id: string | null; policy_id: string | null; policy_version: number | null; severity: string; status: string; status_reason: string | null; resource: { native_id: string } };
async function findings(query: string): Promise<ListedFinding[]> {
  return (await request(t.app).get(`/v1/findings?${query}&limit=200`).set(as(owner)).expect(200)).body.data;
}
async function findingOf(ruleOrPolicy: string, nativeId: string): Promise<ListedFinding | undefined> {
  return (await findings('status=open,resolved')).find((f) => (f.rule_id ?? f.policy_id) === ruleOrPolicy && f.resource.native_id === nativeId);
}
async function createPolicy(body: object, token = owner) {
  return request(t.app).post('/v1/policies').set(as(token)).send(body);
}
async function deletePolicies(...ids: string[]) {
  for (const id of ids) await request(t.app).delete(`/v1/policies/${id}`).set(as(owner)).expect(204);
}
const devBuckets = {
  kind: 'custom',
  name: 'Dev data stores',
  custom: {
    title: 'Dev data store',
    description: 'Dev data belongs in the dev account.',
    dimension: 'compliance',
    severity: 'medium',
    resource_types: ['aws_s3_bucket', 'aws_db_instance'],
    condition: "attr(resource, 'tags.env', '') == 'dev'",
    evidence: ['tags.env'],
    remediation: { text: 'Move it to the dev account.' },
    compliance: { soc2: ['CC6.1'] },
  },
};

describe('writing policies', () => {
  it('stores a custom policy at version 1 with its defaults, and lists, gets and versions it', async () => {
    const created = await request(t.app).post('/v1/policies').set(as(owner)).set('Idempotency-Key', 'policy-1').send(devBuckets);
    const replayed = await request(t.app).post('/v1/policies').set(as(owner)).set('Idempotency-Key', 'policy-1').send(devBuckets).expect(201);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.body.id).toBe(created.body.id);
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`/v1/policies/${created.body.id}`);
    expect(created.body).toMatchObject({
      kind: 'custom',
      version: 1,
      enabled: true,
      override: null,
      custom: { evidence: ['tags.env'], cost: null, remediation: { terraform: null }, compliance: { cis_aws_foundations: [], aws_fsbp: [], cis_azure_foundations: [], cis_gcp_foundations: [], soc2: ['CC6.1'], pci_dss: [] } },
    });
    const id = created.body.id as string;
    expect((await request(t.app).get(`/v1/policies/${id}`).set(as(owner)).expect(200)).body).toEqual(created.body);
    expect((await request(t.app).get('/v1/policies?kind=custom').set(as(owner)).expect(200)).body.data.map((p: { id: string }) => p.id)).toEqual([id]);
    expect((await request(t.app).get('/v1/policies?kind=override').set(as(owner)).expect(200)).body.data).toEqual([]);

    const updated = await request(t.app).patch(`/v1/policies/${id}`).set(as(owner)).send({ name: 'Dev stores', custom: { ...devBuckets.custom, severity: 'high' } }).expect(200);
    expect(updated.body).toMatchObject({ version: 2, name: 'Dev stores', custom: { severity: 'high' } });
    const versions = (await request(t.app).get(`/v1/policies/${id}/versions?limit=1`).set(as(owner)).expect(200)).body;
    expect(versions.data).toMatchObject([{ policy_id: id, version: 2, name: 'Dev stores', custom: { severity: 'high' } }]);
    const older = (await request(t.app).get(`/v1/policies/${id}/versions?limit=1&cursor=${versions.next_cursor}`).set(as(owner)).expect(200)).body;
    expect(older).toMatchObject({ data: [{ version: 1, name: 'Dev data stores', custom: { severity: 'medium' } }], has_more: false });

    expectError(await request(t.app).patch(`/v1/policies/${id}`).set(as(owner)).send({ override: { rule_id: 'aws.s3.bucket_public_read' } }), 422, 'validation_failed');
    await deletePolicies(id);
    expectError(await request(t.app).get(`/v1/policies/${id}`).set(as(owner)), 404, 'not_found');
  });

  const invalid: [string, object, string, string, string][] = [
    ['a CEL syntax error', { custom: { ...devBuckets.custom, condition: "resource.tags.env ==\n  == 'dev'" } }, 'invalid_policy_expression', 'body.custom.condition', ''],
    ['a CEL type error', { custom: { ...devBuckets.custom, condition: "1 + 'a' == 2" } }, 'invalid_policy_expression', 'body.custom.condition', ''],
    ['a condition that is not a bool', { custom: { ...devBuckets.custom, condition: "'dev'" } }, 'invalid_policy_expression', 'body.custom.condition', 'must evaluate to bool'],
    ['an unknown function', { custom: { ...devBuckets.custom, condition: "resource.name.matches('a+')" } }, 'invalid_policy_expression', 'body.custom.condition', 'matches'],
    ['a cost estimate that is not a number', { custom: { ...devBuckets.custom, cost: { monthly_usd: "'many'", assumptions: 'list prices' } } }, 'invalid_policy_expression', 'body.custom.cost.monthly_usd', 'double'],
    ['a malformed evidence path', { custom: { ...devBuckets.custom, evidence: ['tags..env'] } }, 'invalid_policy', 'body.custom.evidence.0', 'tags..env'],
    ['an unknown resource type', { custom: { ...devBuckets.custom, resource_types: ['aws_s3_bucket', 'aws_teleporter'] } }, 'invalid_policy', 'body.custom.resource_types.1', 'aws_teleporter'],
    ['resource types of two providers', { custom: { ...devBuckets.custom, resource_types: ['aws_s3_bucket', 'google_storage_bucket'] } }, 'invalid_policy', 'body.custom.resource_types', 'one provider'],
    ['an unknown framework', { custom: { ...devBuckets.custom, compliance: { iso27001: ['A.5'] } } }, 'invalid_policy', 'body.custom.compliance.iso27001', 'iso27001'],
    ['an unknown control', { custom: { ...devBuckets.custom, compliance: { soc2: ['CC99.9'] } } }, 'invalid_policy', 'body.custom.compliance.soc2.0', 'CC99.9'],
  ];
  it.each(invalid)('refuses %s with 422 naming where, and stores nothing', async (_name, change, code, field, words) => {
    const response = await createPolicy({ ...devBuckets, ...change });
    expectError(response, 422, code);
    expect(response.body.error.details[0].field).toBe(field);
    expect(response.body.error.details[0].issue).toContain(words);
    expect((await request(t.app).get('/v1/policies').set(as(owner)).expect(200)).body.data).toEqual([]);
  });

  it('gives the line and column of an expression error', async () => {
    const response = await createPolicy({ ...devBuckets, custom: { ...devBuckets.custom, condition: "resource.tags.env == 'dev' &&\n  resource.name ==" } });
    expectError(response, 422, 'invalid_policy_expression');
    expect(response.body.error.details).toEqual([{ field: 'body.custom.condition', issue: expect.any(String), line: 2, column: expect.any(Number) }]);
    expect(response.body.error.message).toContain('line 2');
  });

  const override = (fields: object) => ({ kind: 'override', name: 'Override', override: { rule_id: 'aws.s3.bucket_public_read', ...fields } });
  it.each([
    ['an unknown rule', override({ rule_id: 'aws.s3.bucket_on_fire' }), 'invalid_policy', 'body.override.rule_id', 'aws.s3.bucket_on_fire'],
    ['an unknown account', override({ scope: { account_ids: ['acc_01JD8X3N5W6Q2R4T7Y9ZABCDEF'] } }), 'invalid_policy', 'body.override.scope.account_ids.0', 'acc_01JD8X3N5W6Q2R4T7Y9ZABCDEF'],
    ['a resource type the rule does not check', override({ scope: { resource_types: ['aws_instance'] } }), 'invalid_policy', 'body.override.scope.resource_types.0', 'aws_instance'],
    ['an invalid exception selector', override({ exceptions: [{ selector: 'resource.tags.(', reason: 'x' }] }), 'invalid_policy_expression', 'body.override.exceptions.0.selector', ''],
  ])('refuses an override with %s', async (_name, body, code, field, words) => {
    const response = await createPolicy(body);
    expectError(response, 422, code);
    expect(response.body.error.details[0]).toMatchObject({ field, issue: expect.stringContaining(words) });
    expect((await request(t.app).get('/v1/policies').set(as(owner)).expect(200)).body.data).toEqual([]);
  });

  it('refuses an invalid update and keeps the version it had', async () => {
    const id = (await createPolicy(devBuckets)).body.id as string;
    const response = await request(t.app).patch(`/v1/policies/${id}`).set(as(owner)).send({ custom: { ...devBuckets.custom, condition: 'resource.(' } });
    expectError(response, 422, 'invalid_policy_expression');
    expect((await request(t.app).get(`/v1/policies/${id}`).set(as(owner)).expect(200)).body.version).toBe(1);
    expect((await request(t.app).get(`/v1/policies/${id}/versions`).set(as(owner)).expect(200)).body.data).toHaveLength(1);
    await deletePolicies(id);
  });

  it('refuses pathological expressions when they are written: a huge comprehension, deep nesting', async () => {
    const items = Array.from({ length: 120 }, (_, i) => i).join(', ');
    const huge = `[${items}].exists(a, [${items}].exists(b, [${items}].exists(c, a + b + c < 0)))`;
    const costly = await createPolicy({ ...devBuckets, custom: { ...devBuckets.custom, condition: huge } });
    expectError(costly, 422, 'invalid_policy_expression');
    expect(costly.body.error.details[0].issue).toContain('estimated cost');
    const deep = `${'('.repeat(40)}true${')'.repeat(40)}`;
    expectError(await createPolicy({ ...devBuckets, custom: { ...devBuckets.custom, condition: deep } }), 422, 'invalid_policy_expression');
    const nested = "resource.tags.all(a, resource.tags.all(b, resource.tags.all(c, resource.tags.all(d, a == d))))";
    const tooNested = await createPolicy({ ...devBuckets, custom: { ...devBuckets.custom, condition: nested } });
    expectError(tooNested, 422, 'invalid_policy_expression');
    expect(tooNested.body.error.details[0].issue).toContain('nest');
    expect((await request(t.app).get('/v1/policies').set(as(owner)).expect(200)).body.data).toEqual([]);
  });
});

describe('the schema for authors', () => {
  it('serves the variables, functions and bounds the engine uses, and the resource types', async () => {
    const schema = (await request(t.app).get('/v1/policies/schema').set(as(owner)).expect(200)).body;
    expect(schema.variables.map((v: { name: string }) => v.name)).toEqual(CEL_VARIABLES.map((v) => v.name));
    expect(schema.functions.map((f: { signature: string }) => f.signature)).toEqual(CEL_FUNCTIONS.map((f) => f.signature));
    expect(schema.limits).toMatchObject({ max_length: 4096, max_comprehension_nesting: 3, max_estimated_cost: 1_000_000 });
    const bucket = schema.resource_types.find((r: { type: string }) => r.type === 'aws_s3_bucket');
    expect(bucket).toMatchObject({ provider: 'aws', rules: expect.arrayContaining(['aws.s3.bucket_public_read']) });
    expect(bucket.attributes).toContain('attributes.acl');
  });
});

describe('dry runs against a stored audit', () => {
  it('answers the findings, counts and difference of an override, writing nothing', async () => {
    const before = await findings('status=open,resolved');
    const result = await request(t.app)
      .post('/v1/policies/test')
      .set(as(owner))
      .send({ policy: { kind: 'override', name: 'Public buckets are high', override: { rule_id: 'aws.s3.bucket_public_read', severity: 'high' } } })
      .expect(200);
    expect(result.body).toEqual({
      audit_id: firstAuditId,
      resources_evaluated: 1,
      findings: [expect.objectContaining({ rule_id: 'aws.s3.bucket_public_read', policy_id: null, severity: 'high', diff: 'severity_changed', resource: expect.objectContaining({ native_id: BUCKET }) })],
      findings_total: 1,
      severity_counts: { info: 0, low: 0, medium: 0, high: 1, critical: 0 },
      diff: { new: 0, resolved: 0, unchanged: 0, severity_changed: 1 },
      resolved: [],
      evaluation_errors: [],
      evaluation_errors_total: 0,
    });
    const excepted = await request(t.app)
      .post('/v1/policies/test')
      .set(as(owner))
      .send({ audit_id: firstAuditId, policy: { kind: 'override', name: 'Dev is fine', override: { rule_id: 'aws.s3.bucket_public_read', exceptions: [{ selector: "resource.tags.env == 'dev'", reason: 'dev' }] } } })
      .expect(200);
    expect(excepted.body).toMatchObject({ findings_total: 0, diff: { new: 0, resolved: 1, unchanged: 0, severity_changed: 0 } });
    expect(excepted.body.resolved).toEqual([{ finding_id: (await findingOf('aws.s3.bucket_public_read', BUCKET))!.id, resource_id: expect.any(String) }]);
    expect(await findings('status=open,resolved')).toEqual(before);
    expect((await request(t.app).get('/v1/policies').set(as(owner)).expect(200)).body.data).toEqual([]);
  });

  it('tries a custom policy inline, stored, and with a draft change', async () => {
    const inline = (await request(t.app).post('/v1/policies/test').set(as(owner)).send({ policy: devBuckets, preview_limit: 1 }).expect(200)).body;
    expect(inline).toMatchObject({ resources_evaluated: 2, findings_total: 2, severity_counts: { medium: 2 }, diff: { new: 2, resolved: 0, unchanged: 0 } });
    expect(inline.findings).toHaveLength(1);
    expect(inline.findings[0]).toMatchObject({ rule_id: null, policy_id: null, title: 'Dev data store', evidence: [{ path: 'tags.env', value: 'dev' }] });

    const id = (await createPolicy({ ...devBuckets, enabled: false })).body.id as string;
    const stored = (await request(t.app).post('/v1/policies/test').set(as(owner)).send({ policy_id: id }).expect(200)).body;
    expect(stored.findings.map((f: { policy_id: string }) => f.policy_id)).toEqual([id, id]);
    const draft = { policy_id: id, changes: { custom: { ...devBuckets.custom, resource_types: ['aws_db_instance'] } } };
    const drafted = (await request(t.app).post('/v1/policies/test').set(as(owner)).send(draft).expect(200)).body;
    expect(drafted).toMatchObject({ resources_evaluated: 1, findings_total: 1, findings: [{ resource: { native_id: DB } }] });
    expect((await request(t.app).get(`/v1/policies/${id}`).set(as(owner)).expect(200)).body).toMatchObject({ version: 1, enabled: false });

    expectError(await request(t.app).post('/v1/policies/test').set(as(owner)).send({ policy_id: id, policy: devBuckets }), 422, 'validation_failed');
    expectError(await request(t.app).post('/v1/policies/test').set(as(owner)).send({ policy: { ...devBuckets, custom: { ...devBuckets.custom, condition: '(' } } }), 422, 'invalid_policy_expression');
    expectError(await request(t.app).post('/v1/policies/test').set(as(owner)).send({ policy: devBuckets, audit_id: 'aud_01JD8X3N5W6Q2R4T7Y9ZABCDEF' }), 404, 'not_found');
    await deletePolicies(id);
  });
});

describe('custom policies in audits', () => {
  it('produces findings in a reanalysis of an older audit and the next audit; disabling it resolves them', async () => {
    const created = await createPolicy(devBuckets);
    const id = created.body.id as string;

    const reanalysis = (await request(t.app).post(`/v1/audits/${firstAuditId}/reanalyze`).set(as(owner)).expect(202)).body;
    const reanalyzed = await waitFor(reanalysis.id);
    expect(reanalyzed).toMatchObject({ status: 'succeeded', policy_versions: [{ policy_id: id, version: 1 }] });
    const seen = (await findings(`audit_id=${reanalyzed.id}`)).filter((f) => f.policy_id === id);
    expect(seen.map((f) => f.resource.native_id).sort()).toEqual([BUCKET, DB].sort());
    expect((await findings(`policy_id=${id}`)).map((f) => f.id).sort()).toEqual(seen.map((f) => f.id).sort());
    expect(seen[0]).toMatchObject({ rule_id: null, policy_version: 1, severity: 'medium', status: 'open' });
    const finding = (await request(t.app).get(`/v1/findings/${seen[0]!.id}`).set(as(owner)).expect(200)).body;
    expect(finding).toMatchObject({ rule_id: null, rule_version: null, policy_id: id, policy_version: 1, title: 'Dev data store', compliance: { soc2: ['CC6.1'] } });

    await request(t.app).patch(`/v1/policies/${id}`).set(as(owner)).send({ custom: { ...devBuckets.custom, severity: 'high' } }).expect(200);
    const next = await runAuditThroughHttp(t.app, owner);
    expect(next.policy_versions).toEqual([{ policy_id: id, version: 2 }]);
    const recurring = (await findings(`audit_id=${next.id}`)).filter((f) => f.policy_id === id);
    expect(recurring.map((f) => [f.id, f.severity, f.policy_version]).sort()).toEqual(seen.map((f) => [f.id, 'high', 2]).sort());
    expect(next.summary.rule_results[id]).toEqual({ evaluated: 2, failed: 2, errors: 0, unknown: 0 });
    const cc61 = async (auditId: string) =>
      (await request(t.app).get(`/v1/compliance/frameworks/soc2?audit_id=${auditId}`).set(as(owner)).expect(200)).body.controls.find(
        (c: { id: string }) => c.id === 'CC6.1',
      );
    const control = await cc61(next.id);
    expect(control.status).toBe('failed');
    expect(control.rules).toContainEqual({ id, title: 'Dev data store', evaluated: 2, errors: 0, failing_resources: 2 });
    const evidenceReport = await request(t.app).post('/v1/reports').set(as(owner)).send({ type: 'compliance_evidence', format: 'json', framework: 'soc2', audit_id: next.id }).expect(202);
    expect(await waitForReport(t.app, owner, evidenceReport.body.id)).toMatchObject({ status: 'ready', provenance: { policy_versions: [{ policy_id: id, version: 2 }] } });
    const evidence = (await request(t.app).get(`/v1/reports/${evidenceReport.body.id}/download`).set(as(owner)).expect(200)).body;
    expect(evidence.controls.find((c: { id: string }) => c.id === 'CC6.1').rule_ids).toContain(id);
    const policyEvidence = evidence.rules.find((r: { rule_id: string }) => r.rule_id === id);
    expect(policyEvidence).toMatchObject({ title: 'Dev data store', severity: 'high', evaluated: 2, failed: 2 });
    expect(policyEvidence.failing_resources.map((r: { native_id: string }) => r.native_id).sort()).toEqual([BUCKET, DB].sort());

    await request(t.app).patch(`/v1/policies/${id}`).set(as(owner)).send({ enabled: false }).expect(200);
    const after = await runAuditThroughHttp(t.app, owner);
    expect(after.policy_versions).toEqual([]);
    expect((await cc61(after.id)).rules.map((r: { id: string }) => r.id)).not.toContain(id);
    for (const f of seen) {
      expect((await request(t.app).get(`/v1/findings/${f.id}`).set(as(owner)).expect(200)).body).toMatchObject({ status: 'resolved', status_reason: 'policy_disabled' });
    }
    await deletePolicies(id);
  });
});

describe('incremental audits', () => {
  it('re-evaluate unchanged resources when the applied policies change', async () => {
    const id = (await createPolicy({ ...devBuckets, custom: { ...devBuckets.custom, resource_types: ['aws_iam_user'], condition: "resource.name == 'legacy-backup'" } })).body.id as string;
    const audit = await runAuditThroughHttp(t.app, owner, { mode: 'incremental' });
    expect(audit).toMatchObject({ status: 'succeeded', policy_versions: [{ policy_id: id, version: 1 }] });
    expect((await findings(`audit_id=${audit.id}`)).filter((f) => f.policy_id === id).map((f) => f.resource.native_id)).toEqual([USER]);
    // Nothing changed since: the next incremental audit has nothing to evaluate.
    expect((await runAuditThroughHttp(t.app, owner, { mode: 'incremental' })).summary.coverage.resources_evaluated).toBe(0);
    await deletePolicies(id);
  });
});

const waitFor = (id: string) => waitForAudit(t.app, owner, id);

describe('overrides in an audit of the fixture inventory', () => {
  const ids: Record<string, string> = {};
  let audit: { id: string; policy_versions: { policy_id: string; version: number }[]; summary: { findings: Record<string, Record<string, number>> } };
  beforeAll(async () => {
    const overrides = {
      severity: { rule_id: 'aws.s3.bucket_public_read', severity: 'low' },
      disable: { rule_id: 'aws.rds.publicly_accessible', disable_rule: true },
      scope: { rule_id: 'aws.ec2.security_group_ssh_open', scope: { tags: { env: 'prod' } } },
      exception: { rule_id: 'aws.iam.user_without_mfa', exceptions: [{ selector: "resource.name == 'legacy-backup'", reason: 'Break-glass user, kept offline.' }] },
    };
    for (const [name, override] of Object.entries(overrides)) ids[name] = (await createPolicy({ kind: 'override', name, override }).then((r) => r.body)).id;
    audit = await runAuditThroughHttp(t.app, owner);
  });
  afterAll(() => deletePolicies(...Object.values(ids)));

  it('records the policies it applied', () => {
    expect(audit.policy_versions).toEqual(Object.values(ids).sort().map((policy_id) => ({ policy_id, version: 1 })));
  });

  it('a severity override changes the finding and the summary', async () => {
    expect(await findingOf('aws.s3.bucket_public_read', BUCKET)).toMatchObject({ severity: 'low', status: 'open' });
    expect(audit.summary.findings.security!.low).toBeGreaterThanOrEqual(1);
  });

  it('disabling a rule resolves its findings as excepted', async () => {
    expect(await findingOf('aws.rds.publicly_accessible', DB)).toMatchObject({ status: 'resolved', status_reason: 'excepted_by_policy' });
  });

  it('a scope leaves out resources outside it', async () => {
    expect(await findingOf('aws.ec2.security_group_ssh_open', SG)).toMatchObject({ status: 'resolved', status_reason: 'excepted_by_policy' });
  });

  it('an exception selector skips the resources it selects', async () => {
    expect(await findingOf('aws.iam.user_without_mfa', USER)).toMatchObject({ status: 'resolved', status_reason: 'excepted_by_policy' });
    // Rules no override touches are as they were.
    expect(await findingOf('aws.rds.storage_unencrypted', DB)).toMatchObject({ status: 'open', severity: expect.any(String) });
  });

  it('without the overrides the next audit reopens the findings at their own severity', async () => {
    await request(t.app).patch(`/v1/policies/${ids.disable}`).set(as(owner)).send({ enabled: false }).expect(200);
    await request(t.app).patch(`/v1/policies/${ids.severity}`).set(as(owner)).send({ enabled: false }).expect(200);
    await runAuditThroughHttp(t.app, owner);
    expect(await findingOf('aws.rds.publicly_accessible', DB)).toMatchObject({ status: 'open' });
    expect(await findingOf('aws.s3.bucket_public_read', BUCKET)).toMatchObject({ status: 'open', severity: 'critical' });
  });
});

describe('run-time bounds', () => {
  it('a policy too costly on one resource is an evaluation error there, not run, and the audit goes on', async () => {
    const other = (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: '345678901299', name: 'big' }).expect(201)).body.id;
    // Accepted when written (lists are assumed to hold 100 items); run, it would take minutes here.
    const items = Array.from({ length: 20_000 }, (_, i) => i);
    const big = { type: 'aws_s3_bucket', native_id: 'arn:aws:s3:::acme-big-list', provider: 'aws', region: 'us-west-2', name: 'acme-big-list', tags: {}, attributes: { items }, relationships: [] };
    await request(t.app).post(`/v1/accounts/${other}/imports?format=native&mode=full`).set(as(owner)).send({ resources: [big] }).expect(201);
    const condition = "attr(resource, 'attributes.items', []).exists(a, attr(resource, 'attributes.items', []).exists(b, a + b < 0.0))";
    const id = (await createPolicy({ ...devBuckets, custom: { ...devBuckets.custom, resource_types: ['aws_s3_bucket'], condition } }).then((r) => r.body)).id;
    const audit = await runAuditThroughHttp(t.app, owner);
    expect(audit.status).toBe('succeeded');
    expect(audit.summary.rule_results[id]).toEqual({ evaluated: 1, failed: 0, errors: 1, unknown: 0 });
    expect(audit.summary.evaluation_errors).toContainEqual({ rule_id: id, resource_id: expect.any(String), message: expect.stringMatching(/^not evaluated: .* estimated \d+ steps/) });
    // The built-in rules still ran on it.
    expect(audit.summary.rule_results['aws.s3.bucket_public_read'].evaluated).toBe(2);
    await deletePolicies(id);
  });
});

describe('run-time bounds of a rule set', () => {
  const bucket = (id: string, items: number[]) => ({
    id, account_id: 'acc_1', type: 'aws_s3_bucket', provider: 'aws' as const, native_id: id, region: null, name: id, tags: {}, attributes: { items }, relationships: [],
  });
  const context = { related: [], referencedBy: [], now: NOW };
  const policy = (condition: string) => ({ id: 'pol_1', version: 1, kind: 'custom' as const, override: null, custom: { ...devBuckets.custom, dimension: 'compliance' as const, severity: 'medium' as const, resource_types: ['aws_s3_bucket'], remediation: { text: 'x', terraform: null }, condition } });

  it('records an evaluation over the time limit, then stops a policy that has used its budget', async () => {
    const rules = new RuleSet(await loadCatalogue(), await loadCelEngine(), [policy("size(resource.attributes.items) > 0")], { evaluationTimeLimitMs: 0, policyTimeBudgetMs: 0.000001, policiesTimeBudgetMs: 60_000 });
    const rule = rules.rule('pol_1')!;
    expect(rules.evaluate(rule, bucket('a', [1]), context)).toEqual({ outcome: 'error', message: expect.stringContaining('over the 0 ms limit') });
    expect(rules.evaluate(rule, bucket('b', [1]), context)).toEqual({ outcome: 'error', message: expect.stringContaining('has used its') });
  });

  it('stops every policy once all of them together have used their budget', async () => {
    const second = { ...policy("size(resource.attributes.items) > 0"), id: 'pol_2' };
    const rules = new RuleSet(await loadCatalogue(), await loadCelEngine(), [policy("size(resource.attributes.items) > 0"), second], {
      evaluationTimeLimitMs: 1000,
      policyTimeBudgetMs: 1000,
      policiesTimeBudgetMs: 0.000001,
    });
    expect(rules.evaluate(rules.rule('pol_1')!, bucket('a', [1]), context)).toEqual({ outcome: 'fail', evidence: expect.any(Array), monthly_usd: null });
    expect(rules.evaluate(rules.rule('pol_2')!, bucket('a', [1]), context)).toEqual({ outcome: 'error', message: expect.stringContaining("the organization's policies have used") });
  });

  it('does not start an evaluation whose estimated cost on the resource is over the bound', async () => {
    const rules = new RuleSet(await loadCatalogue(), await loadCelEngine(), [policy('resource.attributes.items.exists(a, resource.attributes.items.exists(b, a + b < 0.0))')]);
    const rule = rules.rule('pol_1')!;
    expect(rules.evaluate(rule, bucket('a', [1, 2, 3]), context)).toEqual({ outcome: 'pass' });
    expect(rules.evaluate(rule, bucket('b', Array.from({ length: 1000 }, (_, i) => i)), context)).toEqual({ outcome: 'error', message: expect.stringContaining('not evaluated') });
  });
});

describe('tenancy and roles', () => {
  it("answers 404 for another organization's policy on every operation, and a viewer cannot write", async () => {
    const id = (await createPolicy(devBuckets)).body.id as string;
    await t.db.transaction().execute((trx) => insertOrganizationWithOwner(trx, { name: 'Other', username: 'pol-other', password: 'other-password-123' }));
    const other = await logInAs(t.app, 'pol-other', 'other-password-123');
    expectError(await request(t.app).get(`/v1/policies/${id}`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).patch(`/v1/policies/${id}`).set(as(other)).send({ enabled: false }), 404, 'not_found');
    expectError(await request(t.app).delete(`/v1/policies/${id}`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).get(`/v1/policies/${id}/versions`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).post('/v1/policies/test').set(as(other)).send({ policy_id: id, audit_id: firstAuditId }), 404, 'not_found');
    expectError(await request(t.app).post('/v1/policies/test').set(as(other)).send({ policy: devBuckets, audit_id: firstAuditId }), 404, 'not_found');
    expect((await request(t.app).get('/v1/policies').set(as(other)).expect(200)).body.data).toEqual([]);
    const scoped = await createPolicy({ kind: 'override', name: 'x', override: { rule_id: 'aws.s3.bucket_public_read', scope: { account_ids: [aws] } } }, other);
    expectError(scoped, 422, 'invalid_policy');

    const viewer = await t.addMember('viewer');
    expectError(await createPolicy(devBuckets, viewer.token), 403, 'insufficient_scope');
    expectError(await request(t.app).patch(`/v1/policies/${id}`).set(as(viewer.token)).send({ enabled: false }), 403, 'insufficient_scope');
    expectError(await request(t.app).delete(`/v1/policies/${id}`).set(as(viewer.token)), 403, 'insufficient_scope');
    await request(t.app).get(`/v1/policies/${id}`).set(as(viewer.token)).expect(200);
    await request(t.app).post('/v1/policies/test').set(as(viewer.token)).send({ policy_id: id }).expect(200);
    expect((await request(t.app).get(`/v1/policies/${id}`).set(as(owner)).expect(200)).body.version).toBe(1);
    await deletePolicies(id);
  });
});

describe('dry runs that cannot run, and errors on resources', () => {
  it('answers 409 for an audit that has not succeeded and when there is no succeeded audit', async () => {
    const organizationId = (await request(t.app).get('/v1/me').set(as(owner)).expect(200)).body.organization.id as string;
    const finishedAt = new Date('2020-01-01T00:00:00Z');
    for (const status of ['queued', 'running', 'failed', 'canceled'] as const) {
      const audit_id = await seedAudit(t.db, organizationId, { status, finishedAt });
      expectError(await request(t.app).post('/v1/policies/test').set(as(owner)).send({ policy: devBuckets, audit_id }), 409, 'audit_not_finished');
    }
    await t.db.transaction().execute((trx) => insertOrganizationWithOwner(trx, { name: 'New', username: 'pol-new', password: 'other-password-123' }));
    const fresh = await logInAs(t.app, 'pol-new', 'other-password-123');
    expectError(await request(t.app).post('/v1/policies/test').set(as(fresh)).send({ policy: devBuckets }), 409, 'audit_not_finished');
  });

  it('does not count a resource it could not evaluate as resolved', async () => {
    const erring = { kind: 'override', name: 'x', override: { rule_id: 'aws.s3.bucket_public_read', exceptions: [{ selector: "resource.attributes.nope == 'x'", reason: 'r' }] } };
    const result = (await request(t.app).post('/v1/policies/test').set(as(owner)).send({ policy: erring, audit_id: firstAuditId }).expect(200)).body;
    expect(result).toMatchObject({ findings_total: 0, diff: { new: 0, resolved: 0, unchanged: 0, severity_changed: 0 }, resolved: [], evaluation_errors_total: 1 });
    expect(result.evaluation_errors[0].message).toContain('exception selector');
  });

  it('shortens a long runtime error message, in a dry run and in an audit', async () => {
    const condition = `resource.attributes['${'k'.repeat(3000)}'] == 1.0`;
    const policy = { ...devBuckets, custom: { ...devBuckets.custom, resource_types: ['aws_db_instance'], condition } };
    const result = (await request(t.app).post('/v1/policies/test').set(as(owner)).send({ policy, audit_id: firstAuditId }).expect(200)).body;
    expect(result.evaluation_errors_total).toBe(1);
    expect(result.evaluation_errors[0].message.length).toBeLessThanOrEqual(500);
    const id = (await createPolicy(policy)).body.id as string;
    const audit = await runAuditThroughHttp(t.app, owner);
    expect(audit.summary.rule_results[id]).toEqual({ evaluated: 0, failed: 0, errors: 1, unknown: 0 });
    expect(audit.summary.evaluation_errors.find((e: { rule_id: string }) => e.rule_id === id).message.length).toBeLessThanOrEqual(500);
    await deletePolicies(id);
  });
});

describe('findings of a custom policy that changes or goes', () => {
  it('resolves those on resource types it no longer covers, and all of a deleted one; the audits keep citing it', async () => {
    const id = (await createPolicy(devBuckets)).body.id as string;
    const applied = await runAuditThroughHttp(t.app, owner);
    expect((await findingOf(id, BUCKET))!.status).toBe('open');
    const narrowed = { policy_id: id, changes: { custom: { ...devBuckets.custom, resource_types: ['aws_db_instance'] } } };
    const tried = (await request(t.app).post('/v1/policies/test').set(as(owner)).send(narrowed).expect(200)).body;
    expect(tried.diff).toEqual({ new: 0, resolved: 1, unchanged: 1, severity_changed: 0 });

    await request(t.app).patch(`/v1/policies/${id}`).set(as(owner)).send(narrowed.changes).expect(200);
    await runAuditThroughHttp(t.app, owner);
    expect(await findingOf(id, BUCKET)).toMatchObject({ status: 'resolved', status_reason: 'policy_disabled' });
    expect(await findingOf(id, DB)).toMatchObject({ status: 'open', policy_version: 2 });

    await deletePolicies(id);
    expect((await request(t.app).get(`/v1/audits/${applied.id}`).set(as(owner)).expect(200)).body.policy_versions).toContainEqual({ policy_id: id, version: 1 });
    const reanalysis = await waitFor((await request(t.app).post(`/v1/audits/${applied.id}/reanalyze`).set(as(owner)).expect(202)).body.id);
    expect(reanalysis).toMatchObject({ status: 'succeeded', policy_versions: [] });
    await runAuditThroughHttp(t.app, owner);
    expect(await findingOf(id, DB)).toMatchObject({ status: 'resolved', status_reason: 'policy_disabled' });
  });
});
