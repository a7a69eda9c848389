import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import request from 'supertest';
import { startWorkers } from '../src/workers';
import { insertOrganizationWithOwner } from '../src/organizations/organizations.service';
import { readCatalogue, type Catalogue } from '../src/rules/catalogue';
import { as, logInAs, startTestApp, useTestApp, type TestApp } from './support/app';
import { runAuditThroughHttp } from './support/audits';
import { expectError } from './support/expectations';
import { seedFindings } from './support/findings';
import { waitForReport } from './support/reports';
import { runTool } from './support/system-tools';

const native = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'inventory', 'native.json'), 'utf8'));
const spec = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'generated', 'openapi.json'), 'utf8'));
const RULES_DIR = path.join(__dirname, '..', 'src', 'rules');
const NOW = new Date('2026-11-26T00:00:00Z');
const BUCKET = 'arn:aws:s3:::acme-dev-uploads';

const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
ajv.addSchema({ $id: 'spec', components: spec.components }, 'spec');
const CONTENT_SCHEMAS = {
  executive_summary: 'ExecutiveSummaryReportContent',
  remediation_plan: 'RemediationPlanReportContent',
  compliance_evidence: 'ComplianceEvidenceReportContent',
} as const;
type ReportType = keyof typeof CONTENT_SCHEMAS;

function expectValid(type: ReportType, body: unknown): void {
  const validate = ajv.getSchema(`spec#/components/schemas/${CONTENT_SCHEMAS[type]}`)!;
  const valid = validate(body);
  expect(validate.errors ?? []).toEqual([]);
  expect(valid).toBe(true);
}

/** Renders every page of the PDF to PNG (pdftoppm) and answers its text (pdftotext, in drawing order: a wrapped id stays whole), pages, fonts and the PNGs' folder. */
function inspectPdf(pdf: Buffer, name: string): { text: string; pages: number; fonts: string; pngs: string[]; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `report-${name}-`));
  const file = path.join(dir, `${name}.pdf`);
  fs.writeFileSync(file, pdf);
  const pages = Number(/Pages:\s+(\d+)/.exec(runTool('pdfinfo', [file]))![1]);
  runTool('pdftoppm', ['-r', '40', '-png', file, path.join(dir, 'page')]);
  const pngs = fs.readdirSync(dir).filter((f) => f.endsWith('.png'));
  const text = runTool('pdftotext', ['-raw', file, '-']).replace(/\s+/g, ' ');
  const fonts = runTool('pdffonts', [file]);
  return { text, pages, fonts, pngs, dir };
}

/** Text without spaces and hyphens: pdftotext joins a word wrapped at a hyphen without it. */
function squeezed(text: string): string {
  return text.replace(/[\s-]/g, '');
}

/** Tables name each account; its id shows once, beside its name where the report is described. */
function expectAccountsByName(text: string, resources: { account_id: string }[]): void {
  const ids = [...new Set(resources.map((r) => r.account_id))];
  expect(ids.length).toBeGreaterThan(0);
  for (const id of ids) expect(text.split(id)).toHaveLength(2);
  expect(text).toMatch(/Accounts aws-0 \(acc_\w+\), azure-1 \(acc_\w+\), gcp-2 \(acc_\w+\)/);
}

let catalogue: Catalogue;
beforeAll(async () => {
  catalogue = await readCatalogue(path.join(RULES_DIR, 'catalogue'), path.join(RULES_DIR, 'frameworks'));
});
const t = useTestApp({}, { workers: true, auditSettings: { catalogue: async () => catalogue, now: () => NOW } });
let owner: string;
let firstAudit: { id: string };
let audit: { id: string; catalogue_version: string; summary: { coverage: object; scores: Record<string, number | null> } };
const reports: Record<string, { id: string; body: Record<string, unknown>; file: Buffer; headers: Record<string, string> }> = {};

