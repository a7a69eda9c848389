// fourfold side by side with a bare node:http + pg + JSON.stringify server that runs exactly the
// statements fourfold runs for the same answer (issue 20). Seeds N findings (default 100,000) in a
// database of its own on the PostgreSQL server, starts fourfold with production settings
// (LOG_LEVEL=info, rate-limit counters in PostgreSQL, or in Redis with --redis) in a process of its
// own, captures the statements each measured request runs (scripts/bench-capture.ts), starts the
// bare server (scripts/bench-bare-server.ts) running them, then runs interleaved autocannon rounds
// (the listing, GET /v1/me, PATCH /v1/findings/{id}) and prints per round and as min/median/max:
// req/s, p50, p99, Node CPU per request (from /proc) of each, and the ratios. The machine is shared,
// so the ratios of interleaved rounds are what counts, not the absolute figures. GET /v1/me runs
// twice: against the production settings, where a cached credential runs no statement (so the bare
// twin answers a constant), and against a second fourfold with CREDENTIAL_CACHE_SECONDS=0 beside a
// bare twin running the statements that one runs; both ratios are printed side by side. fourfold
// starts with the Node flags of `npm start` (package.json), and its RSS is printed at idle and at
// its peak.
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx scripts/bench-vs-bare.ts \
//     [--count 100000] [--rounds 3] [--seconds 8] [--connections 32] [--profile <dir>] [--redis redis://127.0.0.1:6379]
//     [--deep-page 10000] [--database <name>]
// It also compares page --deep-page of GET /v1/findings?limit=100 (reached by following the
// cursors; the last full page when fewer findings are seeded: --count 1000000 gives page 10,000)
// with page 1, in interleaved rounds. --database names the database it creates and drops (default
// fourfold_bench_vs_bare_<pid>).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { migrateToLatest, openDatabase } from '../src/db/database';
import type { BareRoute } from './bench-bare-server';
import { seed } from './seed-findings';

const { values: args } = parseArgs({
  options: {
    count: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '8' },
    connections: { type: 'string', default: '32' },
    profile: { type: 'string' },
    redis: { type: 'string' },
    'deep-page': { type: 'string', default: '10000' },
    database: { type: 'string' },
  },
});
const ROUNDS = Number(args.rounds);
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const LIST_LIMIT = 50;
const LISTING = `/v1/findings?limit=${LIST_LIMIT}&severity=high,critical&status=open`;
const DEEP_LIMIT = 100;
const OWNER = { username: 'bench', password: 'bench-password-123' };
const CLOCK_TICKS = 100; // USER_HZ on Linux: /proc/<pid>/stat counts CPU time in 1/100 s
const ROOT = path.resolve(__dirname, '..');

interface Scenario {
  name: string;
  method: 'GET' | 'PATCH';
  url: string;
  body?: string;
  list?: boolean;
  /** Measured against the fourfold started with CREDENTIAL_CACHE_SECONDS=0, and its own bare route. */
  uncached?: boolean;
}

/** The bare server's route of a scenario: its statements differ when fourfold's credential cache is off. */
const bareUrl = (scenario: Scenario) => (scenario.uncached ? `${scenario.url}${scenario.url.includes('?') ? '&' : '?'}credential_cache=off` : scenario.url);

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  cpuMsPerRequest: number;
  bad: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const spread = (xs: number[], digits: number) => `min ${Math.min(...xs).toFixed(digits)} / median ${median(xs).toFixed(digits)} / max ${Math.max(...xs).toFixed(digits)}`;

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

async function waitFor(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 1800; i++) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with ${child.exitCode}`);
    try {
      await fetch(url);
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`${url} did not answer`);
}

/** The Node flags `npm start` gives the server (package.json), so fourfold is measured as it runs in production. */
function startFlags(): string[] {
  const { scripts } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = scripts.start.split(/\s+/);
  return words.filter((word, i) => word.startsWith('--') && word !== '--import' && words[i - 1] !== '--import');
}

/** Resident set size in MB: now, or the peak (`VmHWM`) since the process started. */
function rssMb(pid: number, which: 'VmRSS' | 'VmHWM'): number {
  const kb = new RegExp(`${which}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Math.round(Number(kb) / 1024);
}

