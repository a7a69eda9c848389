import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import AjvDraft04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import request from 'supertest';
import { csvField } from '../src/findings/finding-export-formats';
import { insertOrganizationWithOwner } from '../src/organizations/organizations.service';
import { as, logInAs, useTestApp } from './support/app';
import { expectError } from './support/expectations';
import { seedFindings } from './support/findings';

const t = useTestApp();
let owner: string;
let organizationId: string;
let awsAccountId: string;
let findingIds: string[];
const TF_ADDRESS = 'module.net.aws_security_group.web["a"]';

const schema = (file: string) => JSON.parse(readFileSync(path.join(__dirname, '..', 'schemas', file), 'utf8')) as object;
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
// The SARIF 2.1.0 schema as Microsoft publishes it on npm (its final version, rtm.5; JSON Schema draft-04).
const sarifSchema = JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8')) as object;
// unicodeRegExp off: one of the schema's patterns is valid only without the u flag.
const ajvDraft04 = new AjvDraft04({ allErrors: true, strict: false, unicodeRegExp: false });
addFormats(ajvDraft04);
const validateSarif = ajvDraft04.compile(sarifSchema);
const validateOcsf = ajv.compile(schema('ocsf-1.4.0-detection_finding.json'));
const validateAsffBatch = ajv.compile(schema('asff-batch-import-findings.json'));

function exportOf(query: string, token = owner) {
  return request(t.app)
    .get(`/v1/findings/export?${query}`)
    .set(as(token))
    .buffer(true)
    .parse((res, done) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => done(null, text));
    });
}

