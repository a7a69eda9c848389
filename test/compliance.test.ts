import request from 'supertest';
import { insertOrganizationWithOwner } from '../src/organizations/organizations.service';
import { loadCatalogue } from '../src/rules/catalogue';
import { as, logInAs, useTestApp } from './support/app';
import { seedAudit } from './support/audits';
import { seedFinding } from './support/compliance';
import { expectError } from './support/expectations';
import { seedResources } from './support/inventory';

/** How many controls the catalogue lists for a framework, and for all of them: the catalogue grows, the arithmetic stays. */
let controlCounts: Map<string, number>;
const controlCount = (id: string) => controlCounts.get(id)!;
async function allControlsCount(): Promise<number> {
  controlCounts ??= new Map((await loadCatalogue()).frameworks.map((f) => [f.id, f.controls.length]));
  return [...controlCounts.values()].reduce((a, b) => a + b, 0);
}
/** Coverage as the API rounds it: 100 × evaluated / total, one decimal. */
const coverageOf = (evaluated: number, total: number) => Math.round((1000 * evaluated) / total) / 10;
/** The catalogue's rules citing a control, by id, as a control lists them before any audit evaluated them. */
async function catalogueRulesOf(frameworkId: string, controlId: string) {
  const { rules } = await loadCatalogue();
  return rules
    .filter(({ rule }) => (rule.compliance as Record<string, readonly string[] | undefined>)[frameworkId]?.includes(controlId))
    .map(({ rule }) => ({ id: rule.id, title: rule.title, evaluated: 0, errors: 0, failing_resources: 0 }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}
// CIS AWS controls the catalogue had from the start (it only grows).
const FIRST_CIS_CONTROLS = ['1.4', '1.8', '1.9', '1.10', '1.14', '1.16', '1.19', '2.1.4', '2.2.1', '2.3.1', '2.3.2', '2.3.3', '3.1', '3.2', '3.4', '3.5', '3.6', '5.2', '5.3', '5.4', '5.6'];

// The latest audit saw two buckets and a volume:
// - bucket_public_read failed on both buckets, but the finding on bucket 2 is suppressed;
// - bucket_policy_public failed on bucket 1 (so CIS 2.1.4 fails on one distinct resource);
// - access_logging_disabled failed only on bucket 2, suppressed: CIS 3.4 passes;
// - versioning_disabled failed on bucket 2, risk accepted: still a failure (SOC 2 A1.2);
// - ebs_volume_unencrypted passed on the volume.
// An older audit saw the volume unencrypted (a finding resolved since).
const t = useTestApp();
let owner: string;
let organizationId: string;
let latestAuditId: string;
let olderAuditId: string;
let runningAuditId: string;
let bucket1: string;
beforeAll(async () => {
  owner = await t.ownerToken();
  organizationId = (await request(t.app).get('/v1/me').set(as(owner))).body.organization.id;
  const accountId = (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: '123456789012', name: 'prod' })).body.id;
  let bucket2: string, volume: string;
  [bucket1, bucket2, volume] = await seedResources(t.db, organizationId, accountId, [
    { type: 'aws_s3_bucket' },
    { type: 'aws_s3_bucket' },
    { type: 'aws_ebs_volume' },
  ]) as [string, string, string];

  olderAuditId = await seedAudit(t.db, organizationId, {
    finishedAt: new Date('2026-11-20T08:00:00Z'),
    ruleResults: { 'aws.ec2.ebs_volume_unencrypted': { evaluated: 1, failed: 1, errors: 0 } },
  });
  await seedFinding(t.db, organizationId, { ruleId: 'aws.ec2.ebs_volume_unencrypted', resourceId: volume, status: 'resolved', auditIds: [olderAuditId] });

  latestAuditId = await seedAudit(t.db, organizationId, {
    finishedAt: new Date('2026-11-22T08:00:00Z'),
    ruleResults: {
      'aws.s3.bucket_public_read': { evaluated: 2, failed: 2, errors: 0 },
      'aws.s3.bucket_policy_public': { evaluated: 2, failed: 1, errors: 0 },
      'aws.s3.access_logging_disabled': { evaluated: 2, failed: 1, errors: 0 },
      'aws.s3.versioning_disabled': { evaluated: 2, failed: 1, errors: 0 },
      'aws.ec2.ebs_volume_unencrypted': { evaluated: 1, failed: 0, errors: 0 },
    },
  });
  const seen = [latestAuditId];
  await seedFinding(t.db, organizationId, { ruleId: 'aws.s3.bucket_public_read', resourceId: bucket1, status: 'open', auditIds: seen });
  await seedFinding(t.db, organizationId, { ruleId: 'aws.s3.bucket_public_read', resourceId: bucket2, status: 'suppressed', auditIds: seen });
  await seedFinding(t.db, organizationId, { ruleId: 'aws.s3.bucket_policy_public', resourceId: bucket1, status: 'open', auditIds: seen });
  await seedFinding(t.db, organizationId, { ruleId: 'aws.s3.access_logging_disabled', resourceId: bucket2, status: 'suppressed', auditIds: seen });
  await seedFinding(t.db, organizationId, { ruleId: 'aws.s3.versioning_disabled', resourceId: bucket2, status: 'risk_accepted', auditIds: seen });

  // Started after the latest succeeded one, and not finished: it is not "the latest".
  runningAuditId = await seedAudit(t.db, organizationId, { status: 'running', finishedAt: new Date('2026-11-23T08:00:00Z') });
});

