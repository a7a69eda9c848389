// Lists findings from an organization holding N of them (default 1,000,000) on the PostgreSQL
// server, filtered to open high and critical ones: median latency of page 1 and of page 2,000
// (target: within 1.2x of page 1), requests/s at 32 concurrent connections, and the EXPLAIN of
// the repository's query. The findings are seeded with SQL: N/5 resources with 5 findings each,
// of the catalogue's rules (so severities and dimensions spread as the catalogue's do), about
// 65% open, 25% resolved, 5% suppressed and 5% risk accepted, all from one audit.
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx scripts/bench-findings.ts [--count 1000000]
import { parseArgs } from 'node:util';
import { CompiledQuery, type KyselyPlugin } from 'kysely';
import { seed } from './bench-seed-findings';
import { SEVERITIES } from '../src/rules/rule-definition';
import type { Db } from '../src/db/database';
import { listFindings, type FindingFilter, type FindingSort } from '../src/findings/findings.repository';
import { benchListing } from './bench-listing';
import { startBenchServer } from './bench-server';

const QUERY = 'limit=50&severity=high,critical&status=open';
const FILTER: FindingFilter = { severityRanks: [SEVERITIES.indexOf('high'), SEVERITIES.indexOf('critical')], statuses: ['open'] };
const SORT: FindingSort = { field: 'severity', descending: true };
const FAR_PAGE = 2000;

/** The SQL `listFindings` runs for these arguments, compiled (with its parameters) instead of executed. */
async function listFindingsQuery(db: Db, ...args: Parameters<typeof listFindings> extends [Db, ...infer Rest] ? Rest : never): Promise<CompiledQuery> {
  class Captured extends Error {}
  let captured: CompiledQuery | undefined;
  const capture: KyselyPlugin = {
    transformQuery: ({ node, queryId }) => {
      captured = db.getExecutor().compileQuery(node, queryId);
      throw new Captured();
    },
    transformResult: ({ result }) => Promise.resolve(result),
  };
  try {
    await listFindings(db.withPlugin(capture), ...args);
  } catch (error) {
    if (!(error instanceof Captured)) throw error;
  }
  if (!captured) throw new Error('listFindings ran no query');
  return captured;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '1000000' } } });
  const count = Number(values.count);

  const { base, token, db, close } = await startBenchServer({ RATE_LIMIT_PER_MINUTE: '1000000' });
  try {
    const organizationId = (await db.selectFrom('organizations').select('id').executeTakeFirstOrThrow()).id;
    await seed(db, organizationId, count);

    const { lastBeforeFar: last } = await benchListing<{ id: string; severity: string }>(base, token, `/v1/findings?${QUERY}`, FAR_PAGE);

    const farAfter: [number, string] = [SEVERITIES.indexOf(last.severity as (typeof SEVERITIES)[number]), last.id];
    for (const [label, after] of [['page 1', undefined], [`page ${FAR_PAGE}`, farAfter]] as const) {
      const query = await listFindingsQuery(db, organizationId, FILTER, SORT, 51, after);
      if (!after) console.log(`SQL (findings.repository listFindings): ${query.sql.replace(/\s+/g, ' ')}`);
      const plan = await db.executeQuery<Record<string, string>>(CompiledQuery.raw(`explain (analyze, buffers) ${query.sql}`, [...query.parameters]));
      console.log(`EXPLAIN (ANALYZE, BUFFERS), ${label}, parameters ${JSON.stringify(query.parameters)}:`);
      for (const row of plan.rows) console.log(`  ${Object.values(row)[0]}`);
    }
  } finally {
    await close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
