// Lists resources from an organization holding N of them (default 1,000,000) on the PostgreSQL
// server, with a type and a tag filter: median latency of page 1 and of page 2,000 (target:
// within 1.2x of page 1), requests/s at 32 concurrent connections, and the EXPLAIN of the query.
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx scripts/bench-resources.ts [--count 1000000]
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { newId } from '../src/ids';
import { insertResources, resourceListQuery, type NewResource } from '../src/resources/resources.repository';
import { startBenchServer } from './bench-server';
import { syntheticResources } from './synthetic-inventory';

// Two of the commonest generated types and the commonest env: about an eighth of the estate,
// so that page 2,000 exists at a million resources.
const QUERY = 'type=aws_instance&type=aws_ebs_volume&tag=env:prod&limit=50';
const FILTER = { types: ['aws_instance', 'aws_ebs_volume'], tags: [{ key: 'env', value: 'prod' }] };
const FAR_PAGE = 2000;
const SAMPLES = 41;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '1000000' } } });
  const count = Number(values.count);

  const { base, token, db, close } = await startBenchServer({ RATE_LIMIT_PER_MINUTE: '1000000' });
  try {
    const headers = { Authorization: `Bearer ${token}` };
    const organizationId = (await db.selectFrom('organizations').select('id').executeTakeFirstOrThrow()).id;
    const accountId = newId('acc');
    await db.insertInto('accounts').values({ id: accountId, organization_id: organizationId, provider: 'aws', external_id: '123456789012', name: 'bench' }).execute();

    let started = Date.now();
    let batch: NewResource[] = [];
    const seenAt = new Date();
    for (const resource of syntheticResources(count, 1)) {
      const { source: _source, ...content } = resource;
      batch.push({ ...content, id: newId('res'), organization_id: organizationId, account_id: accountId, content_hash: '0'.repeat(64), version: 1, first_seen_at: seenAt, last_seen_at: seenAt, status: 'active' });
      if (batch.length === 5000) {
        await insertResources(db, batch);
        batch = [];
      }
    }
    await insertResources(db, batch);
    await sql`analyze resources`.execute(db);
    console.log(`seeded ${count} resources in ${((Date.now() - started) / 1000).toFixed(0)} s`);

    const get = async (cursor?: string) => {
      const response = await fetch(`${base}/v1/resources?${QUERY}${cursor ? `&cursor=${cursor}` : ''}`, { headers });
      if (!response.ok) throw new Error(`GET /v1/resources: ${response.status} ${await response.text()}`);
      return (await response.json()) as { data: unknown[]; next_cursor: string | null };
    };
    const medianMs = async (cursor?: string) => {
      const times: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const t = process.hrtime.bigint();
        await get(cursor);
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      return times.sort((a, b) => a - b)[Math.floor(SAMPLES / 2)]!;
    };

    let cursor: string | null | undefined;
    started = Date.now();
    for (let page = 1; page < FAR_PAGE; page++) {
      cursor = (await get(cursor ?? undefined)).next_cursor;
      if (!cursor) throw new Error(`the filter has only ${page} pages; raise --count`);
    }
    console.log(`walked to page ${FAR_PAGE} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const first = await medianMs();
    const far = await medianMs(cursor!);
    console.log(`GET /v1/resources?${QUERY}`);
    console.log(`  page 1: median ${first.toFixed(1)} ms; page ${FAR_PAGE}: median ${far.toFixed(1)} ms; ratio ${(far / first).toFixed(2)} (target ≤ 1.2)`);

    let done = 0;
    const until = Date.now() + 10_000;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (Date.now() < until) {
          await get();
          done++;
        }
      }),
    );
    console.log(`  32 concurrent connections, page 1: ${(done / 10).toFixed(0)} requests/s`);

    const sort = { field: 'last_seen_at' as const, descending: true };
    const plan = await resourceListQuery(db, organizationId, FILTER, sort, 51).explain(undefined, sql`analyze, buffers`);
    console.log('EXPLAIN (page 1):');
    for (const row of plan) console.log(`  ${Object.values(row)[0]}`);
  } finally {
    await close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