type Control = { id: string; status: string; failing_resources: number; rules: { id: string; evaluated: number; failing_resources: number }[] };

async function framework(id: string, query = ''): Promise<{ body: { audit_id: string | null; summary: object; controls: Control[] } & Record<string, unknown> }> {
  const response = await request(t.app).get(`/v1/compliance/frameworks/${id}${query}`).set(as(owner));
  expect(response.status).toBe(200);
  return response;
}

function control(controls: Control[], id: string): Control {
  const found = controls.find((c) => c.id === id);
  if (!found) throw new Error(`no control ${id}`);
  return found;
}

describe('GET /v1/compliance/frameworks', () => {
  it('lists every framework of the catalogue in one page', async () => {
    const response = await request(t.app).get('/v1/compliance/frameworks').set(as(owner));
    expect(response.status).toBe(200);
    const { frameworks } = await loadCatalogue();
    expect(frameworks.map((f) => f.id)).toEqual(['cis_aws_foundations', 'aws_fsbp', 'cis_azure_foundations', 'cis_gcp_foundations', 'soc2', 'pci_dss']);
    expect(frameworks.find((f) => f.id === 'soc2')).toMatchObject({ name: 'SOC 2 Trust Services Criteria', version: '2017 (revised 2022)' });
    expect(frameworks.find((f) => f.id === 'pci_dss')).toMatchObject({ name: 'Payment Card Industry Data Security Standard', version: '4.0' });
    expect(response.body).toEqual({
      data: frameworks.map((f) => ({ id: f.id, name: f.name, version: f.version, controls_count: f.controls.length })),
      next_cursor: null,
      has_more: false,
    });
  });
});

