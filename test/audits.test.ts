import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { sql } from 'kysely';
import YAML from 'yaml';
import { reopenExpiredRiskAcceptances } from '../src/findings/findings.service';
import { startWorkers } from '../src/workers';
import { insertOrganizationWithOwner } from '../src/organizations/organizations.service';
import { readCatalogue, type Catalogue } from '../src/rules/catalogue';
import { as, logInAs, startTestApp, useTestApp, type TestApp } from './support/app';
import { runAuditThroughHttp, waitForAudit } from './support/audits';
import { expectError, expectStandardHeaders } from './support/expectations';

const native = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'inventory', 'native.json'), 'utf8'));
const RULES_DIR = path.join(__dirname, '..', 'src', 'rules');
// The fixtures' certificate expires within 30 days of this day.
const NOW = new Date('2026-11-26T00:00:00Z');

// Rule → the fixture resources (native ids) it fails on: the whole of what an audit of
// test/fixtures/inventory/native.json must find.
const EXPECTED: Record<string, string[]> = {
  'aws.acm.certificate_expiring': ['arn:aws:acm:us-west-2:345678901234:certificate/2e4f6a8c-1b3d-4e5f-8a7b-9c0d1e2f3a4b'],
  'aws.ec2.ebs_volume_unattached': ['arn:aws:ec2:us-west-2:345678901234:volume/vol-0f9e8d7c6b5a43210'],
  'aws.ec2.ebs_volume_unencrypted': ['arn:aws:ec2:us-west-2:345678901234:volume/vol-0f9e8d7c6b5a43210'],
  'aws.ec2.instance_outside_autoscaling': ['arn:aws:ec2:us-west-2:345678901234:instance/i-0e56f78a90b1c2d34'],
  // associate_public_ip_address = true
  'aws.ec2.instance_public_ip': ['arn:aws:ec2:us-west-2:345678901234:instance/i-0e56f78a90b1c2d34'],
  'aws.ec2.security_group_ssh_open': ['arn:aws:ec2:us-west-2:345678901234:security-group/sg-0b7e4d2c9a1f36e85'],
  'aws.iam.user_without_mfa': ['arn:aws:iam::345678901234:user/legacy-backup'],
  'aws.rds.backup_retention_short': ['arn:aws:rds:us-west-2:345678901234:db:acme-dev-crm'],
  // postgres on 5432, monitoring_interval 0, IAM authentication off, no CloudWatch log exports, db.t3.small
  'aws.rds.default_port': ['arn:aws:rds:us-west-2:345678901234:db:acme-dev-crm'],
  'aws.rds.deletion_protection_off': ['arn:aws:rds:us-west-2:345678901234:db:acme-dev-crm'],
  'aws.rds.enhanced_monitoring_off': ['arn:aws:rds:us-west-2:345678901234:db:acme-dev-crm'],
  'aws.rds.iam_auth_disabled': ['arn:aws:rds:us-west-2:345678901234:db:acme-dev-crm'],
  'aws.rds.instance_logs_not_exported': ['arn:aws:rds:us-west-2:345678901234:db:acme-dev-crm'],
  'aws.rds.intel_class_cheaper_on_graviton': ['arn:aws:rds:us-west-2:345678901234:db:acme-dev-crm'],
  'aws.rds.publicly_accessible': ['arn:aws:rds:us-west-2:345678901234:db:acme-dev-crm'],
  'aws.rds.single_az': ['arn:aws:rds:us-west-2:345678901234:db:acme-dev-crm'],
  'aws.rds.storage_unencrypted': ['arn:aws:rds:us-west-2:345678901234:db:acme-dev-crm'],
  'aws.s3.access_logging_disabled': ['arn:aws:s3:::acme-dev-uploads'],
  // The bucket has no policy, no public access block, no lifecycle, replication or object lock, versioning
  // without MFA delete, and AES256 (not SSE-KMS) encryption; no split aws_s3_bucket_* resource says otherwise.
  'aws.s3.bucket_allows_http': ['arn:aws:s3:::acme-dev-uploads'],
  'aws.s3.bucket_public_read': ['arn:aws:s3:::acme-dev-uploads'],
  'aws.s3.bucket_unencrypted': ['arn:aws:s3:::acme-dev-uploads'],
  'aws.s3.lifecycle_missing': ['arn:aws:s3:::acme-dev-uploads'],
  'aws.s3.mfa_delete_disabled': ['arn:aws:s3:::acme-dev-uploads'],
  'aws.s3.object_lock_disabled': ['arn:aws:s3:::acme-dev-uploads'],
  'aws.s3.public_access_block_off': ['arn:aws:s3:::acme-dev-uploads'],
  'aws.s3.replication_missing': ['arn:aws:s3:::acme-dev-uploads'],
  'aws.s3.versioning_disabled': ['arn:aws:s3:::acme-dev-uploads'],
  ...expectedFromFixture(['azure.', 'gcp.']),
};