function start(script: string, env: Record<string, string>, nodeArgs: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [...(script === 'src/main.ts' ? startFlags() : []), '--import', 'tsx', ...nodeArgs, script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function load(base: string, scenario: Scenario, token: string, pid: number): Promise<Figures> {
  const before = cpuSeconds(pid);
  const result = await autocannon({
    url: `${base}${scenario.url}`,
    method: scenario.method,
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { Authorization: `Bearer ${token}`, ...(scenario.body ? { 'Content-Type': 'application/json' } : {}) },
    body: scenario.body,
  });
  const cpu = cpuSeconds(pid) - before;
  return {
    rps: result.requests.total / SECONDS,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMsPerRequest: (cpu * 1000) / Math.max(1, result.requests.total),
    bad: result.non2xx + result.errors + result.timeouts,
  };
}

async function main(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) throw new Error('set DATABASE_URL to the PostgreSQL server (the benchmark creates and drops its own database)');
  const name = args.database ?? `fourfold_bench_vs_bare_${process.pid}`;
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`--database ${name}: a lowercase PostgreSQL identifier, please`);
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const db = openDatabase({ databaseUrl, dataDir: null });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-vs-bare-'));
  const children: ChildProcess[] = [];
  try {
    await migrateToLatest(db);
    const port = 20000 + (process.pid % 20000);
    const base = `http://127.0.0.1:${port}`;
    const bareBase = `http://127.0.0.1:${port + 1}`;
    const fourfoldEnv = {
      DATABASE_URL: databaseUrl,
      JWT_SECRET: 'bench-signing-secret-0123456789-0123456789',
      ADMIN_USERNAME: OWNER.username,
      ADMIN_PASSWORD: OWNER.password,
      LOG_LEVEL: 'info',
      RUN_WORKERS: 'false',
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: 'production',
      // Every request is let through and still counted, as it would be under the limit.
      RATE_LIMIT_PER_MINUTE: '1000000',
      ...(args.redis ? { REDIS_URL: args.redis } : {}),
    };

    // 1. Capture the statements of each measured request.
    const captureFile = path.join(work, 'statements.jsonl');
    fs.writeFileSync(captureFile, '');
    let fourfold = start('src/main.ts', { ...fourfoldEnv, BENCH_CAPTURE_FILE: captureFile }, ['--import', './scripts/bench-capture.ts']);
    children.push(fourfold);
    await waitFor(`${base}/health`, fourfold);
    const organizationId = (await db.selectFrom('organizations').select('id').executeTakeFirstOrThrow()).id;
    await seed(db, organizationId, Number(args.count));
    const login = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(OWNER) });
    const token = ((await login.json()) as { access_token: string }).access_token;
    const page = (await (await fetch(`${base}${LISTING}`, { headers: { Authorization: `Bearer ${token}` } })).json()) as { data: { id: string }[] };
    const findingId = page.data[0]!.id;
    const scenarios: Scenario[] = [
      { name: `GET ${LISTING}`, method: 'GET', url: LISTING, list: true },
      { name: 'GET /v1/me, credential cache on (production; fourfold runs no statement, so bare answers a constant)', method: 'GET', url: '/v1/me' },
      { name: 'PATCH /v1/findings/{id}', method: 'PATCH', url: `/v1/findings/${findingId}`, body: JSON.stringify({ note: 'Reviewed in the benchmark.' }) },
      { name: 'GET /v1/me, credential cache off (CREDENTIAL_CACHE_SECONDS=0; bare runs the same statements)', method: 'GET', url: '/v1/me', uncached: true },
    ];
    const routes = await captureRoutes(base, token, captureFile, scenarios.filter((scenario) => !scenario.uncached));
    await stop(fourfold);
    fourfold = start('src/main.ts', { ...fourfoldEnv, CREDENTIAL_CACHE_SECONDS: '0', BENCH_CAPTURE_FILE: captureFile }, ['--import', './scripts/bench-capture.ts']);
    children[0] = fourfold;
    await waitFor(`${base}/health`, fourfold);
    routes.push(...(await captureRoutes(base, token, captureFile, scenarios.filter((scenario) => scenario.uncached))));
    await stop(fourfold);
    children.length = 0;

    // 2. Both servers, without the capture.
    const routesFile = path.join(work, 'routes.json');
    fs.writeFileSync(routesFile, JSON.stringify(routes));
    const profileArgs = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(args.profile)}`] : [];
    fourfold = start('src/main.ts', fourfoldEnv, profileArgs);
    const uncachedBase = `http://127.0.0.1:${port + 2}`;
    const uncached = start('src/main.ts', { ...fourfoldEnv, PORT: String(port + 2), CREDENTIAL_CACHE_SECONDS: '0' });
    const bare = start('scripts/bench-bare-server.ts', { DATABASE_URL: databaseUrl, PORT: String(port + 1), BENCH_BARE_ROUTES: routesFile });
    children.push(fourfold, uncached, bare);
    await waitFor(`${base}/health`, fourfold);
    await waitFor(`${uncachedBase}/health`, uncached);
    await waitFor(`${bareBase}/`, bare);
    await sleep(5000);
    const idleRss = rssMb(fourfold.pid!, 'VmRSS');
    console.log(`fourfold started with ${startFlags().join(' ') || 'no Node flags'} (npm start's); RSS at idle after start: ${idleRss} MB`);
    const fourfoldOf = (scenario: Scenario) => (scenario.uncached ? { base: uncachedBase, pid: uncached.pid! } : { base, pid: fourfold.pid! });
    // Warm-up: JIT, pools, caches.
    for (const scenario of scenarios) {
      await autocannon({ url: `${fourfoldOf(scenario).base}${scenario.url}`, method: scenario.method, connections: 8, duration: 2, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: scenario.body });
      await autocannon({ url: `${bareBase}${bareUrl(scenario)}`, method: scenario.method, connections: 8, duration: 2, body: scenario.body });
    }

    // 3. Interleaved rounds: which server goes first alternates.
    const results = new Map<string, { fourfold: Figures[]; bare: Figures[] }>(scenarios.map((s) => [s.name, { fourfold: [], bare: [] }]));
    const show = (f: Figures) => `${f.rps.toFixed(0).padStart(5)} req/s  p50 ${String(f.p50).padStart(4)} ms  p99 ${String(f.p99).padStart(4)} ms  ${f.cpuMsPerRequest.toFixed(2)} ms CPU/req${f.bad ? `  (${f.bad} not 2xx!)` : ''}`;
    for (let round = 1; round <= ROUNDS; round++) {
      for (const scenario of scenarios) {
        const order = round % 2 === 1 ? (['fourfold', 'bare'] as const) : (['bare', 'fourfold'] as const);
        const figures: Partial<Record<'fourfold' | 'bare', Figures>> = {};
        for (const which of order) {
          figures[which] =
            which === 'fourfold'
              ? await load(fourfoldOf(scenario).base, scenario, token, fourfoldOf(scenario).pid)
              : await load(bareBase, { ...scenario, url: bareUrl(scenario) }, token, bare.pid!);
          results.get(scenario.name)![which].push(figures[which]);
        }
        const f = figures.fourfold!;
        const b = figures.bare!;
        console.log(`round ${round} ${scenario.name}`);
        console.log(`  fourfold ${show(f)}`);
        console.log(`  bare     ${show(b)}`);
        console.log(`  ratio    req/s ${(f.rps / b.rps).toFixed(2)}  CPU/req ${(f.cpuMsPerRequest / b.cpuMsPerRequest).toFixed(2)}`);
      }
    }

    console.log(`\nover ${ROUNDS} rounds of ${SECONDS} s at ${CONNECTIONS} connections (min / median / max):`);
    for (const scenario of scenarios) {
      const { fourfold: f, bare: b } = results.get(scenario.name)!;
      const rpsRatios = f.map((x, i) => x.rps / b[i]!.rps);
      const cpuRatios = f.map((x, i) => x.cpuMsPerRequest / b[i]!.cpuMsPerRequest);
      console.log(scenario.name);
      console.log(`  fourfold req/s ${spread(f.map((x) => x.rps), 0)}; p50 ${median(f.map((x) => x.p50))} ms; p99 ${median(f.map((x) => x.p99))} ms; CPU/req ${spread(f.map((x) => x.cpuMsPerRequest), 2)} ms`);
      console.log(`  bare     req/s ${spread(b.map((x) => x.rps), 0)}; p50 ${median(b.map((x) => x.p50))} ms; p99 ${median(b.map((x) => x.p99))} ms; CPU/req ${spread(b.map((x) => x.cpuMsPerRequest), 2)} ms`);
      console.log(`  fourfold/bare req/s ${spread(rpsRatios, 2)}; CPU/req ${spread(cpuRatios, 2)}`);
    }
    const meRatios = scenarios
      .filter((scenario) => scenario.url === '/v1/me')
      .map((scenario) => {
        const { fourfold: f, bare: b } = results.get(scenario.name)!;
        return `${scenario.uncached ? 'cache off' : 'cache on'} ${spread(f.map((x, i) => x.rps / b[i]!.rps), 2)}`;
      });
    console.log(`GET /v1/me fourfold/bare req/s side by side: ${meRatios.join('  |  ')}`);
    const peakUnderLoad = rssMb(fourfold.pid!, 'VmHWM');
    console.log(`fourfold RSS: ${idleRss} MB at idle after start, peak ${peakUnderLoad} MB over the rounds above (the cache-off instance: peak ${rssMb(uncached.pid!, 'VmHWM')} MB)`);
    await stop(uncached);
    await compareDeepPage(base, token, fourfold.pid!, Math.min(Number(args['deep-page']), Math.floor(Number(args.count) / DEEP_LIMIT)));
    console.log(`fourfold peak RSS: ${rssMb(fourfold.pid!, 'VmHWM')} MB (after the deep-page rounds too)`);
  } finally {
    for (const child of children) await stop(child);
    await db.destroy();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The statements each scenario's request runs on the fourfold at `base` (started with the capture preload), as the bare server's routes. */
async function captureRoutes(base: string, token: string, captureFile: string, scenarios: Scenario[]): Promise<BareRoute[]> {
  const routes: BareRoute[] = [];
  for (const scenario of scenarios) {
    // Twice: the first request of a kind may warm caches (signing keys) with statements of its own.
    let statements: { text: string; values: unknown[] }[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      await sleep(300);
      const offset = fs.statSync(captureFile).size;
      const response = await fetch(`${base}${scenario.url}`, {
        method: scenario.method,
        headers: { Authorization: `Bearer ${token}`, ...(scenario.body ? { 'Content-Type': 'application/json' } : {}) },
        body: scenario.body,
      });
      if (!response.ok) throw new Error(`${scenario.name}: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
      await sleep(300);
      const lines = fs.readFileSync(captureFile, 'utf8').slice(offset).split('\n').filter(Boolean);
      // Not the request's own: the job queue's polling, the signing-key refresh (on a timer) and
      // the batched rate-limit flush (one statement per 100 ms for every caller, not per request).
      const background = /pgboss|from "signing_keys"|insert into rate_limits[\s\S]*from unnest\(/i;
      statements = lines.map((line) => JSON.parse(line) as { text: string; values: unknown[] }).filter((s) => !background.test(s.text));
    }
    const answer = scenario.list
      ? statements.findIndex((s) => /from "findings"/i.test(s.text) && /limit/i.test(s.text))
      : scenario.method === 'PATCH'
        ? statements.map((s) => /^(update|select)[\s\S]*"findings"/i.test(s.text)).lastIndexOf(true)
        : statements.length - 1;
    routes.push({ method: scenario.method, url: bareUrl(scenario), statements, answer: { statement: Math.max(0, answer), list: scenario.list ? { limit: LIST_LIMIT } : undefined } });
    console.log(`${scenario.name}: ${statements.length} statements`);
    for (const statement of statements) console.log(`  ${statement.text.replace(/\s+/g, ' ').slice(0, 160)}`);
  }
  return routes;
}

/** Page `pageNumber` of the whole findings listing against page 1: keyset pagination should cost the same at any depth. */
async function compareDeepPage(base: string, token: string, pid: number, pageNumber: number): Promise<void> {
  const first = `/v1/findings?limit=${DEEP_LIMIT}`;
  let url = first;
  const walkStarted = Date.now();
  for (let page = 1; page < pageNumber; page++) {
    const response = await fetch(`${base}${url}`, { headers: { Authorization: `Bearer ${token}` } });
    const body = (await response.json()) as { next_cursor: string | null };
    if (!body.next_cursor) throw new Error(`the listing ended at page ${page}`);
    url = `${first}&cursor=${body.next_cursor}`;
  }
  console.log(`\npage ${pageNumber} of GET ${first} vs page 1 (reached in ${((Date.now() - walkStarted) / 1000).toFixed(0)} s by following ${pageNumber - 1} cursors):`);
  const deep: Figures[] = [];
  const shallow: Figures[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 1 ? [url, first] : [first, url];
    for (const target of order) {
      const figures = await load(base, { name: target, method: 'GET', url: target }, token, pid);
      (target === first ? shallow : deep).push(figures);
    }
    console.log(`  round ${round}: page ${pageNumber} ${deep.at(-1)!.rps.toFixed(0)} req/s p50 ${deep.at(-1)!.p50} ms; page 1 ${shallow.at(-1)!.rps.toFixed(0)} req/s p50 ${shallow.at(-1)!.p50} ms`);
  }
  console.log(`  page ${pageNumber} / page 1: req/s ${spread(deep.map((d, i) => d.rps / shallow[i]!.rps), 2)}; p50 ${spread(deep.map((d, i) => d.p50 / Math.max(1, shallow[i]!.p50)), 2)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