beforeAll(async () => {
  owner = await t.ownerToken();
  let n = 0;
  const externalIds = { aws: '345678901234', azure: '3f2c1a7e-5b8d-4e6f-9a0b-000000000001', gcp: 'acme-test-1' };
  const accounts: Record<string, string> = {};
  for (const provider of ['aws', 'azure', 'gcp'] as const) {
    const body = { provider, external_id: externalIds[provider], name: `${provider}-${n++}` };
    accounts[provider] = (await request(t.app).post('/v1/accounts').set(as(owner)).send(body).expect(201)).body.id;
  }
  const importAll = async (resources: { provider: string }[]) => {
    for (const provider of ['aws', 'azure', 'gcp']) {
      await request(t.app)
        .post(`/v1/accounts/${accounts[provider]}/imports?format=native&mode=full`)
        .set(as(owner))
        .send({ resources: resources.filter((r) => r.provider === provider) })
        .expect(201);
    }
  };
  // Two audits: the first sees the bucket public; by the second it has been made private.
  await importAll(native.resources);
  firstAudit = await runAuditThroughHttp(t.app, owner);
  await importAll(
    native.resources.map((r: { native_id: string; attributes: object }) => (r.native_id === BUCKET ? { ...r, attributes: { ...r.attributes, acl: 'private', grant: [] } } : r)),
  );
  audit = await runAuditThroughHttp(t.app, owner);
  expect(audit).toMatchObject({ status: 'succeeded' });

  const requests = (['executive_summary', 'remediation_plan', 'compliance_evidence'] as const).flatMap((type) =>
    (['json', 'pdf'] as const).map((format) => ({ type, format, ...(type === 'compliance_evidence' ? { framework: 'cis_aws_foundations' } : {}) })),
  );
  const created = await Promise.all(requests.map((body) => request(t.app).post('/v1/reports').set(as(owner)).send(body)));
  for (const [i, response] of created.entries()) {
    expect(response.status).toBe(202);
    expect(response.headers.location).toBe(`/v1/reports/${response.body.id}`);
    expect(response.body).toMatchObject({ status: 'queued', audit_id: audit.id });
    const ended = await waitForReport(t.app, owner, response.body.id);
    const download = await request(t.app)
      .get(`/v1/reports/${response.body.id}/download`)
      .set(as(owner))
      .buffer(true)
      .parse((res, callback) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => callback(null, Buffer.concat(chunks)));
      });
    reports[`${requests[i]!.type}.${requests[i]!.format}`] = { id: response.body.id, body: ended, file: download.body as Buffer, headers: download.headers as Record<string, string> };
  }
}, 120_000);

