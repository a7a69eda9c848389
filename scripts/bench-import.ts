// Imports N synthetic resources (native format) through HTTP into a fresh account on the
// PostgreSQL server, then re-imports the same file (all unchanged), and beside each round times a
// `COPY` (psql's \copy) of the same rows into twins of `resources` and `resource_sightings` (same
// columns, indexes and checks): the ceiling an import is measured against. Rounds interleave the three, so that a noisy
// machine slows all alike; it prints each round and the medians of the ratios.
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx scripts/bench-import.ts [--count 100000] [--rounds 3] [--phases]
// --phases also prints, once, the CPU time of this process's steps over the file (parse, checks,
// canonical JSON and hash), and for each import its statements grouped by shape: how many, their
// wall time as this process waited for them, and the CPU time their server backend spent
// (read from /proc, so the server must run on this machine).
// N counts AWS resources (the account's provider): the file holds exactly N, all imported.
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import type { CanonicalResource } from '../src/imports/canonical-resource';
import { parseInventory } from '../src/imports/import-parsers';
import { contentHashOf, contentJson } from '../src/imports/resource-content';
import { resourceLimitProblems } from '../src/imports/resource-limits';
import { startBenchServer } from './bench-server';
import { syntheticResources } from './synthetic-inventory';

const TARGET_IMPORT_RATIO = 1.5;
const TARGET_REIMPORT_RATIO = 0.5;
const TWIN = 'bench_copy_twin';
const COPY_COLUMNS = [
  'id', 'organization_id', 'account_id', 'provider', 'type', 'native_id', 'region', 'name', 'tags', 'attributes', 'relationships',
  'unknown_attributes', 'content_hash', 'version', 'first_seen_at', 'status', 'version_recorded_at',
];
const SIGHTINGS_TWIN = 'bench_copy_sightings_twin';
const SIGHTINGS_COPY_COLUMNS = ['resource_id', 'organization_id', 'last_seen_at'];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '3' }, phases: { type: 'boolean', default: false } } });
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

    const statements = values.phases ? recordStatements() : undefined;
    if (values.phases) printNodePhases(body);

    await sql`create table ${sql.table(TWIN)} (like resources including all)`.execute(server.db);
    await sql`create table ${sql.table(SIGHTINGS_TWIN)} (like resource_sightings including all)`.execute(server.db);
    const copyFile = path.join(work, 'rows.copy');
    const sightingsFile = path.join(work, 'sightings.copy');
    await writeCopyRows(copyFile, sightingsFile, resources);

    const isPending = async (importId: string) => {
      const row = await server.db.selectFrom('imports').select('status').where('id', '=', importId).executeTakeFirstOrThrow();
      return row.status === 'queued' || row.status === 'running';
    };
    const ratios: { imported: number; reimported: number }[] = [];
    for (let round = 1; round <= rounds; round++) {
      const account = (await call('POST', '/v1/accounts', JSON.stringify({ provider: 'aws', external_id: String(100000000000 + round), name: `bench ${round}` }))).id as string;
      const importOnce = async (expected: 'created' | 'unchanged') => {
        statements?.clear();
        const cpu = process.cpuUsage();
        const started = process.hrtime.bigint();
        let done = await call('POST', `/v1/accounts/${account}/imports?format=native&mode=full`, body);
        // A large file is queued (202): the import ends when a worker has written it. Its row is
        // polled in the database, not through the API: a GET every 20 ms costs the server (which
        // runs in this process) about 5 ms of CPU each, seconds taken from the import it measures.
        while (await isPending(done.id as string)) await new Promise((resolve) => setTimeout(resolve, 20));
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        done = await call('GET', `/v1/imports/${done.id as string}`, undefined);
        const counts = done.counts as Record<string, number>;
        if (done.status !== 'succeeded' || counts[expected] !== count) {
          throw new Error(`import ${done.id as string} ${done.status as string}: ${JSON.stringify(done.counts)} ${JSON.stringify(done.problems)}`);
        }
        if (statements) {
          const used = process.cpuUsage(cpu);
          console.log(`  ${expected} import: ${seconds.toFixed(2)} s, this process's CPU ${((used.user + used.system) / 1e6).toFixed(2)} s`);
          statements.print();
        }
        return seconds;
      };

      await sql`truncate ${sql.table(TWIN)}, ${sql.table(SIGHTINGS_TWIN)}`.execute(server.db);
      await sql`checkpoint`.execute(server.db);
      const copied = await timeCopy(server.databaseUrl, copyFile, sightingsFile);
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

/** CPU seconds of `step`, run once. */
function cpuSeconds<T>(step: () => T): [T, number] {
  const before = process.cpuUsage();
  const result = step();
  const used = process.cpuUsage(before);
  return [result, (used.user + used.system) / 1e6];
}

/** The CPU time of an import's steps in this process, each run once over `body`. */
function printNodePhases(body: string): void {
  const [document, parse] = cpuSeconds(() => JSON.parse(body) as unknown);
  const [parsed, map] = cpuSeconds(() => parseInventory('native', document));
  const [, limits] = cpuSeconds(() => resourceLimitProblems(parsed.resources));
  const [, hash] = cpuSeconds(() => parsed.resources.forEach((r) => contentHashOf(contentJson(r))));
  const [, again] = cpuSeconds(() => parsed.resources.forEach((r) => contentHashOf(contentJson(r))));
  console.log(
    `CPU in this process: JSON.parse ${parse.toFixed(2)} s, native parser ${map.toFixed(2)} s, resource limits (canonical JSON made there) ${limits.toFixed(2)} s, ` +
      `hash ${hash.toFixed(2)} s (canonical JSON already made; ${again.toFixed(2)} s again)`,
  );
}

/** Statements grouped by shape, with their wall time and their backend's CPU time, from every pg client of this process. */
function recordStatements() {
  const shapes = new Map<string, { count: number; wallMs: number; serverCpuMs: number }>();
  const ticksMs = 10; // /proc/<pid>/stat counts in clock ticks of 1/100 s
  const backendCpu = (pid: number | null) => {
    if (!pid) return 0;
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * ticksMs;
  };
  const shapeOf = (text: string) => text.replace(/\s+/g, ' ').trim().slice(0, 90);
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown; processID: number | null };
  const query = prototype.query;
  prototype.query = function (this: typeof prototype, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
    const result = query.apply(this, args);
    if (text === undefined || !(result instanceof Promise)) return result;
    const started = process.hrtime.bigint();
    const cpu = backendCpu(this.processID);
    const done = () => {
      const shape = shapes.get(shapeOf(text)) ?? { count: 0, wallMs: 0, serverCpuMs: 0 };
      shape.count++;
      shape.wallMs += Number(process.hrtime.bigint() - started) / 1e6;
      shape.serverCpuMs += backendCpu(this.processID) - cpu;
      shapes.set(shapeOf(text), shape);
    };
    return result.then((value: unknown) => (done(), value), (error: unknown) => (done(), Promise.reject(error)));
  };
  return {
    clear: () => shapes.clear(),
    print: () => {
      const rows = [...shapes.entries()].sort((a, b) => b[1].wallMs - a[1].wallMs).slice(0, 12);
      for (const [shape, s] of rows) {
        console.log(`    ${String(s.count).padStart(4)}x wall ${(s.wallMs / 1000).toFixed(2).padStart(6)} s, server CPU ${(s.serverCpuMs / 1000).toFixed(2).padStart(6)} s  ${shape}`);
      }
    },
  };
}