/** Azure and GCP rows of the table, kept beside the catalogue's own fixture of expectations. */
function expectedFromFixture(prefixes: string[]): Record<string, string[]> {
  const table = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'rules', 'expected-native-findings.json'), 'utf8')) as Record<string, string[]>;
  return Object.fromEntries(Object.entries(table).filter(([rule]) => prefixes.some((p) => rule.startsWith(p))));
}

let catalogue: Catalogue;
let owner: string;
beforeAll(async () => {
  catalogue = await readCatalogue(path.join(RULES_DIR, 'catalogue'), path.join(RULES_DIR, 'frameworks'));
});
const t = useTestApp({}, { workers: true, auditSettings: { catalogue: async () => catalogue, now: () => NOW } });
beforeAll(async () => {
  owner = await t.ownerToken();
});

const externalIds: Record<string, () => string> = {
  aws: () => String(300000000000 + ++accounts),
  azure: () => `3f2c1a7e-5b8d-4e6f-9a0b-${String(++accounts).padStart(12, '0')}`,
  gcp: () => `acme-test-${++accounts}`,
};
let accounts = 0;
async function newAccount(provider: 'aws' | 'azure' | 'gcp', token = owner): Promise<string> {
  const body = { provider, external_id: externalIds[provider]!(), name: `${provider}-${accounts}` };
  return (await request(t.app).post('/v1/accounts').set(as(token)).send(body).expect(201)).body.id;
}
async function importNative(account: string, resources: object[], mode = 'full') {
  await request(t.app).post(`/v1/accounts/${account}/imports?format=native&mode=${mode}`).set(as(owner)).send({ resources }).expect(201);
}
function withAttributes(nativeId: string, attributes: object) {
  return native.resources.map((r: { native_id: string; attributes: object }) => (r.native_id === nativeId ? { ...r, attributes: { ...r.attributes, ...attributes } } : r));
}

/** Every page of a findings listing. */
type ListedFinding = { id: string; rule_id: string; status: string; resource: { native_id: string } };
async function allFindings(query: string): Promise<ListedFinding[]> {
  const found: ListedFinding[] = [];
  let cursor: string | null = null;
  do {
    const page: { body: { data: ListedFinding[]; next_cursor: string | null } } = await request(t.app).get(`/v1/findings?${query}&limit=200${cursor ? `&cursor=${cursor}` : ''}`).set(as(owner)).expect(200);
    found.push(...page.body.data);
    cursor = page.body.next_cursor;
  } while (cursor);
  return found;
}

/** rule id → native ids of the resources an audit saw failing. */
async function failuresOf(auditId: string): Promise<Record<string, string[]>> {
  const table: Record<string, string[]> = {};
  for (const finding of await allFindings(`audit_id=${auditId}`)) (table[finding.rule_id] ??= []).push(finding.resource.native_id);
  for (const ids of Object.values(table)) ids.sort();
  return table;
}

