// Imports N synthetic resources (native format) through HTTP into a fresh account on the
// PostgreSQL server, then re-imports the same file (all unchanged), and beside each round times a
// `COPY` (psql's \copy) of the same rows into a twin of `resources` (same columns, indexes and
// checks): the ceiling an import is measured against. Rounds interleave the three, so that a noisy
// machine slows all alike; it prints each round and the medians of the ratios.
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx scripts/bench-import.ts [--count 100000] [--rounds 3]
// N counts AWS resources (the account's provider): the file holds exactly N, all imported.
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import type { CanonicalResource } from '../src/imports/canonical-resource';
import { contentHashOf, contentJson } from '../src/imports/resource-content';
import { startBenchServer } from './bench-server';
import { syntheticResources } from './synthetic-inventory';

const TARGET_IMPORT_RATIO = 1.5;
const TARGET_REIMPORT_RATIO = 0.5;
const TWIN = 'bench_copy_twin';
const COPY_COLUMNS = [
  'id', 'organization_id', 'account_id', 'provider', 'type', 'native_id', 'region', 'name', 'tags', 'attributes', 'relationships',
  'unknown_attributes', 'content_hash', 'version', 'first_seen_at', 'last_seen_at', 'status', 'version_recorded_at',
];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '3' } } });
  const count = Number(values.count);
  const rounds = Number(values.rounds);

  const server = await startBenchServer({ IMPORT_BODY_LIMIT_BYTES: String(1024 * 1024 * 1024), RATE_LIMIT_HEAVY_PER_MINUTE: '1000' });
  const work = await mkdtemp(path.join(tmpdir(), 'bench-import-'));
  try {
    // A new connection each call: the server drops idle keep-alive ones after 5 s, and a reused
    // one it just closed fails the next request.
    const call = async (method: string, url: string, body: string | undefined) => {
      const response = await requestJson(`${server.base}${url}`, method, server.token, body);
      if (response.status >= 300) throw new Error(`${method} ${url}: ${response.status} ${JSON.stringify(response.json)}`);
      return response.json;
    };

    // The generator mixes providers; draw until there are exactly `count` AWS ones.
    const resources: CanonicalResource[] = [];
    for (const resource of syntheticResources(Number.MAX_SAFE_INTEGER, 1)) {
      if (resources.length === count) break;
      if (resource.provider === 'aws') resources.push(resource);
    }
    const body = JSON.stringify({ resources: resources.map(({ source: _source, unknown_paths: _unknown, ...r }) => r) });
    console.log(`inventory: ${resources.length} aws resources, ${(Buffer.byteLength(body) / 1024 / 1024).toFixed(1)} MiB of JSON`);

    await sql`create table ${sql.table(TWIN)} (like resources including all)`.execute(server.db);
    const copyFile = path.join(work, 'rows.copy');
    await writeCopyRows(copyFile, resources);

    const ratios: { imported: number; reimported: number }[] = [];
    for (let round = 1; round <= rounds; round++) {
      const account = (await call('POST', '/v1/accounts', JSON.stringify({ provider: 'aws', external_id: String(100000000000 + round), name: `bench ${round}` }))).id as string;
      const importOnce = async (expected: 'created' | 'unchanged') => {
        const started = process.hrtime.bigint();
        let done = await call('POST', `/v1/accounts/${account}/imports?format=native&mode=full`, body);
        // A large file is queued (202): the import ends when a worker has written it.
        while (done.status === 'queued' || done.status === 'running') {
          await new Promise((resolve) => setTimeout(resolve, 20));
          done = await call('GET', `/v1/imports/${done.id as string}`, undefined);
        }
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const counts = done.counts as Record<string, number>;
        if (done.status !== 'succeeded' || counts[expected] !== count) {
          throw new Error(`import ${done.id as string} ${done.status as string}: ${JSON.stringify(done.counts)} ${JSON.stringify(done.problems)}`);
        }
        return seconds;
      };

      await sql`truncate ${sql.table(TWIN)}`.execute(server.db);
      await sql`checkpoint`.execute(server.db);
      const copied = await timeCopy(server.databaseUrl, copyFile);
      await sql`checkpoint`.execute(server.db);
      const imported = await importOnce('created');
      await sql`checkpoint`.execute(server.db);
      const reimported = await importOnce('unchanged');
      ratios.push({ imported: imported / copied, reimported: reimported / copied });
      console.log(
        `round ${round}: COPY ${copied.toFixed(2)} s; import ${imported.toFixed(2)} s (${Math.round(count / imported)}/s, ${(imported / copied).toFixed(2)}x COPY); ` +
          `unchanged re-import ${reimported.toFixed(2)} s (${(reimported / copied).toFixed(2)}x COPY)`,
      );
      // Each round starts from an empty inventory, as the twin does.
      await sql`delete from accounts where id = ${account}`.execute(server.db);
      await sql`vacuum analyze resources`.execute(server.db);
    }
    const summary = (name: string, values: number[], target: number) => {
      const sorted = [...values].sort((a, b) => a - b);
      const middle = sorted.length / 2;
      const median = Number.isInteger(middle) ? (sorted[middle - 1]! + sorted[middle]!) / 2 : sorted[Math.floor(middle)]!;
      console.log(
        `${name} / COPY time: min ${sorted[0]!.toFixed(2)}, median ${median.toFixed(2)}, max ${sorted.at(-1)!.toFixed(2)} (target <= ${target}) ${median <= target ? 'MET' : 'NOT MET'}`,
      );
    };
    summary('import', ratios.map((r) => r.imported), TARGET_IMPORT_RATIO);
    summary('unchanged re-import', ratios.map((r) => r.reimported), TARGET_REIMPORT_RATIO);
  } finally {
    await rm(work, { recursive: true, force: true });
    await server.close();
  }
}

/** The rows an import of `resources` writes, in COPY's text format (JSON escapes every control character; only `\` needs doubling). */
async function writeCopyRows(file: string, resources: CanonicalResource[]): Promise<void> {
  const out = createWriteStream(file);
  const seenAt = new Date().toISOString();
  const text = (value: string | null) => (value === null ? '\\N' : value.replace(/\\/g, '\\\\'));
  for (const [i, r] of resources.entries()) {
    const hash = contentHashOf(contentJson(r));
    const fields = [
      `res_bench${String(i).padStart(17, '0')}`, 'org_bench', 'acc_bench', r.provider, r.type, r.native_id, r.region, r.name,
      JSON.stringify(r.tags), JSON.stringify(r.attributes), JSON.stringify(r.relationships), '[]', hash, '1', seenAt, seenAt, 'active', seenAt,
    ];
    if (!out.write(`${fields.map(text).join('\t')}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

function requestJson(url: string, method: string, token: string, body: string | undefined): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Seconds psql takes to `\copy` the file into the twin. */
async function timeCopy(databaseUrl: string, file: string): Promise<number> {
  const started = process.hrtime.bigint();
  const psql = spawn('psql', [databaseUrl, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `\\copy ${TWIN} (${COPY_COLUMNS.join(', ')}) from '${file}'`], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const [code] = (await once(psql, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`psql \\copy exited with ${code}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
