// Generates a remediation plan and a compliance evidence report, as PDF and as JSON, of an audit
// with N findings (default 100,000, on as many resources) on the PostgreSQL server, each in a
// fresh worker process (`src/worker.ts`): generation time (POST /v1/reports → ready; target
// < 60 s) and the worker's peak memory (VmHWM, its peak resident set; target < 512 MB).
// The audit is written straight into the store as the audit runner leaves one: its resources,
// findings with the catalogue's titles and remediation, audit_findings, audit_resources and a
// summary whose rule_results count them.
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx scripts/bench-reports.ts [--count 100000]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { AuditSummaryData } from '../src/db/schema';
import { insertFindings } from '../src/findings/findings-lifecycle.repository';
import { newId } from '../src/ids';
import { insertResources } from '../src/resources/resources.repository';
import { loadCatalogue } from '../src/rules/catalogue';
import { DIMENSIONS, SEVERITIES } from '../src/rules/rule-definition';
import { startBenchServer } from './bench-server';

const TARGET_SECONDS = 60;
const TARGET_MB = 512;
const TYPES = ['aws_s3_bucket', 'aws_instance', 'aws_ebs_volume', 'aws_db_instance', 'aws_security_group'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const elapsed = (since: bigint): number => Number(process.hrtime.bigint() - since) / 1e9;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '100000' } } });
  const count = Number(values.count);
  const secret = 'bench-signing-secret-0123456789-0123456789';
  const { base, token, db, databaseUrl, close } = await startBenchServer(
    { JWT_SECRET: secret, RATE_LIMIT_HEAVY_PER_MINUTE: '1000', RATE_LIMIT_PER_MINUTE: '1000000' },
    { workers: false },
  );
  try {
    const call = async (method: string, url: string, body?: object) => {
      const response = await fetch(`${base}${url}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const json = (await response.json()) as Record<string, unknown>;
      if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${JSON.stringify(json)}`);
      return json;
    };
    const organizationId = ((await call('GET', '/v1/me')).organization as { id: string }).id;
    const accountId = (await call('POST', '/v1/accounts', { provider: 'aws', external_id: '123456789012', name: 'bench' })).id as string;

    const seeded = process.hrtime.bigint();
    const catalogue = await loadCatalogue();
    const rulesOf = TYPES.map((type) => catalogue.rulesFor(type).map((c) => c.rule));
    const auditId = newId('aud');
    const finishedAt = new Date();
    const ruleResults: AuditSummaryData['rule_results'] = {};
    const findingCounts = Object.fromEntries(DIMENSIONS.map((d) => [d, Object.fromEntries(SEVERITIES.map((s) => [s, 0]))])) as AuditSummaryData['findings'];
    await db
      .insertInto('audits')
      .values({
        id: auditId, organization_id: organizationId, parent_audit_id: null, mode: 'full', account_ids: null, status: 'queued',
        error_code: null, error_message: null, catalogue_version: catalogue.version, rule_versions: null, summary: null,
        created_by: 'usr_01JD8X3N5W6Q2R4T7Y9ZABCDEF', created_at: finishedAt, started_at: finishedAt, finished_at: null,
      })
      .execute();
    const BATCH = 2000;
    for (let start = 0; start < count; start += BATCH) {
      const resources = [];
      const findings = [];
      for (let i = start; i < Math.min(count, start + BATCH); i++) {
        const typeIndex = i % TYPES.length;
        const type = TYPES[typeIndex]!;
        const id = newId('res');
        const name = `${type.replace('aws_', '')}-${String(i).padStart(6, '0')}`;
        resources.push({
          id, organization_id: organizationId, account_id: accountId, provider: 'aws' as const, type, native_id: `arn:aws:bench:eu-west-1:123456789012:${name}`,
          region: 'eu-west-1', name, tags: {}, attributes: { index: i }, relationships: [], content_hash: createHash('sha256').update(id).digest('hex'),
          version: 1, first_seen_at: finishedAt, last_seen_at: finishedAt, status: 'active' as const,
        });
        const rules = rulesOf[typeIndex]!;
        for (const rule of rules) (ruleResults[rule.id] ??= { evaluated: 0, failed: 0, errors: 0 }).evaluated++;
        // One failing rule a resource, taking the type's rules in turn.
        const rule = rules[Math.floor(i / TYPES.length) % rules.length]!;
        ruleResults[rule.id]!.failed++;
        findingCounts[rule.dimension][rule.severity]++;
        findings.push({
          id: newId('fnd'), organization_id: organizationId, fingerprint: createHash('sha256').update(`${rule.id}\n${id}`).digest('hex').slice(0, 32),
          rule_id: rule.id, rule_version: rule.version, resource_id: id, account_id: accountId, resource_type: type, region: 'eu-west-1',
          title: rule.title, description: rule.description, dimension: rule.dimension, severity: rule.severity, severity_rank: SEVERITIES.indexOf(rule.severity),
          status: 'open' as const, status_reason: null, expires_at: null, note: null, policy_id: null, policy_version: null,
          evidence: rule.evidence.map((p) => ({ path: p, value: null })), remediation: rule.remediation,
          compliance: rule.compliance, cost_monthly_usd: rule.dimension === 'cost' ? 7.5 : null,
          first_seen_at: finishedAt, last_seen_at: finishedAt, first_audit_id: auditId, last_audit_id: auditId, resolved_at: null, updated_at: finishedAt,
        });
      }
      await insertResources(db, resources);
      await insertFindings(db, findings);
      await db.insertInto('audit_findings').values(findings.map((f) => ({ audit_id: auditId, finding_id: f.id }))).execute();
      await db.insertInto('audit_resources').values(resources.map((r) => ({ audit_id: auditId, resource_id: r.id, version: 1 }))).execute();
    }
    const summary: AuditSummaryData = {
      findings: findingCounts, new: count, recurring: 0, resolved: 0,
      weights: Object.fromEntries(DIMENSIONS.map((d) => [d, { evaluated: 1, failed: 0 }])) as AuditSummaryData['weights'],
      coverage: { resources_evaluated: count, rules_evaluated: Object.keys(ruleResults).length, evaluations: Object.values(ruleResults).reduce((s, r) => s + r.evaluated, 0), evaluation_errors: 0 },
      rule_results: ruleResults, errors: [],
    };
    await db.updateTable('audits').set({ status: 'succeeded', finished_at: new Date(), summary: JSON.stringify(summary) }).where('id', '=', auditId).execute();
    console.log(`seeded an audit of ${count} resources with ${count} findings over ${Object.values(ruleResults).filter((r) => r.failed > 0).length} rules in ${elapsed(seeded).toFixed(1)} s`);

    const cases = [
      { type: 'remediation_plan', format: 'pdf' },
      { type: 'compliance_evidence', format: 'pdf', framework: 'cis_aws_foundations' },
      { type: 'remediation_plan', format: 'json' },
      { type: 'compliance_evidence', format: 'json', framework: 'cis_aws_foundations' },
    ];
    for (const body of cases) {
      const worker = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'src', 'worker.ts')], {
        env: { ...process.env, DATABASE_URL: databaseUrl, JWT_SECRET: secret, LOG_LEVEL: 'info', JOB_POLLING_SECONDS: '1' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve, reject) => {
        worker.stdout!.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('fourfold worker started')) resolve();
        });
        worker.once('exit', (code) => reject(new Error(`the worker exited with ${code}`)));
      });
      const started = process.hrtime.bigint();
      const created = await call('POST', '/v1/reports', { ...body, audit_id: auditId });
      let report: Record<string, unknown>;
      for (;;) {
        report = await call('GET', `/v1/reports/${String(created.id)}`);
        if (report.status === 'ready' || report.status === 'failed') break;
        await sleep(100);
      }
      const seconds = elapsed(started);
      const status = fs.readFileSync(`/proc/${worker.pid}/status`, 'utf8');
      const peakMb = Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
      worker.kill('SIGTERM');
      await new Promise((resolve) => worker.once('exit', resolve));
      if (report.status !== 'ready') throw new Error(`${body.type} ${body.format} failed: ${JSON.stringify(report.error)}`);
      const generation = (Date.parse(report.generated_at as string) - Date.parse(report.created_at as string)) / 1000;
      const size = Number(report.size_bytes) / 1024 / 1024;
      console.log(
        `${body.type} (${body.format}): ${seconds.toFixed(1)} s POST → ready (created → generated ${generation.toFixed(1)} s; target < ${TARGET_SECONDS} s) ${seconds < TARGET_SECONDS ? 'MET' : 'NOT MET'}; ` +
          `worker peak RSS ${peakMb.toFixed(0)} MB (target < ${TARGET_MB} MB) ${peakMb < TARGET_MB ? 'MET' : 'NOT MET'}; file ${size.toFixed(1)} MB`,
      );
      if (body.format === 'pdf' && process.env.BENCH_REPORTS_KEEP) {
        const response = await fetch(`${base}/v1/reports/${String(created.id)}/download`, { headers: { Authorization: `Bearer ${token}` } });
        fs.writeFileSync(path.join(process.env.BENCH_REPORTS_KEEP, `${body.type}.pdf`), Buffer.from(await response.arrayBuffer()));
      }
    }
  } finally {
    await close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