/** The rows an import of `resources` writes, in COPY's text format (JSON escapes every control character; only `\` needs doubling). */
async function writeCopyRows(file: string, sightingsFile: string, resources: CanonicalResource[]): Promise<void> {
  const out = createWriteStream(file);
  const sightings = createWriteStream(sightingsFile);
  const seenAt = new Date().toISOString();
  const text = (value: string | null) => (value === null ? '\\N' : value.replace(/\\/g, '\\\\'));
  for (const [i, r] of resources.entries()) {
    const hash = contentHashOf(contentJson(r));
    const id = `res_bench${String(i).padStart(17, '0')}`;
    const fields = [
      id, 'org_bench', 'acc_bench', r.provider, r.type, r.native_id, r.region, r.name,
      JSON.stringify(r.tags), JSON.stringify(r.attributes), JSON.stringify(r.relationships), '[]', hash, '1', seenAt, 'active', seenAt,
    ];
    if (!out.write(`${fields.map(text).join('\t')}\n`)) await once(out, 'drain');
    if (!sightings.write(`${id}\torg_bench\t${seenAt}\n`)) await once(sightings, 'drain');
  }
  out.end();
  sightings.end();
  await Promise.all([once(out, 'finish'), once(sightings, 'finish')]);
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

/** Seconds psql takes to `\copy` the files into the twins. */
async function timeCopy(databaseUrl: string, file: string, sightingsFile: string): Promise<number> {
  const started = process.hrtime.bigint();
  const copies = [
    '-c', `\\copy ${TWIN} (${COPY_COLUMNS.join(', ')}) from '${file}'`,
    '-c', `\\copy ${SIGHTINGS_TWIN} (${SIGHTINGS_COPY_COLUMNS.join(', ')}) from '${sightingsFile}'`,
  ];
  const psql = spawn('psql', [databaseUrl, '-X', '-q', '-v', 'ON_ERROR_STOP=1', ...copies], {
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