/** RFC 4180 rows of `text` (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const endField = () => {
    row.push(field);
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted && c === '"' && text[i + 1] === '"') {
      field += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (!quoted && c === ',') {
      endField();
    } else if (!quoted && c === '\r' && text[i + 1] === '\n') {
      endField();
      rows.push(row);
      row = [];
      i++;
    } else {
      field += c;
    }
  }
  return rows;
}

beforeAll(async () => {
  owner = await t.ownerToken();
  organizationId = (await request(t.app).get('/v1/me').set(as(owner))).body.organization.id;
  awsAccountId = (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: '123456789012', name: 'prod' }).expect(201)).body.id;
  const azureAccountId = (
    await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'azure', external_id: '00000000-0000-0000-0000-000000000001', name: 'azure' }).expect(201)
  ).body.id;
  const aws = await seedFindings(
    t.db,
    organizationId,
    awsAccountId,
    [
      { type: 'aws_s3_bucket', name: '=HYPERLINK("http://evil")' },
      { type: 'aws_security_group', name: 'web' },
    ],
    [
      { resource: 0, ruleId: 'aws.s3.bucket_public_read', title: 'S3 bucket is publicly readable, "really"', severity: 'critical', compliance: { cis_aws_foundations: ['2.1.5'], soc2: ['CC6.1'] } },
      { resource: 1, ruleId: 'aws.ec2.sg_open_ssh', severity: 'high', status: 'suppressed', statusReason: 'Bastion, by design.' },
      { resource: 0, ruleId: 'aws.s3.bucket_versioning', severity: 'low', dimension: 'architecture', status: 'resolved', costMonthlyUsd: 12.5 },
    ],
  );
  const azure = await seedFindings(t.db, organizationId, azureAccountId, [{ type: 'azurerm_storage_account', name: 'store' }], [
    { resource: 0, ruleId: 'azure.storage.public_access', severity: 'medium' },
  ]);
  findingIds = [...aws.findingIds, ...azure.findingIds];
  // A resource a Terraform plan creates has no cloud id: its address stands in for one.
  await t.db.updateTable('resources').set({ native_id: TF_ADDRESS }).where('id', '=', aws.resourceIds[1]!).execute();
});

describe('GET /v1/findings/export', () => {
  it('writes CSV by RFC 4180 with a header row, and escapes formulas', async () => {
    const res = await exportOf('format=csv').expect(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe('attachment; filename="fourfold-findings.csv"');
    expect(res.body).toMatch(/\r\n$/);
    const rows = parseCsv(res.body as string);
    const header = rows[0]!;
    expect(header.slice(0, 7)).toEqual(['id', 'rule_id', 'policy_id', 'title', 'dimension', 'severity', 'status']);
    expect(rows).toHaveLength(1 + 4);
    expect(rows.every((row) => row.length === header.length)).toBe(true);
    const col = (row: string[], name: string) => row[header.indexOf(name)];
    const bucket = rows.find((row) => col(row, 'rule_id') === 'aws.s3.bucket_public_read')!;
    expect(col(bucket, 'title')).toBe('S3 bucket is publicly readable, "really"');
    expect(col(bucket, 'resource_name')).toBe(`'=HYPERLINK("http://evil")`);
    expect(col(bucket, 'compliance')).toBe('cis_aws_foundations:2.1.5;soc2:CC6.1');
    expect(col(rows.find((row) => col(row, 'status') === 'resolved')!, 'cost_monthly_usd')).toBe('12.5');
    // Most severe first by default, as the list.
    expect(rows.slice(1).map((row) => col(row, 'severity'))).toEqual(['critical', 'high', 'medium', 'low']);
  });

  it('escapes every formula-leading character', () => {
    expect(['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx'].map(csvField)).toEqual(["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", `"'\rx"`]);
    expect(csvField('plain')).toBe('plain');
    expect(csvField(-1)).toBe('-1');
    expect(csvField(null)).toBe('');
  });

  it('applies the list filters', async () => {
    const rows = parseCsv((await exportOf('format=csv&severity=high,critical&status=open').expect(200)).body as string);
    expect(rows.slice(1).map((row) => row[0])).toEqual([findingIds[0]]);
    expectError(await request(t.app).get('/v1/findings/export?format=csv&severity=urgent').set(as(owner)), 422, 'invalid_severity_filter');
  });

  it('writes SARIF 2.1.0 that validates against the published schema', async () => {
    const res = await exportOf('format=sarif').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/sarif\+json/);
    const log = JSON.parse(res.body as string);
    expect(validateSarif(log) ? [] : validateSarif.errors).toEqual([]);
    expect(log.runs).toHaveLength(1);
    const run = log.runs[0];
    expect(run.tool.driver.rules.length).toBeGreaterThan(10);
    expect(run.results).toHaveLength(4);
    const bucket = run.results.find((r: { ruleId: string }) => r.ruleId === 'aws.s3.bucket_public_read');
    expect(run.tool.driver.rules[bucket.ruleIndex].id).toBe('aws.s3.bucket_public_read');
    expect(bucket.level).toBe('error');
    expect(bucket.locations[0].logicalLocations[0]).toMatchObject({ kind: 'resource', name: '=HYPERLINK("http://evil")' });
    const sg = run.results.find((r: { ruleId: string }) => r.ruleId === 'aws.ec2.sg_open_ssh');
    expect(sg.locations[0].logicalLocations).toContainEqual({ name: TF_ADDRESS, fullyQualifiedName: TF_ADDRESS, kind: 'terraformAddress' });
    expect(sg.suppressions).toEqual([{ kind: 'external', status: 'accepted', justification: 'Bastion, by design.' }]);
  });

  it('writes OCSF Detection Findings that validate against the class schema', async () => {
    const res = await exportOf('format=ocsf').expect(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const events = JSON.parse(res.body as string) as Record<string, unknown>[];
    expect(events).toHaveLength(4);
    for (const event of events) expect(validateOcsf(event) ? [] : validateOcsf.errors).toEqual([]);
    expect(events[0]).toMatchObject({ class_uid: 2004, severity_id: 5, activity_id: 1, type_uid: 200401, finding_info: { uid: findingIds[0] } });
    expect(events.find((e) => (e.finding_info as { uid: string }).uid === findingIds[2])).toMatchObject({ activity_id: 3, type_uid: 200403, status_id: 4 });
  });

  it('writes ASFF as JSON Lines of BatchImportFindings batches of AWS findings', async () => {
    const res = await exportOf('format=asff&aws_region=eu-west-1').expect(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson');
    const lines = (res.body as string).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(1);
    const batch = JSON.parse(lines[0]!) as Record<string, unknown>[];
    expect(validateAsffBatch(batch) ? [] : validateAsffBatch.errors).toEqual([]);
    // The Azure finding is not one Security Hub takes.
    expect(batch.map((f) => f.Id)).toEqual(findingIds.slice(0, 3));
    expect(batch[0]).toMatchObject({ AwsAccountId: '123456789012', ProductArn: 'arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default', Resources: [{ Type: 'AwsS3Bucket' }] });
  });

  it('cuts ASFF into batches of at most 100', async () => {
    const resources = Array.from({ length: 5 }, (_, i) => ({ type: 'aws_instance', name: `bulk-${i}` }));
    const many = Array.from({ length: 230 }, (_, i) => ({ resource: i % 5, ruleId: `aws.bulk.rule_${i}`, severity: 'info' as const }));
    const org = await t.db.transaction().execute((trx) => insertOrganizationWithOwner(trx, { name: 'Bulk', username: 'bulk-owner', password: 'bulk-password-123' }));
    const token = await logInAs(t.app, 'bulk-owner', 'bulk-password-123');
    const account = (await request(t.app).post('/v1/accounts').set(as(token)).send({ provider: 'aws', external_id: '210987654321', name: 'bulk' }).expect(201)).body.id;
    await seedFindings(t.db, org.organizationId, account, resources, many);
    const lines = ((await exportOf('format=asff', token).expect(200)).body as string).trimEnd().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as unknown[]).length)).toEqual([100, 100, 30]);
    for (const line of lines) expect(validateAsffBatch(JSON.parse(line))).toBe(true);
    // Only that organization's findings: none of the first one's.
    const ours = (await exportOf('format=csv', token).expect(200)).body as string;
    for (const id of findingIds) expect(ours).not.toContain(id);
  });

  it('needs findings:read, and a format', async () => {
    const pat = await t.createPat(owner, ['audits:read']);
    expectError(await request(t.app).get('/v1/findings/export?format=csv').set(as(pat.secret)), 403, 'insufficient_scope');
    expectError(await request(t.app).get('/v1/findings/export?format=xml').set(as(owner)), 422, 'validation_failed');
    expectError(await request(t.app).get('/v1/findings/export'), 401, 'unauthenticated');
  });
});
