// A policy dry run (POST /v1/policies/test) against a stored audit of N synthetic resources
// (default 10,000; imported through HTTP, native format, into an aws, an azure and a gcp
// account, then audited once): the answer time through HTTP, median of several runs, for an
// override of a built-in rule (severity and an exception selector) and for a custom rule,
// against the < 2 s target; then the same custom rule applied by a full audit.
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx scripts/bench-policies.ts [--count 10000]
import { parseArgs } from 'node:util';
import type { Provider } from '../src/providers';
import { startBenchServer } from './bench-server';
import { syntheticResources } from './synthetic-inventory';

const TARGET_SECONDS = 2;
const RUNS = 5;
const POLL_MS = 100;
// The external ids the generator uses for the first account of each provider.
const ACCOUNTS: Record<Provider, string> = { aws: '123456789012', azure: '3f2c1a7e-5b8d-4e6f-9a0b-1c2d3e4f5a6b', gcp: 'acme-prod-4821' };

const OVERRIDE = {
  kind: 'override',
  name: 'Public buckets are high, except dev ones',
  override: {
    rule_id: 'aws.s3.bucket_public_read',
    severity: 'high',
    exceptions: [{ selector: "attr(resource, 'tags.env', '') == 'dev'", reason: 'Dev buckets hold test data only.' }],
  },
};
const CUSTOM = {
  kind: 'custom',
  name: 'Instances without an owner tag',
  custom: {
    title: 'Instance without an owner',
    description: 'Every instance must name the team that owns it.',
    dimension: 'architecture',
    severity: 'medium',
    resource_types: ['aws_instance', 'aws_s3_bucket', 'aws_security_group', 'aws_ebs_volume', 'aws_db_instance'],
    condition: "attr(resource, 'tags.owner', '') == '' || attr(resource, 'attributes.ingress', []).exists(r, attr(r, 'cidr_blocks', []).exists(c, isWorldOpen(c)))",
    remediation: { text: 'Tag it with its owner.' },
  },
};

const elapsed = (since: bigint): number => Number(process.hrtime.bigint() - since) / 1e9;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '10000' } } });
  const count = Number(values.count);
  const resources = [...syntheticResources(count, 1)];
  const { base, token, close } = await startBenchServer({ RATE_LIMIT_HEAVY_PER_MINUTE: '1000', RATE_LIMIT_PER_MINUTE: '1000000', IMPORT_BODY_LIMIT_BYTES: String(256 * 1024 * 1024) });
  try {
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await response.json()) as Record<string, unknown>;
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
      return json;
    };
    const settle = async (path: string) => {
      for (;;) {
        const body = await call('GET', path);
        if (body.status === 'succeeded') return body;
        if (body.status !== 'queued' && body.status !== 'running') throw new Error(`${path} ended ${String(body.status)}`);
        await sleep(POLL_MS);
      }
    };

    for (const provider of ['aws', 'azure', 'gcp'] as const) {
      const account = (await call('POST', '/v1/accounts', { provider, external_id: ACCOUNTS[provider], name: `bench-${provider}` })).id as string;
      const mine = resources.filter((r) => r.provider === provider).map(({ source: _source, ...r }) => r);
      const created = await call('POST', `/v1/accounts/${account}/imports?format=native&mode=full`, { resources: mine });
      if (created.status !== 'succeeded') await settle(`/v1/imports/${String(created.id)}`);
    }
    const audit = await settle(`/v1/audits/${String((await call('POST', '/v1/audits', { mode: 'full' })).id)}`);
    console.log(`${count} resources imported and audited (audit ${String(audit.id)})`);

    console.log(`POST /v1/policies/test against that audit, median of ${RUNS} runs (target < ${TARGET_SECONDS} s):`);
    const stored = (await call('POST', '/v1/policies', { ...CUSTOM, enabled: false })).id as string;
    const cases: [string, unknown][] = [
      ['override (severity + exception) of aws.s3.bucket_public_read, inline', { policy: OVERRIDE }],
      ['custom rule over 5 aws types, inline', { policy: CUSTOM }],
      ['stored custom rule with a draft change', { policy_id: stored, changes: { custom: { ...CUSTOM.custom, severity: 'high' } } }],
    ];
    for (const [name, body] of cases) {
      const times: number[] = [];
      let result: Record<string, unknown> = {};
      for (let run = 0; run < RUNS; run++) {
        const started = process.hrtime.bigint();
        result = await call('POST', '/v1/policies/test', body);
        times.push(elapsed(started));
      }
      const seconds = median(times);
      console.log(
        `  ${name}: ${seconds.toFixed(3)} s (min ${Math.min(...times).toFixed(3)}, max ${Math.max(...times).toFixed(3)}) ${seconds < TARGET_SECONDS ? 'MET' : 'NOT MET'}; ` +
          `${String(result.resources_evaluated)} resources evaluated, ${String(result.findings_total)} findings, diff ${JSON.stringify(result.diff)}`,
      );
    }

    await call('PATCH', `/v1/policies/${stored}`, { enabled: true });
    const started = process.hrtime.bigint();
    const applied = await settle(`/v1/audits/${String((await call('POST', '/v1/audits', { mode: 'full' })).id)}`);
    const summary = applied.summary as { rule_results: Record<string, { evaluated: number; failed: number }> };
    console.log(`a full audit applying the custom rule: ${elapsed(started).toFixed(1)} s end to end; it evaluated ${summary.rule_results[stored]?.evaluated} resources, ${summary.rule_results[stored]?.failed} failing`);
  } finally {
    await close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