describe('GET /v1/compliance/frameworks/{id}', () => {
  it('reports the latest succeeded audit, with its provenance', async () => {
    const { body } = await framework('cis_aws_foundations');
    expect(body).toMatchObject({
      id: 'cis_aws_foundations',
      audit_id: latestAuditId,
      audit_finished_at: '2026-11-22T08:00:00.000Z',
      catalogue_version: 'abc123def456',
    });
    await allControlsCount();
    const cis = (await loadCatalogue()).frameworks.find((f) => f.id === 'cis_aws_foundations')!;
    expect(body.controls).toHaveLength(controlCount('cis_aws_foundations'));
    expect(body.controls.map((c) => c.id)).toEqual(cis.controls.map((c) => c.id));
    expect(body.controls.map((c) => c.id)).toEqual(expect.arrayContaining(FIRST_CIS_CONTROLS));
  });

  it("lists controls in the framework's order, also when they are spread over several files", async () => {
    const ids = async (id: string) => (await framework(id)).body.controls.map((c) => c.id);
    const cis = await ids('cis_aws_foundations');
    expect(cis).toEqual(expect.arrayContaining(['1.4', '1.13', '2.1.1', '2.4.1']));
    // Numbers by value: 1.4 < 1.13 < 2.1.1 < 2.4.1 (the data-store controls come from another file).
    expect(cis.indexOf('1.4')).toBeLessThan(cis.indexOf('1.13'));
    expect(cis.indexOf('1.13')).toBeLessThan(cis.indexOf('2.1.1'));
    expect(cis.indexOf('2.1.1')).toBeLessThan(cis.indexOf('2.4.1'));
    const fsbp = await ids('aws_fsbp');
    expect(fsbp).toEqual(expect.arrayContaining(['APIGateway.1', 'DMS.9', 'DMS.11', 'EC2.6', 'EC2.9', 'EC2.17']));
    expect(fsbp.indexOf('DMS.9')).toBeLessThan(fsbp.indexOf('DMS.11'));
    expect(fsbp.indexOf('EC2.9')).toBeLessThan(fsbp.indexOf('EC2.17'));
    expect(fsbp.indexOf('APIGateway.1')).toBeLessThan(fsbp.indexOf('EC2.6'));
    // A framework in one file keeps that file's order: SOC 2's common criteria before availability.
    expect(await ids('soc2')).toEqual(['CC6.1', 'CC6.2', 'CC6.3', 'CC6.6', 'CC6.7', 'CC7.1', 'CC7.2', 'CC8.1', 'A1.2']);
  });

  it('fails a control on its distinct failing resources, leaving suppressed findings out', async () => {
    const { body } = await framework('cis_aws_foundations');
    // Every rule the catalogue cites for 2.1.4; the audit evaluated two of them.
    const evaluated: Record<string, { evaluated: number; failing_resources: number }> = {
      'aws.s3.bucket_policy_public': { evaluated: 2, failing_resources: 1 },
      'aws.s3.bucket_public_read': { evaluated: 2, failing_resources: 1 },
    };
    const rules = (await catalogueRulesOf('cis_aws_foundations', '2.1.4')).map((r) => ({ ...r, ...evaluated[r.id] }));
    expect(rules.map((r) => r.id)).toEqual(expect.arrayContaining(['aws.s3.bucket_policy_public', 'aws.s3.bucket_public_read', 'aws.s3.public_access_block_off']));
    expect(control(body.controls, '2.1.4')).toEqual({
      id: '2.1.4',
      title: "Ensure that S3 Buckets are configured with 'Block public access (bucket settings)'",
      status: 'failed',
      // bucket 1 fails two of its rules and counts once; bucket 2's finding is suppressed.
      failing_resources: 1,
      rules,
    });
    expect(control(body.controls, '2.1.4').rules.find((r) => r.id === 'aws.s3.public_access_block_off')).toMatchObject({ evaluated: 0, failing_resources: 0 });
  });

  it('passes a control whose rules were evaluated and did not fail, or failed only on suppressed findings', async () => {
    const { body } = await framework('cis_aws_foundations');
    expect(control(body.controls, '2.2.1')).toMatchObject({ status: 'passed', failing_resources: 0 });
    expect(control(body.controls, '3.4')).toMatchObject({ status: 'passed', failing_resources: 0, rules: [{ id: 'aws.s3.access_logging_disabled', evaluated: 2, failing_resources: 0 }] });
  });

  it('counts a risk-accepted finding as a failure', async () => {
    const { body } = await framework('soc2');
    expect(control(body.controls, 'A1.2')).toMatchObject({ status: 'failed', failing_resources: 1 });
  });

  it('leaves controls without evaluated rules, or without rules, not_evaluated', async () => {
    const cis = await framework('cis_aws_foundations');
    const cloudTrailRules = await catalogueRulesOf('cis_aws_foundations', '3.1');
    expect(cloudTrailRules.length).toBeGreaterThanOrEqual(2);
    expect(control(cis.body.controls, '3.1')).toMatchObject({ status: 'not_evaluated', failing_resources: 0, rules: cloudTrailRules });
    // Rules no audit evaluated (a GCP rule here) leave the control not_evaluated.
    const soc2 = await framework('soc2');
    expect(control(soc2.body.controls, 'CC6.2')).toEqual({
      id: 'CC6.2',
      title: expect.any(String),
      status: 'not_evaluated',
      failing_resources: 0,
      rules: await catalogueRulesOf('soc2', 'CC6.2'),
    });
    expect(control(soc2.body.controls, 'CC6.2').rules.map((r) => r.id)).toContain('gcp.iam.personal_account_granted');
    // Controls the catalogue cites no rule for.
    const { frameworks, rules } = await loadCatalogue();
    const cited = new Set(rules.flatMap(({ rule }) => Object.entries(rule.compliance as Record<string, readonly string[]>).flatMap(([f, ids]) => ids.map((c) => `${f} ${c}`))));
    const withoutRules = frameworks.flatMap((f) => f.controls.filter((c) => !cited.has(`${f.id} ${c.id}`)).map((c) => [f.id, c.id] as const));
    expect(withoutRules.length).toBeGreaterThan(0);
    for (const [frameworkId, controlId] of withoutRules) {
      const { body } = await framework(frameworkId);
      expect(control(body.controls, controlId)).toEqual({ id: controlId, title: expect.any(String), status: 'not_evaluated', failing_resources: 0, rules: [] });
    }
  });

  it('summarizes the framework: CIS passes 2.2.1 and 3.4, fails 2.1.4, has no data on its other controls', async () => {
    const { body } = await framework('cis_aws_foundations');
    await allControlsCount();
    const cis = controlCount('cis_aws_foundations');
    expect(body.controls).toHaveLength(cis);
    // score = 100 × 2 / (2 + 1) = 66.666… → 66.7; coverage = 100 × 3 / its controls
    expect(body.summary).toEqual({ score: 66.7, passed: 2, failed: 1, not_evaluated: cis - 3, coverage: coverageOf(3, cis) });
    expect(body.controls.filter((c) => c.status === 'not_evaluated')).toHaveLength(cis - 3);
  });

  it('answers an older audit with that audit view, counting a finding resolved since', async () => {
    const { body } = await framework('cis_aws_foundations', `?audit_id=${olderAuditId}`);
    expect(body).toMatchObject({ audit_id: olderAuditId, audit_finished_at: '2026-11-20T08:00:00.000Z' });
    expect(control(body.controls, '2.2.1')).toMatchObject({ status: 'failed', failing_resources: 1 });
    expect(control(body.controls, '2.1.4').status).toBe('not_evaluated');
    await allControlsCount();
    const cis = controlCount('cis_aws_foundations');
    // score = 100 × 0 / (0 + 1) = 0; coverage = 100 × 1 / its controls
    expect(body.summary).toEqual({ score: 0, passed: 0, failed: 1, not_evaluated: cis - 1, coverage: coverageOf(1, cis) });
    expect(body.controls.filter((c) => c.status === 'failed').map((c) => c.id)).toEqual(['2.2.1']);
  });

  it('answers 404 for an unknown framework, even with an unfinished audit', async () => {
    expectError(await request(t.app).get('/v1/compliance/frameworks/iso27001').set(as(owner)), 404, 'not_found');
    expectError(await request(t.app).get(`/v1/compliance/frameworks/iso27001?audit_id=${runningAuditId}`).set(as(owner)), 404, 'not_found');
  });

  it('answers 409 audit_not_finished for an audit that has not succeeded', async () => {
    const response = await request(t.app).get(`/v1/compliance/frameworks/soc2?audit_id=${runningAuditId}`).set(as(owner));
    expectError(response, 409, 'audit_not_finished');
    expect(response.body.error.message).toContain('running');
  });

  it('answers 404 for an audit id that does not exist', async () => {
    expectError(await request(t.app).get('/v1/compliance/frameworks/soc2?audit_id=aud_01JD8X3N5W6Q2R4T7Y9ZABCDEF').set(as(owner)), 404, 'not_found');
  });

  it('answers 422 for an audit_id that is not an audit id', async () => {
    expectError(await request(t.app).get(`/v1/compliance/frameworks/soc2?audit_id=${bucket1}`).set(as(owner)), 422, 'validation_failed');
  });
});