describe('generating each type in each format through HTTP', () => {
  it('ends every report ready, with its size, sha256, generated_at and provenance', () => {
    for (const report of Object.values(reports)) {
      expect(report.body).toMatchObject({
        status: 'ready',
        error: null,
        size_bytes: report.file.length,
        sha256: createHash('sha256').update(report.file).digest('hex'),
        generated_at: expect.any(String),
        provenance: { audit_id: audit.id, catalogue_version: audit.catalogue_version, policy_versions: [], coverage: audit.summary.coverage },
      });
    }
  });

  it('serves the file with Content-Type, Content-Disposition, Content-Length and an ETag equal to its sha256', () => {
    for (const [key, report] of Object.entries(reports)) {
      const format = key.split('.')[1]!;
      expect(report.headers['content-type']).toMatch(format === 'pdf' ? /^application\/pdf$/ : /^application\/json/);
      expect(report.headers['content-disposition']).toBe(`attachment; filename="fourfold-${key.split('.')[0]}-${report.id}.${format}"`);
      expect(Number(report.headers['content-length'])).toBe(report.file.length);
      expect(report.headers.etag).toBe(`"${createHash('sha256').update(report.file).digest('hex')}"`);
    }
  });

  it('executive summary JSON: valid, with scores, their change, findings, top risks, savings and compliance', () => {
    const content = JSON.parse(reports['executive_summary.json']!.file.toString('utf8'));
    expectValid('executive_summary', content);
    expect(content.previous_audit_id).toBe(firstAudit.id);
    for (const d of content.dimensions) {
      expect(d.score).toBe(audit.summary.scores[d.dimension]);
      expect(d.change).toBe(d.score === null || d.previous_score === null ? null : d.score - d.previous_score);
    }
    // The bucket made private between the audits raised the security score.
    expect(content.dimensions.find((d: { dimension: string }) => d.dimension === 'security').change).toBeGreaterThan(0);
    const bySeverity = Object.values(content.findings.by_severity as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(content.findings.total).toBe(bySeverity);
    expect(content.findings.total).toBeGreaterThan(10);
    expect(content.top_risks.length).toBe(5);
    expect(content.cost.monthly_savings_usd).toBeGreaterThan(0);
    // Every framework of the catalogue, in its order.
    const frameworkIds = content.compliance.map((f: { framework_id: string }) => f.framework_id);
    expect(frameworkIds).toEqual(catalogue.frameworks.map((f) => f.id));
    expect(frameworkIds).toEqual(expect.arrayContaining(['cis_aws_foundations', 'aws_fsbp', 'cis_azure_foundations', 'cis_gcp_foundations', 'soc2', 'pci_dss']));
  });

  it('remediation plan JSON: valid, grouped by rule in priority order, every finding of the audit listed once', async () => {
    const content = JSON.parse(reports['remediation_plan.json']!.file.toString('utf8'));
    expectValid('remediation_plan', content);
    const priorities = content.groups.map((g: { priority: number }) => g.priority);
    expect(priorities).toEqual([...priorities].sort((a: number, b: number) => b - a));
    const listed = content.groups.flatMap((g: { resources: { finding_id: string }[] }) => g.resources.map((r) => r.finding_id)).sort();
    const findings = (await request(t.app).get(`/v1/findings?audit_id=${audit.id}&limit=200`).set(as(owner)).expect(200)).body.data;
    expect(listed).toEqual(findings.filter((f: { status: string }) => f.status !== 'suppressed').map((f: { id: string }) => f.id).sort());
    expect(content.totals.findings).toBe(listed.length);
    for (const group of content.groups) expect(group.resources).toHaveLength(group.affected_resources);
    expect(content.groups.map((g: { rule_id: string }) => g.rule_id)).not.toContain('aws.s3.bucket_public_read');
    const withTerraform = content.groups.find((g: { remediation: { terraform: string | null } }) => g.remediation.terraform);
    expect(withTerraform).toBeDefined();
  });

  it('compliance evidence JSON: valid, every control, and per rule the failing resources with evidence and the passing ones', async () => {
    const content = JSON.parse(reports['compliance_evidence.json']!.file.toString('utf8'));
    expectValid('compliance_evidence', content);
    const framework = (await request(t.app).get(`/v1/compliance/frameworks/cis_aws_foundations?audit_id=${audit.id}`).set(as(owner)).expect(200)).body;
    expect(content.summary).toEqual(framework.summary);
    expect(content.controls.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual(framework.controls.map((c: { id: string; status: string }) => [c.id, c.status]));
    for (const rule of content.rules) {
      expect(rule.failing_resources).toHaveLength(rule.failed);
      expect(rule.passing_resources).toHaveLength(rule.evaluated - rule.failed);
      for (const failing of rule.failing_resources) expect(failing.evidence.length).toBeGreaterThan(0);
    }
    const ebs = content.rules.find((r: { rule_id: string }) => r.rule_id === 'aws.ec2.ebs_volume_unencrypted');
    expect(ebs.failing_resources.map((r: { native_id: string }) => r.native_id)).toEqual(['arn:aws:ec2:us-west-2:345678901234:volume/vol-0f9e8d7c6b5a43210']);
    // The bucket passed the public-read rule in this audit: it is listed as passing, with no finding.
    const publicRead = content.rules.find((r: { rule_id: string }) => r.rule_id === 'aws.s3.bucket_public_read');
    expect(publicRead.passing_resources.map((r: { native_id: string }) => r.native_id)).toContain(BUCKET);
  });

  it('the PDFs open: every page renders, fonts are embedded, and the text holds the JSON figures', () => {
    const summary = JSON.parse(reports['executive_summary.json']!.file.toString('utf8'));
    const plan = JSON.parse(reports['remediation_plan.json']!.file.toString('utf8'));
    const evidence = JSON.parse(reports['compliance_evidence.json']!.file.toString('utf8'));
    const keep = process.env.REPORTS_PNG_DIR;
    for (const type of ['executive_summary', 'remediation_plan', 'compliance_evidence'] as const) {
      const pdf = inspectPdf(reports[`${type}.pdf`]!.file, type);
      expect(pdf.pages).toBeGreaterThanOrEqual(4);
      expect(pdf.pngs).toHaveLength(pdf.pages);
      expect(pdf.fonts).toMatch(/DejaVuSans\s+CID TrueType\s+Identity-H\s+yes\s+yes/);
      expect(pdf.fonts).not.toMatch(/Helvetica/);
      expect(pdf.text).toContain('Contents');
      expect(pdf.text).toContain(`Page 2 of ${pdf.pages}`);
      expect(pdf.text).toContain(audit.id);
      expect(pdf.text).toContain(audit.catalogue_version);
      if (keep) {
        fs.mkdirSync(keep, { recursive: true });
        fs.copyFileSync(path.join(pdf.dir, `${type}.pdf`), path.join(keep, `${type}.pdf`));
      }
      fs.rmSync(pdf.dir, { recursive: true });
      if (type === 'executive_summary') {
        expect(pdf.text).toContain(`The audit found ${summary.findings.total} failing checks`);
        expect(pdf.text).toContain(`$${summary.cost.monthly_savings_usd.toFixed(2)}`);
        for (const risk of summary.top_risks) expect(pdf.text).toContain(risk.title);
        for (const d of summary.dimensions) if (d.score !== null) expect(pdf.text).toContain(`${d.score}`);
      }
      if (type === 'remediation_plan') {
        for (const group of plan.groups) expect(pdf.text).toContain(`${group.rank}. ${group.title}`);
        for (const resource of plan.groups.flatMap((g: { resources: { native_id: string }[] }) => g.resources)) expect(squeezed(pdf.text)).toContain(squeezed(resource.native_id));
        expectAccountsByName(pdf.text, plan.groups.flatMap((g: { resources: { account_id: string }[] }) => g.resources));
      }
      if (type === 'compliance_evidence') {
        for (const control of evidence.controls) expect(squeezed(pdf.text)).toContain(squeezed(control.title));
        for (const rule of evidence.rules) for (const r of [...rule.failing_resources, ...rule.passing_resources]) expect(squeezed(pdf.text)).toContain(squeezed(r.native_id));
        expectAccountsByName(pdf.text, evidence.rules.flatMap((r: { failing_resources: { account_id: string }[]; passing_resources: { account_id: string }[] }) => [...r.failing_resources, ...r.passing_resources]));
        // A rule evaluated on no resource is a row of one table, not a section with two empty tables.
        const unevaluated = evidence.rules.filter((r: { evaluated: number; errors: number }) => r.evaluated === 0 && r.errors === 0);
        expect(unevaluated.length).toBeGreaterThan(0);
        const notEvaluatedTable = pdf.text.slice(pdf.text.indexOf('Rules not evaluated in this audit', pdf.text.indexOf('Evidence by rule')));
        for (const rule of unevaluated) expect(squeezed(notEvaluatedTable)).toContain(squeezed(`${rule.rule_id} ${rule.title}`));
        expect(pdf.text).not.toContain('None: the audit evaluated the rule on no resource.');
        expect(pdf.pages).toBeLessThan(evidence.rules.length);
      }
    }
  });
});

describe('the report resource', () => {
  it('lists reports newest first, filtered by type, status and audit, in pages', async () => {
    const all = (await request(t.app).get('/v1/reports?limit=4').set(as(owner)).expect(200)).body;
    expect(all.data).toHaveLength(4);
    expect(all.has_more).toBe(true);
    const next = (await request(t.app).get(`/v1/reports?limit=4&cursor=${all.next_cursor}`).set(as(owner)).expect(200)).body;
    expect(next.data).toHaveLength(2);
    const ids = [...all.data, ...next.data].map((r: { id: string }) => r.id);
    expect(ids).toEqual([...ids].sort().reverse());
    const plans = (await request(t.app).get(`/v1/reports?type=remediation_plan&status=ready&audit_id=${audit.id}`).set(as(owner)).expect(200)).body.data;
    expect(plans.map((r: { id: string }) => r.id).sort()).toEqual([reports['remediation_plan.json']!.id, reports['remediation_plan.pdf']!.id].sort());
    expectError(await request(t.app).get(`/v1/reports?type=executive_summary&cursor=${all.next_cursor}`).set(as(owner)), 400, 'invalid_cursor');
  });

  it('refuses a compliance report without a framework, a framework elsewhere, filters on evidence, and an unknown audit', async () => {
    expectError(await request(t.app).post('/v1/reports').set(as(owner)).send({ type: 'compliance_evidence', format: 'pdf' }), 422, 'validation_failed');
    expectError(await request(t.app).post('/v1/reports').set(as(owner)).send({ type: 'executive_summary', format: 'pdf', framework: 'soc2' }), 422, 'validation_failed');
    expectError(
      await request(t.app).post('/v1/reports').set(as(owner)).send({ type: 'compliance_evidence', format: 'json', framework: 'soc2', filters: { severities: ['high'] } }),
      422,
      'validation_failed',
    );
    expectError(await request(t.app).post('/v1/reports').set(as(owner)).send({ type: 'remediation_plan', format: 'json', audit_id: 'aud_01JD8X3N5W6Q2R4T7Y9ZABCDEF' }), 404, 'not_found');
    expectError(await request(t.app).post('/v1/reports').set(as(owner)).send({ type: 'nonsense', format: 'json' }), 422, 'validation_failed');
  });

  it('replays a retried creation with the same Idempotency-Key', async () => {
    const body = { type: 'executive_summary', format: 'json', filters: { dimensions: ['cost'] } };
    const first = await request(t.app).post('/v1/reports').set(as(owner)).set('Idempotency-Key', 'report-key-1').send(body).expect(202);
    const again = await request(t.app).post('/v1/reports').set(as(owner)).set('Idempotency-Key', 'report-key-1').send(body).expect(202);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const ended = await waitForReport(t.app, owner, first.body.id);
    expect(ended.filters).toEqual({ dimensions: ['cost'], severities: [], account_ids: [] });
    const content = (await request(t.app).get(`/v1/reports/${first.body.id}/download`).set(as(owner)).expect(200)).body;
    expectValid('executive_summary', content);
    expect(Object.entries(content.findings.by_dimension).filter(([d, counts]) => d !== 'cost' && Object.values(counts as object).some((c) => c > 0))).toEqual([]);
  });

  it('deletes a report', async () => {
    const created = await request(t.app).post('/v1/reports').set(as(owner)).send({ type: 'executive_summary', format: 'json' }).expect(202);
    await waitForReport(t.app, owner, created.body.id);
    await request(t.app).delete(`/v1/reports/${created.body.id}`).set(as(owner)).expect(204);
    expectError(await request(t.app).get(`/v1/reports/${created.body.id}`).set(as(owner)), 404, 'not_found');
    expectError(await request(t.app).get(`/v1/reports/${created.body.id}/download`).set(as(owner)), 404, 'not_found');
  });

  it('answers another organization with 404 and lists none of its reports', async () => {
    await t.db.transaction().execute((trx) => insertOrganizationWithOwner(trx, { name: 'Other', username: 'rpt-other', password: 'other-password-123' }));
    const other = await logInAs(t.app, 'rpt-other', 'other-password-123');
    const id = reports['remediation_plan.pdf']!.id;
    expect((await request(t.app).get('/v1/reports').set(as(other)).expect(200)).body.data).toEqual([]);
    expectError(await request(t.app).get(`/v1/reports/${id}`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).get(`/v1/reports/${id}/download`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).delete(`/v1/reports/${id}`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).post('/v1/reports').set(as(other)).send({ type: 'remediation_plan', format: 'json', audit_id: audit.id }), 404, 'not_found');
    // It has no audit of its own to default to.
    expectError(await request(t.app).post('/v1/reports').set(as(other)).send({ type: 'remediation_plan', format: 'json' }), 404, 'not_found');
    await request(t.app).get(`/v1/reports/${id}`).set(as(owner)).expect(200);
  });

  it('needs reports:write to create and delete, reports:read to read', async () => {
    const reader = await t.createPat(owner, ['reports:read']);
    expectError(await request(t.app).post('/v1/reports').set(as(reader.secret)).send({ type: 'executive_summary', format: 'pdf' }), 403, 'insufficient_scope');
    expectError(await request(t.app).delete(`/v1/reports/${reports['executive_summary.pdf']!.id}`).set(as(reader.secret)), 403, 'insufficient_scope');
    await request(t.app).get(`/v1/reports/${reports['executive_summary.pdf']!.id}/download`).set(as(reader.secret)).expect(200);
    const viewer = await t.addMember('viewer');
    expectError(await request(t.app).post('/v1/reports').set(as(viewer.token)).send({ type: 'executive_summary', format: 'pdf' }), 403, 'insufficient_scope');
    const findingsOnly = await t.createPat(owner, ['findings:read']);
    expectError(await request(t.app).get('/v1/reports').set(as(findingsOnly.secret)), 403, 'insufficient_scope');
  });
});

describe('reports kept in a folder, before they are ready, and failing', () => {
  let folderApp: TestApp;
  let token: string;
  let reportsDir: string;
  let auditId: string;
  beforeAll(async () => {
    reportsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fourfold-reports-'));
    // No workers yet: reports stay queued until the test starts them.
    folderApp = await startTestApp({ REPORTS_DIR: reportsDir });
    token = await folderApp.ownerToken();
    const me = (await request(folderApp.app).get('/v1/me').set(as(token)).expect(200)).body;
    const account = (await request(folderApp.app).post('/v1/accounts').set(as(token)).send({ provider: 'aws', external_id: '111122223333', name: 'seeded' }).expect(201)).body.id;
    // A tenant policy's findings carry the policy's id as rule_id and their own title and remediation.
    ({ auditId } = await seedFindings(folderApp.db, me.organization.id, account, [{ type: 'aws_s3_bucket', name: 'logs' }, { type: 'aws_instance', name: 'web-1' }], [
      { resource: 0, ruleId: 'pol_01JD8X3N5W6Q2R4T7Y9ZABCDEF', title: 'Buckets must carry a data-owner tag', severity: 'high' },
      { resource: 1, ruleId: 'pol_01JD8X3N5W6Q2R4T7Y9ZABCDEF', title: 'Buckets must carry a data-owner tag', severity: 'high' },
      { resource: 1, ruleId: 'aws.ec2.instance_outside_autoscaling', title: 'Instance outside autoscaling', severity: 'low', dimension: 'architecture' },
    ]));
  }, 120_000);
  afterAll(async () => {
    await folderApp.close();
    fs.rmSync(reportsDir, { recursive: true, force: true });
  });

  it('answers 409 report_not_ready before the report is ready, then serves it from the folder', async () => {
    const created = await request(folderApp.app).post('/v1/reports').set(as(token)).send({ type: 'remediation_plan', format: 'pdf', audit_id: auditId }).expect(202);
    expectError(await request(folderApp.app).get(`/v1/reports/${created.body.id}/download`).set(as(token)), 409, 'report_not_ready');
    expect((await request(folderApp.app).get(`/v1/reports/${created.body.id}`).set(as(token)).expect(200)).body).toMatchObject({ status: 'queued', size_bytes: null, sha256: null });

    await startWorkers({ jobs: folderApp.jobs, db: folderApp.db, logger: folderApp.logger, reportsDir });
    folderApp.jobs.wake('reports');
    const ready = await waitForReport(folderApp.app, token, created.body.id);
    expect(ready.status).toBe('ready');
    const file = path.join(reportsDir, await organizationOf(folderApp, token), `fourfold-remediation_plan-${ready.id}.pdf`);
    const onDisk = fs.readFileSync(file);
    expect(createHash('sha256').update(onDisk).digest('hex')).toBe(ready.sha256);
    const download = await request(folderApp.app).get(`/v1/reports/${ready.id}/download`).set(as(token)).buffer(true).parse((res, callback) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => callback(null, Buffer.concat(chunks)));
    });
    expect(download.status).toBe(200);
    expect(download.headers.etag).toBe(`"${ready.sha256}"`);
    const cached = await request(folderApp.app).get(`/v1/reports/${ready.id}/download`).set(as(token)).set('If-None-Match', `W/"0000", "${ready.sha256}"`);
    expect(cached.status).toBe(304);
    expect(cached.headers.etag).toBe(`"${ready.sha256}"`);
    expect(cached.headers['content-disposition']).toBeUndefined();
    const stale = await request(folderApp.app).get(`/v1/reports/${ready.id}/download`).set(as(token)).set('If-None-Match', '"0000"');
    expect(stale.status).toBe(200);
    expect(Number(download.headers['content-length'])).toBe(onDisk.length);
    expect(Buffer.compare(download.body as Buffer, onDisk)).toBe(0);
    // A file gone from the folder is our fault: a plain 500, not a broken attachment.
    fs.renameSync(file, `${file}.away`);
    const missing = await request(folderApp.app).get(`/v1/reports/${ready.id}/download`).set(as(token));
    expectError(missing, 500, 'internal_error');
    expect(missing.headers['content-disposition']).toBeUndefined();
    expect(missing.headers.etag).not.toBe(`"${ready.sha256}"`);
    fs.renameSync(`${file}.away`, file);
    const text = inspectPdf(onDisk, 'policy');
    expect(text.pngs).toHaveLength(text.pages);
    expect(text.text).toContain('1. Buckets must carry a data-owner tag');
    expect(text.text).toContain('pol_01JD8X3N5W6Q2R4T7Y9ZABCDEF');
    fs.rmSync(text.dir, { recursive: true });

    await request(folderApp.app).delete(`/v1/reports/${ready.id}`).set(as(token)).expect(204);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('ends a generation that cannot write its file failed, with the reason, and never serves it', async () => {
    // The reports folder replaced by a plain file: the organization's folder cannot be made in it.
    fs.rmSync(reportsDir, { recursive: true, force: true });
    fs.writeFileSync(reportsDir, 'not a folder');
    const created = await request(folderApp.app).post('/v1/reports').set(as(token)).send({ type: 'executive_summary', format: 'json', audit_id: auditId }).expect(202);
    const failed = await waitForReport(folderApp.app, token, created.body.id);
    expect(failed).toMatchObject({ status: 'failed', size_bytes: null, sha256: null, generated_at: null, error: { code: 'generation_failed', message: expect.stringMatching(/could not be generated: .*(ENOTDIR|EEXIST)/) } });
    expectError(await request(folderApp.app).get(`/v1/reports/${created.body.id}/download`).set(as(token)), 409, 'report_not_ready');
    fs.rmSync(reportsDir, { force: true });
  });
});

async function organizationOf(app: TestApp, token: string): Promise<string> {
  return (await request(app.app).get('/v1/me').set(as(token)).expect(200)).body.organization.id;
}