async function findingOf(ruleId: string, nativeId: string) {
  const [finding] = (await allFindings(`rule_id=${ruleId}`)).filter((f) => f.resource.native_id === nativeId);
  return (await request(t.app).get(`/v1/findings/${finding!.id}`).set(as(owner)).expect(200)).body;
}

describe('audits', () => {
  let aws: string;
  let firstAudit: { id: string; summary: Record<string, unknown> };

  it('an audit of the fixture inventory finds exactly the expected findings, with evidence and a summary', async () => {
    aws = await newAccount('aws');
    for (const provider of ['aws', 'azure', 'gcp'] as const) {
      const account = provider === 'aws' ? aws : await newAccount(provider);
      await importNative(account, native.resources.filter((r: { provider: string }) => r.provider === provider));
    }
    const started = await request(t.app).post('/v1/audits').set(as(owner)).send({});
    expect(started.status).toBe(202);
    expectStandardHeaders(started);
    expect(started.headers.location).toBe(`/v1/audits/${started.body.id}`);
    expect(started.body).toMatchObject({ status: 'queued', mode: 'full', account_ids: null, summary: null, parent_audit_id: null });

    const audit = await waitForAudit(t.app, owner, started.body.id);
    expect(audit.status).toBe('succeeded');
    expect(await failuresOf(audit.id)).toEqual(EXPECTED);
    // The AWS rows above agree with the catalogue's own table of expectations (checked by rules-catalogue.test.ts).
    expect(Object.fromEntries(Object.entries(EXPECTED).filter(([rule]) => rule.startsWith('aws.')))).toEqual(expectedFromFixture(['aws.']));
    const total = Object.values(EXPECTED).flat().length;
    expect(audit.summary).toMatchObject({ new: total, recurring: 0, resolved: 0, coverage: { resources_evaluated: 12, evaluation_errors: 0 } });
    const counted = Object.values(audit.summary.findings as Record<string, Record<string, number>>).flatMap((bySeverity) => Object.values(bySeverity));
    expect(counted.reduce((a, b) => a + b, 0)).toBe(total);
    // Each score is what its weights say (AuditSummary in the spec).
    for (const [dimension, { evaluated, failed }] of Object.entries(audit.summary.weights as Record<string, { evaluated: number; failed: number }>)) {
      expect(audit.summary.scores[dimension]).toBe(evaluated === 0 ? null : Math.round(100 * (1 - failed / evaluated)));
    }
    expect(audit.catalogue_version).toBe(catalogue.version);
    // v2 of the rule reads the split aws_s3_bucket_acl resources too.
    expect(audit.rule_versions['aws.s3.bucket_public_read']).toBe(2);
    expect(audit.rule_versions['aws.s3.bucket_public_read']).toBe(catalogue.byId.get('aws.s3.bucket_public_read')!.rule.version);
    expect(audit.progress).toEqual({ resources_evaluated: 12, resources_total: 12 });

    const publicBucket = await findingOf('aws.s3.bucket_public_read', 'arn:aws:s3:::acme-dev-uploads');
    expect(publicBucket).toMatchObject({ status: 'open', severity: 'critical', dimension: 'security', first_audit_id: audit.id, last_audit_id: audit.id });
    expect(publicBucket.remediation.text).toEqual(expect.any(String));
    const volume = await findingOf('aws.ec2.ebs_volume_unattached', 'arn:aws:ec2:us-west-2:345678901234:volume/vol-0f9e8d7c6b5a43210');
    expect(volume.cost_impact).toEqual({ monthly_usd: 8 });
    expect(publicBucket.evidence).toContainEqual({ path: 'attributes.acl', value: 'public-read' });
    const evaluated = await t.db.selectFrom('audit_resources').select(['resource_id', 'version']).where('audit_id', '=', audit.id).execute();
    expect(evaluated).toHaveLength(12);
    expect(evaluated.every((row) => row.version === 1)).toBe(true);
    firstAudit = audit;
  });

  it('fixing a resource resolves its finding; breaking it again reopens it; incremental audits evaluate only what changed', async () => {
    const bucket = 'arn:aws:s3:::acme-dev-uploads';
    const privateGrants = { acl: 'private', grant: [] };
    await importNative(aws, withAttributes(bucket, privateGrants).filter((r: { provider: string }) => r.provider === 'aws'));
    const fixed = await runAuditThroughHttp(t.app, owner, { mode: 'incremental' });
    expect(fixed.status).toBe('succeeded');
    expect(fixed.summary.coverage.resources_evaluated).toBe(1);
    const resolved = await findingOf('aws.s3.bucket_public_read', bucket);
    expect(resolved).toMatchObject({ status: 'resolved', status_reason: 'passed', last_audit_id: firstAudit.id });
    // Findings of resources the incremental audit did not evaluate stay as they were.
    expect((await findingOf('aws.rds.single_az', 'arn:aws:rds:us-west-2:345678901234:db:acme-dev-crm')).status).toBe('open');
    expect(fixed.summary.resolved).toBeGreaterThanOrEqual(1);

    await importNative(aws, native.resources.filter((r: { provider: string }) => r.provider === 'aws'));
    const broken = await runAuditThroughHttp(t.app, owner, { mode: 'full' });
    expect(broken.summary.coverage.resources_evaluated).toBe(12);
    const reopened = await findingOf('aws.s3.bucket_public_read', bucket);
    expect(reopened).toMatchObject({ id: resolved.id, status: 'open', last_audit_id: broken.id, first_audit_id: firstAudit.id });
    const events = (await request(t.app).get(`/v1/findings/${resolved.id}/events`).set(as(owner)).expect(200)).body.data;
    expect(events.map(({ type, from_status, to_status, actor }: Record<string, unknown>) => ({ type, from_status, to_status, actor }))).toEqual([
      { type: 'opened', from_status: null, to_status: 'open', actor: { type: 'system', audit_id: firstAudit.id } },
      { type: 'resolved', from_status: 'open', to_status: 'resolved', actor: { type: 'system', audit_id: fixed.id } },
      { type: 'reopened', from_status: 'resolved', to_status: 'open', actor: { type: 'system', audit_id: broken.id } },
    ]);

    const nothingChanged = await runAuditThroughHttp(t.app, owner, { mode: 'incremental' });
    expect(nothingChanged.summary.coverage.resources_evaluated).toBe(0);
  });

  it('a resource gone in a full import resolves its findings', async () => {
    const user = 'arn:aws:iam::345678901234:user/legacy-backup';
    await importNative(aws, native.resources.filter((r: { provider: string; native_id: string }) => r.provider === 'aws' && r.native_id !== user));
    expect(await findingOf('aws.iam.user_without_mfa', user)).toMatchObject({ status: 'resolved', status_reason: 'resource_gone' });
    await importNative(aws, native.resources.filter((r: { provider: string }) => r.provider === 'aws'));
  });

  it('a full audit resolves findings left open on gone resources (a risk acceptance that expired after its resource went)', async () => {
    const instance = 'arn:aws:ec2:us-west-2:345678901234:instance/i-0e56f78a90b1c2d34';
    const finding = await findingOf('aws.ec2.instance_outside_autoscaling', instance);
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    await request(t.app).patch(`/v1/findings/${finding.id}`).set(as(owner)).send({ status: 'risk_accepted', reason: 'Batch host.', expires_at: expiresAt }).expect(200);
    await importNative(aws, native.resources.filter((r: { provider: string; native_id: string }) => r.provider === 'aws' && r.native_id !== instance));
    expect((await findingOf('aws.ec2.instance_outside_autoscaling', instance)).status).toBe('risk_accepted');
    await reopenExpiredRiskAcceptances(t.db, new Date(Date.now() + 7_200_000));
    expect((await findingOf('aws.ec2.instance_outside_autoscaling', instance)).status).toBe('open');

    const audit = await runAuditThroughHttp(t.app, owner, { mode: 'full' });
    expect(await findingOf('aws.ec2.instance_outside_autoscaling', instance)).toMatchObject({ status: 'resolved', status_reason: 'resource_gone' });
    expect(audit.summary.resolved).toBeGreaterThanOrEqual(1);
    await importNative(aws, native.resources.filter((r: { provider: string }) => r.provider === 'aws'));
  });

  it('reanalysis after a rule file changes gives a new audit with the new result, the old audit untouched', async () => {
    const parent = await runAuditThroughHttp(t.app, owner, { mode: 'full' });
    const parentFailures = await failuresOf(parent.id);
    // The inventory changes after the parent audit: the reanalysis must still see the old versions.
    await importNative(aws, withAttributes('arn:aws:rds:us-west-2:345678901234:db:acme-dev-crm', { multi_az: true }).filter((r: { provider: string }) => r.provider === 'aws'));

    const changedDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fourfold-catalogue-'));
    for (const file of fs.readdirSync(path.join(RULES_DIR, 'catalogue'))) {
      const text = fs.readFileSync(path.join(RULES_DIR, 'catalogue', file), 'utf8');
      const document = YAML.parse(text) as { rules: { id: string; version: number; condition: string }[] };
      // Public-read buckets stop counting (a new version of the rule); everything else stays.
      for (const rule of document.rules.filter((r) => r.id === 'aws.s3.bucket_public_read')) Object.assign(rule, { version: rule.version + 1, condition: 'false' });
      fs.writeFileSync(path.join(changedDir, file), YAML.stringify(document));
    }
    const previous = catalogue;
    catalogue = await readCatalogue(changedDir, path.join(RULES_DIR, 'frameworks'));
    try {
      const newVersion = previous.byId.get('aws.s3.bucket_public_read')!.rule.version + 1;
      expect(catalogue.byId.get('aws.s3.bucket_public_read')!.rule.version).toBe(newVersion);
      const started = await request(t.app).post(`/v1/audits/${parent.id}/reanalyze`).set(as(owner)).expect(202);
      expect(started.body).toMatchObject({ mode: 'reanalysis', parent_audit_id: parent.id, status: 'queued' });
      const reanalysis = await waitForAudit(t.app, owner, started.body.id);
      expect(reanalysis.status).toBe('succeeded');
      const { ['aws.s3.bucket_public_read']: _gone, ...rest } = parentFailures;
      // Same versions as the parent (the database is still single-AZ there), new rules.
      expect(await failuresOf(reanalysis.id)).toEqual(rest);
      expect(reanalysis.rule_versions['aws.s3.bucket_public_read']).toBe(newVersion);
      expect(parent.rule_versions['aws.s3.bucket_public_read']).toBe(newVersion - 1);
      expect(reanalysis.catalogue_version).not.toBe(parent.catalogue_version);
      expect((await request(t.app).get(`/v1/audits/${parent.id}`).set(as(owner))).body).toEqual(parent);
      expect(await failuresOf(parent.id)).toEqual(parentFailures);
      // Judging past versions changes no live finding: the bucket's stays open, as the parent left it.
      expect(await findingOf('aws.s3.bucket_public_read', 'arn:aws:s3:::acme-dev-uploads')).toMatchObject({ status: 'open', last_audit_id: parent.id });
      expect(await findingOf('aws.rds.single_az', 'arn:aws:rds:us-west-2:345678901234:db:acme-dev-crm')).toMatchObject({ last_audit_id: parent.id });
      // A new catalogue is news for every resource (a reanalysis changed no finding): an incremental audit evaluates them all again.
      const incremental = await runAuditThroughHttp(t.app, owner, { mode: 'incremental' });
      expect(incremental.summary.coverage.resources_evaluated).toBe(12);
    } finally {
      catalogue = previous;
    }
  });

  it('cancels a queued audit; an ended one answers 409 audit_not_cancelable', async () => {
    // An audit of an account nobody works yet: queue it on a second app that has no workers.
    const idle = await startTestApp({}, { sharing: t });
    try {
      const queued = await request(idle.app).post('/v1/audits').set(as(owner)).send({ account_ids: [aws] }).expect(202);
      const canceled = await request(t.app).post(`/v1/audits/${queued.body.id}/cancel`).set(as(owner));
      if (canceled.status === 409) {
        // The worker finished it first: then cancel must refuse, as it does below.
        expectError(canceled, 409, 'audit_not_cancelable');
      } else {
        expect(canceled.status).toBe(200);
        expect(canceled.body).toMatchObject({ status: 'canceled', finished_at: expect.any(String), summary: null });
        expect(await failuresOf(queued.body.id)).toEqual({});
      }
      expectError(await request(t.app).post(`/v1/audits/${queued.body.id}/cancel`).set(as(owner)), 409, 'audit_not_cancelable');
    } finally {
      await idle.close();
    }
  });

  it('lists audits newest first with filters and cursors bound to them', async () => {
    const all = (await request(t.app).get('/v1/audits?limit=200').set(as(owner)).expect(200)).body.data as { id: string; created_at: string }[];
    expect(all.map((a) => a.id)).toEqual([...all.map((a) => a.id)].sort().reverse());
    const first = await request(t.app).get('/v1/audits?limit=2&status=succeeded').set(as(owner)).expect(200);
    expect(first.body.has_more).toBe(true);
    const second = await request(t.app).get(`/v1/audits?limit=2&status=succeeded&cursor=${first.body.next_cursor}`).set(as(owner)).expect(200);
    expect(second.body.data[0].id < first.body.data[1].id).toBe(true);
    expectError(await request(t.app).get(`/v1/audits?limit=2&status=failed&cursor=${first.body.next_cursor}`).set(as(owner)), 400, 'invalid_cursor');
    // An audit of every account counts as an audit of each.
    const ofAccount = (await request(t.app).get(`/v1/audits?account_id=${aws}&limit=200`).set(as(owner)).expect(200)).body.data.map((a: { id: string }) => a.id);
    expect(ofAccount).toEqual(all.map((a) => a.id));
    const otherAccount = (await request(t.app).get('/v1/audits?account_id=acc_01JD8X3N5W6Q2R4T7Y9ZABCDEF').set(as(owner)).expect(200)).body.data;
    expect(otherAccount.every((a: { account_ids: string[] | null }) => a.account_ids === null)).toBe(true);
    const reanalyses = (await request(t.app).get('/v1/audits?mode=reanalysis').set(as(owner)).expect(200)).body.data;
    expect(reanalyses.length).toBe(1);
    const future = (await request(t.app).get('/v1/audits?created_after=2100-01-01T00:00:00Z').set(as(owner)).expect(200)).body.data;
    expect(future).toEqual([]);
  });

  it('refuses bad input clearly', async () => {
    expectError(await request(t.app).post('/v1/audits').set(as(owner)).send({ mode: 'sometimes' }), 422, 'validation_failed');
    expectError(await request(t.app).post('/v1/audits').set(as(owner)).send({ account_ids: ['acc_01JD8X3N5W6Q2R4T7Y9ZABCDEF'] }), 404, 'not_found');
    const queued = await request(t.app).post('/v1/audits').set(as(owner)).send({ account_ids: [aws] }).expect(202);
    const reanalyzeUnfinished = await request(t.app).post(`/v1/audits/${queued.body.id}/reanalyze`).set(as(owner));
    if (reanalyzeUnfinished.status !== 202) expectError(reanalyzeUnfinished, 409, 'audit_not_finished');
    await waitForAudit(t.app, owner, queued.body.id);
  });

  it("answers 404 for another organization's audits, and hides its accounts", async () => {
    const audit = (await request(t.app).get('/v1/audits?limit=1').set(as(owner)).expect(200)).body.data[0];
    await t.db.transaction().execute((trx) => insertOrganizationWithOwner(trx, { name: 'Other', username: 'aud-other', password: 'other-password-123' }));
    const other = await logInAs(t.app, 'aud-other', 'other-password-123');
    expectError(await request(t.app).get(`/v1/audits/${audit.id}`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).post(`/v1/audits/${audit.id}/cancel`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).post(`/v1/audits/${audit.id}/reanalyze`).set(as(other)), 404, 'not_found');
    expectError(await request(t.app).post('/v1/audits').set(as(other)).send({ account_ids: [aws] }), 404, 'not_found');
    expect((await request(t.app).get('/v1/audits').set(as(other)).expect(200)).body.data).toEqual([]);
    // Its own (empty) audit finds nothing of ours.
    const own = await runAuditThroughHttp(t.app, other);
    expect(own.summary.coverage.resources_evaluated).toBe(0);
  });

  it('counts unknown results and lists every rule result of a resource, unknowns with their paths; an unknown leaves its open finding alone', async () => {
    const bucket = 'arn:aws:s3:::acme-dev-uploads';
    // The import side fills resources.unknown_attributes from a plan's after_unknown; set directly here.
    const { id } = await t.db.selectFrom('resources').select('id').where('native_id', '=', bucket).executeTakeFirstOrThrow();
    await t.db.updateTable('resources').set({ unknown_attributes: JSON.stringify(['versioning']) }).where('id', '=', id).execute();
    const before = await findingOf('aws.s3.versioning_disabled', bucket);
    expect(before.status).toBe('open');

    const audit = await runAuditThroughHttp(t.app, owner, { mode: 'full' });
    // Three rules read the bucket's versioning and nothing else decides them: versioning_disabled,
    // mfa_delete_disabled (versioning[0].mfa_delete) and the cost rule noncurrent_versions_kept_forever.
    const READING_VERSIONING = ['aws.s3.mfa_delete_disabled', 'aws.s3.noncurrent_versions_kept_forever', 'aws.s3.versioning_disabled'];
    expect(audit.summary.coverage.evaluation_unknowns).toBe(READING_VERSIONING.length);
    for (const rule of READING_VERSIONING) expect(audit.summary.rule_results[rule]).toMatchObject({ unknown: 1 });
    const after = await findingOf('aws.s3.versioning_disabled', bucket);
    expect(after).toMatchObject({ id: before.id, status: 'open', last_audit_id: before.last_audit_id });

    const page = await request(t.app).get(`/v1/resources/${id}/evaluations?limit=200`).set(as(owner)).expect(200);
    expectStandardHeaders(page);
    const byRule = Object.fromEntries(page.body.data.map((e: { rule_id: string }) => [e.rule_id, e]));
    expect(byRule['aws.s3.versioning_disabled']).toEqual({ audit_id: audit.id, rule_id: 'aws.s3.versioning_disabled', result: 'unknown', finding_id: null, unknown_paths: ['versioning'], message: null });
    const publicRead = await findingOf('aws.s3.bucket_public_read', bucket);
    expect(byRule['aws.s3.bucket_public_read']).toMatchObject({ result: 'fail', finding_id: publicRead.id });
    // AES256 is not the SSE-KMS bucket_unencrypted v2 asks for.
    const unencrypted = await findingOf('aws.s3.bucket_unencrypted', bucket);
    expect(byRule['aws.s3.bucket_unencrypted']).toMatchObject({ result: 'fail', finding_id: unencrypted.id });
    expect(byRule['aws.s3.force_destroy_enabled']).toMatchObject({ result: 'pass', finding_id: null });
    const unknowns = page.body.data.filter((e: { result: string }) => e.result === 'unknown');
    expect(unknowns.map((e: { rule_id: string }) => e.rule_id)).toEqual(READING_VERSIONING);
    for (const e of unknowns) expect(e).toMatchObject({ finding_id: null, unknown_paths: ['versioning'] });
    const ruleIds = page.body.data.map((e: { rule_id: string }) => e.rule_id);
    expect(ruleIds).toEqual([...ruleIds].sort());

    // Cursor-paginated by rule id.
    const first = await request(t.app).get(`/v1/resources/${id}/evaluations?limit=2`).set(as(owner)).expect(200);
    expect(first.body).toMatchObject({ has_more: true });
    const second = await request(t.app).get(`/v1/resources/${id}/evaluations?limit=2&cursor=${first.body.next_cursor}`).set(as(owner)).expect(200);
    expect([...first.body.data, ...second.body.data].map((e: { rule_id: string }) => e.rule_id)).toEqual(ruleIds.slice(0, 4));

    const other = await logInAs(t.app, 'aud-other', 'other-password-123');
    expectError(await request(t.app).get(`/v1/resources/${id}/evaluations`).set(as(other)), 404, 'not_found');
    await t.db.updateTable('resources').set({ unknown_attributes: '[]' }).where('id', '=', id).execute();
  });

  it('a viewer can read audits but not start one', async () => {
    const viewer = await t.addMember('viewer');
    await request(t.app).get('/v1/audits').set(as(viewer.token)).expect(200);
    expectError(await request(t.app).post('/v1/audits').set(as(viewer.token)).send({}), 403, 'insufficient_scope');
  });
});