describe('GET /v1/compliance/score', () => {
  it('scores each framework and overall, with the controls behind the numbers', async () => {
    const response = await request(t.app).get('/v1/compliance/score').set(as(owner));
    expect(response.status).toBe(200);
    const all = await allControlsCount();
    const [cis, fsbp, soc2, pci] = [controlCount('cis_aws_foundations'), controlCount('aws_fsbp'), controlCount('soc2'), controlCount('pci_dss')];
    const coverage = coverageOf;
    expect(response.body).toEqual({
      audit_id: latestAuditId,
      audit_finished_at: '2026-11-22T08:00:00.000Z',
      catalogue_version: 'abc123def456',
      formula: expect.stringContaining('100 × passed / (passed + failed)'),
      // Σpassed = 2 + 1 + 1 + 2 = 6, Σfailed = 1 + 1 + 3 + 2 = 7 (the Azure and GCP frameworks' controls are not evaluated)
      // score = 100 × 6 / 13 = 46.15… → 46.2 (not the mean of 66.7, 50, 25 and 50); coverage = 100 × 13 / all controls
      overall: { score: 46.2, passed: 6, failed: 7, not_evaluated: all - 13, coverage: coverage(13, all) },
      frameworks: expect.arrayContaining([
        {
          id: 'cis_aws_foundations',
          name: 'CIS Amazon Web Services Foundations Benchmark',
          // 100 × 2 / 3 = 66.7; coverage 100 × 3 / its controls
          score: 66.7,
          passed: 2,
          failed: 1,
          not_evaluated: cis - 3,
          coverage: coverage(3, cis),
          passed_controls: ['2.2.1', '3.4'],
          failed_controls: ['2.1.4'],
          excluded_controls: expect.arrayContaining(['1.4', '3.1', '5.6']),
        },
        {
          id: 'aws_fsbp',
          name: expect.any(String),
          // S3.2 fails on bucket 1's public read; S3.9 passes (access logging failed only where suppressed).
          // 100 × 1 / 2 = 50; coverage 100 × 2 / its controls
          score: 50,
          passed: 1,
          failed: 1,
          not_evaluated: fsbp - 2,
          coverage: coverage(2, fsbp),
          passed_controls: ['S3.9'],
          failed_controls: ['S3.2'],
          excluded_controls: expect.any(Array),
        },
        {
          id: 'soc2',
          name: 'SOC 2 Trust Services Criteria',
          // CC6.1 and CC6.6 fail on bucket 1's public rules, A1.2 on bucket 2's versioning (risk accepted);
          // CC7.2 passes (access logging failed only where suppressed). 100 × 1 / 4 = 25; coverage 100 × 4 / 9 = 44.4
          score: 25,
          passed: 1,
          failed: 3,
          not_evaluated: soc2 - 4,
          coverage: coverage(4, soc2),
          passed_controls: ['CC7.2'],
          failed_controls: ['CC6.1', 'CC6.6', 'A1.2'],
          excluded_controls: ['CC6.2', 'CC6.3', 'CC6.7', 'CC7.1', 'CC8.1'],
        },
        {
          id: 'pci_dss',
          name: 'Payment Card Industry Data Security Standard',
          // 1.4.4 and 7.2.1 fail on bucket 1; 3.5.1 (the volume) and 10.2.1 (suppressed only) pass.
          // 100 × 2 / 4 = 50; coverage 100 × 4 / its controls
          score: 50,
          passed: 2,
          failed: 2,
          not_evaluated: pci - 4,
          coverage: coverage(4, pci),
          passed_controls: ['3.5.1', '10.2.1'],
          failed_controls: ['1.4.4', '7.2.1'],
          excluded_controls: expect.any(Array),
        },
      ]),
    });
    expect(soc2).toBe(9);
    expect(response.body.frameworks.map((f: { id: string }) => f.id)).toEqual((await loadCatalogue()).frameworks.map((f) => f.id));
    expect(response.body.frameworks[0].excluded_controls).toHaveLength(cis - 3);
  });

  it('scores an older audit', async () => {
    const response = await request(t.app).get(`/v1/compliance/score?audit_id=${olderAuditId}`).set(as(owner));
    // Only ebs_volume_unencrypted was evaluated, and failed: CIS 2.2.1, SOC 2 CC6.1, PCI 3.5.1 fail.
    // Σpassed = 0, Σfailed = 3: 100 × 0 / 3 = 0; coverage = 100 × 3 / all controls
    const all = await allControlsCount();
    expect(response.body.overall).toEqual({ score: 0, passed: 0, failed: 3, not_evaluated: all - 3, coverage: Math.round(3000 / all) / 10 });
    const failed = Object.fromEntries(response.body.frameworks.map((f: { id: string; failed_controls: string[] }) => [f.id, f.failed_controls]));
    expect(failed).toMatchObject({ cis_aws_foundations: ['2.2.1'], soc2: ['CC6.1'], pci_dss: ['3.5.1'] });
  });

  it('answers 409 audit_not_finished for an audit that has not succeeded', async () => {
    expectError(await request(t.app).get(`/v1/compliance/score?audit_id=${runningAuditId}`).set(as(owner)), 409, 'audit_not_finished');
  });

  it('refuses a token without findings:read', async () => {
    const { secret } = await t.createPat(owner, ['resources:read', 'audits:read']);
    expectError(await request(t.app).get('/v1/compliance/score').set(as(secret)), 403, 'insufficient_scope');
    expectError(await request(t.app).get('/v1/compliance/frameworks/soc2').set(as(secret)), 403, 'insufficient_scope');
    const { secret: reader } = await t.createPat(owner, ['findings:read']);
    expect((await request(t.app).get('/v1/compliance/score').set(as(reader))).status).toBe(200);
  });
});

