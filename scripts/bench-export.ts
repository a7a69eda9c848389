// Exports N findings (default 1,000,000, seeded with SQL as bench-findings does) through
// `GET /v1/findings/export` in each format on the PostgreSQL server, reading the stream and
// throwing it away: time, bytes, findings/s, and the process's peak RSS during each export beside
// its RSS before (the server runs in this process, so the growth is what the export costs).
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx scripts/bench-export.ts [--count 1000000] [--formats csv,sarif,ocsf,asff]
import { parseArgs } from 'node:util';
import { seed } from './seed-findings';
import { startBenchServer } from './bench-server';

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '1000000' }, formats: { type: 'string', default: 'csv,sarif,ocsf,asff' } } });
  const count = Number(values.count);
  const { base, token, db, close } = await startBenchServer({ RATE_LIMIT_PER_MINUTE: '1000000' });
  try {
    const organizationId = (await db.selectFrom('organizations').select('id').executeTakeFirstOrThrow()).id;
    await seed(db, organizationId, count);
    for (const format of values.formats.split(',')) {
      global.gc?.();
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
      const started = Date.now();
      const response = await fetch(`${base}/v1/findings/export?format=${format}`, { headers: { Authorization: `Bearer ${token}` } });
      if (response.status !== 200 || !response.body) throw new Error(`export ${format}: ${response.status} ${await response.text()}`);
      let bytes = 0;
      for await (const chunk of response.body) bytes += (chunk as Uint8Array).byteLength;
      const seconds = (Date.now() - started) / 1000;
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      console.log(
        `${format}: ${count} findings in ${seconds.toFixed(1)} s (${Math.round(count / seconds)} findings/s), ${mb(bytes)} written; ` +
          `RSS before ${mb(before)}, peak during the export ${mb(peak)} (+${mb(peak - before)})`,
      );
    }
  } finally {
    await close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