describe('audits whose worker dies', () => {
  let d: TestApp;
  let token: string;
  beforeAll(async () => {
    // No workers until the test has played a worker that took the job and died; expired jobs are looked for every second.
    d = await startTestApp({ JOB_MAINTENANCE_SECONDS: '1', AUDIT_TIMEOUT_SECONDS: '30' });
    token = await d.ownerToken();
    const account = (await request(d.app).post('/v1/accounts').set(as(token)).send({ provider: 'aws', external_id: '400000000001', name: 'dies' }).expect(201)).body.id;
    await request(d.app).post(`/v1/accounts/${account}/imports?format=native`).set(as(token)).send(native).expect(201);
  });
  afterAll(() => d.close());

  /** What a worker that took the audit's job and then died leaves behind. */
  async function dieMidAudit(auditId: string, attemptsLeft: boolean) {
    await d.db.updateTable('audits').set({ status: 'running', started_at: new Date(), resources_evaluated: 3, resources_total: 7 }).where('id', '=', auditId).execute();
    await sql`
      update pgboss.job set state = 'active', started_on = now() - interval '1 hour',
        retry_count = case when ${attemptsLeft} then 0 else retry_limit end
      where name = 'audits' and data->>'audit_id' = ${auditId}`.execute(d.db);
  }

  it('a retried job finishes the audit; out of attempts, the audit fails cleanly with worker_lost instead of staying running', async () => {
    const retried = (await request(d.app).post('/v1/audits').set(as(token)).send({}).expect(202)).body.id as string;
    const abandoned = (await request(d.app).post('/v1/audits').set(as(token)).send({}).expect(202)).body.id as string;
    await dieMidAudit(retried, true);
    await dieMidAudit(abandoned, false);
    await startWorkers({ jobs: d.jobs, db: d.db, logger: d.logger });
    expect(await waitForAudit(d.app, token, retried)).toMatchObject({ status: 'succeeded', progress: { resources_evaluated: 7, resources_total: 7 } });
    expect(await waitForAudit(d.app, token, abandoned)).toMatchObject({
      status: 'failed',
      error: { code: 'worker_lost', message: expect.any(String) },
      summary: null,
      finished_at: expect.any(String),
    });
  });
});
