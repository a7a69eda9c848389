/**
 * Evaluates the whole rule catalogue over N synthetic resources and prints evaluations per
 * second, then for three rules compares the compiled CEL condition with the same check written
 * as a plain JavaScript predicate.
 *
 *   node --import tsx scripts/bench-rule-engine.ts [--count 20000]
 */
import { parseArgs } from 'node:util';
import { loadCatalogue } from '../src/rules/catalogue';
import { evaluateInventory } from '../src/rules/evaluate-inventory';
import { isWorldOpen } from '../src/rules/network';
import { ResourceGraph } from '../src/rules/resource-graph';
import { evaluateRule, type RuleResource } from '../src/rules/rule-evaluation';
import { syntheticResources } from './synthetic-inventory';

const NOW = new Date('2026-11-26T00:00:00Z');
type Attributes = Record<string, unknown>;

// The same checks as the catalogue's conditions, by hand.
const HAND_WRITTEN: Record<string, (resource: RuleResource) => boolean> = {
  'aws.s3.bucket_public_read': ({ attributes }) =>
    ['public-read', 'public-read-write', 'authenticated-read'].includes(attributes.acl as string) ||
    ((attributes.grant as Attributes[] | undefined) ?? []).some((g) =>
      ['http://acs.amazonaws.com/groups/global/AllUsers', 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers'].includes(g.uri as string),
    ),
  'aws.ec2.security_group_ssh_open': ({ attributes }) =>
    ((attributes.ingress as Attributes[] | undefined) ?? []).some(
      (r) =>
        (r.protocol === '-1' || r.protocol === 'all' || ((r.protocol === 'tcp' || r.protocol === '6') && (r.from_port as number) <= 22 && 22 <= (r.to_port as number))) &&
        [...((r.cidr_blocks as string[] | undefined) ?? []), ...((r.ipv6_cidr_blocks as string[] | undefined) ?? [])].some(isWorldOpen),
    ),
  'aws.tags.missing_owner_or_environment': ({ tags }) => !('owner' in tags) || !('env' in tags || 'environment' in tags),
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '20000' } } });
  const count = Number(values.count);
  const catalogue = await loadCatalogue();
  const resources: RuleResource[] = [...syntheticResources(count)].map(({ source: _source, unknown_paths: _unknownPaths, ...resource }) => ({ id: null, ...resource }));

  let evaluations = 0;
  const outcomes = { pass: 0, fail: 0, unknown: 0, error: 0 };
  const started = process.hrtime.bigint();
  for (const { outcome } of evaluateInventory(catalogue, resources, NOW)) {
    evaluations++;
    outcomes[outcome.outcome]++;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`catalogue ${catalogue.version}: ${catalogue.rules.length} rules over ${count} resources`);
  console.log(`  ${evaluations} evaluations in ${seconds.toFixed(2)} s: ${Math.round(evaluations / seconds).toLocaleString('en')} evaluations/s, ${Math.round(count / seconds).toLocaleString('en')} resources/s`);
  console.log(`  outcomes: ${outcomes.pass} pass, ${outcomes.fail} fail, ${outcomes.unknown} unknown, ${outcomes.error} error`);

  const graph = new ResourceGraph(resources);
  for (const [id, predicate] of Object.entries(HAND_WRITTEN)) {
    const compiled = catalogue.byId.get(id);
    if (!compiled) throw new Error(`no rule ${id}`);
    const subjects = resources.filter((r) => compiled.rule.resource_types.includes(r.type));
    const contexts = subjects.map((r) => graph.contextOf(r, NOW));
    const rounds = Math.max(1, Math.ceil(200_000 / subjects.length));
    const time = (run: (i: number) => boolean) => {
      let failures = 0;
      const start = process.hrtime.bigint();
      for (let round = 0; round < rounds; round++) for (let i = 0; i < subjects.length; i++) if (run(i)) failures++;
      return { perSecond: (rounds * subjects.length) / (Number(process.hrtime.bigint() - start) / 1e9), failures: failures / rounds };
    };
    const cel = time((i) => evaluateRule(compiled, subjects[i]!, contexts[i]!).outcome === 'fail');
    const js = time((i) => predicate(subjects[i]!));
    if (cel.failures !== js.failures) throw new Error(`${id}: CEL found ${cel.failures} failures, the predicate ${js.failures}`);
    console.log(
      `  ${id}: CEL ${Math.round(cel.perSecond).toLocaleString('en')}/s, JS ${Math.round(js.perSecond).toLocaleString('en')}/s, JS is ${(js.perSecond / cel.perSecond).toFixed(1)}x faster (${subjects.length} resources, ${cel.failures} failing)`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