describe('another organization', () => {
  let other: string;
  let otherOrganizationId: string;
  beforeAll(async () => {
    ({ organizationId: otherOrganizationId } = await t.db
      .transaction()
      .execute((trx) => insertOrganizationWithOwner(trx, { name: 'Other', username: 'compliance-other', password: 'other-password-123' })));
    other = await logInAs(t.app, 'compliance-other', 'other-password-123');
  });

  it('without an audit yet sees every control not_evaluated and null scores', async () => {
    const score = await request(t.app).get('/v1/compliance/score').set(as(other));
    expect(score.status).toBe(200);
    expect(score.body).toMatchObject({
      audit_id: null,
      audit_finished_at: null,
      catalogue_version: expect.stringMatching(/^[0-9a-f]{12}$/),
      overall: { score: null, passed: 0, failed: 0, not_evaluated: await allControlsCount(), coverage: 0 },
    });
    for (const f of score.body.frameworks) expect(f).toMatchObject({ score: null, passed_controls: [], failed_controls: [] });
    const soc2 = await request(t.app).get('/v1/compliance/frameworks/soc2').set(as(other));
    expect(soc2.body.audit_id).toBeNull();
    expect(soc2.body.controls.every((c: Control) => c.status === 'not_evaluated' && c.rules.every((r) => r.evaluated === 0))).toBe(true);
  });

  it("cannot read this organization's audits: 404 both ways", async () => {
    expectError(await request(t.app).get(`/v1/compliance/score?audit_id=${latestAuditId}`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).get(`/v1/compliance/frameworks/soc2?audit_id=${latestAuditId}`).set(as(other)), 404, 'not_found');
    const theirs = await seedAudit(t.db, otherOrganizationId, { ruleResults: {} });
    expectError(await request(t.app).get(`/v1/compliance/score?audit_id=${theirs}`).set(as(owner)), 404, 'not_found');
    expect((await request(t.app).get(`/v1/compliance/score?audit_id=${theirs}`).set(as(other))).body.audit_id).toBe(theirs);
  });
});
