// Lists resources from an organization holding N of them (default 1,000,000) on the PostgreSQL
// server, with a type and a tag filter: median latency of page 1 and of page 2,000 (target:
// within 1.2x of page 1), requests/s at 32 concurrent connections, and the EXPLAIN of the query.
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx scripts/bench-resources.ts [--count 1000000]
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { newId } from '../src/ids';
import { insertResources, resourceListQuery, type NewResource } from '../src/resources/resources.repository';
import { benchListing } from './bench-listing';
import { startBenchServer } from './bench-server';
import { syntheticResources } from './synthetic-inventory';

// Two of the commonest generated types and the commonest env: about an eighth of the estate,
// so that page 2,000 exists at a million resources.
const QUERY = 'type=aws_instance&type=aws_ebs_volume&tag=env:prod&limit=50';
const FILTER = { types: ['aws_instance', 'aws_ebs_volume'], tags: [{ key: 'env', value: 'prod' }] };
const FAR_PAGE = 2000;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '1000000' } } });
  const count = Number(values.count);

  const { base, token, db, close } = await startBenchServer({ RATE_LIMIT_PER_MINUTE: '1000000' });
  try {
    const organizationId = (await db.selectFrom('organizations').select('id').executeTakeFirstOrThrow()).id;
    const accountId = newId('acc');
    await db.insertInto('accounts').values({ id: accountId, organization_id: organizationId, provider: 'aws', external_id: '123456789012', name: 'bench' }).execute();

    const started = Date.now();
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
    await sql`analyze resource_sightings`.execute(db);
    console.log(`seeded ${count} resources in ${((Date.now() - started) / 1000).toFixed(0)} s`);

    await benchListing(base, token, `/v1/resources?${QUERY}`, FAR_PAGE);

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
