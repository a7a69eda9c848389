// Fairness between tenants (issue 16): tenant A queues 8 full audits of a large AWS account
// (7,000 synthetic resources by default), then tenant B queues one audit of a small account. Prints
// how long B's audit waited in the queue and took to complete, first with the old behaviour (one
// worker per queue taking one job at a time, first in, first out: WORKER_CONCURRENCY=1,
// ORGANIZATION_JOB_CONCURRENCY=0, FAIR_QUEUEING=false), then with the defaults (fair queueing, two
// jobs at a time per process, one per organization), each on a fresh database.
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx scripts/bench-fairness.ts [--count 7000] [--audits 8]
import { parseArgs } from 'node:util';
import { startBenchServer } from './bench-server';
import { syntheticResources } from './synthetic-inventory';

const POLL_MS = 100;
const PASSWORD = 'tenant-b-password-0123';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
type Body = Record<string, unknown>;

const SCENARIOS: { name: string; env: Record<string, string> }[] = [
  { name: 'before (one FIFO worker)', env: { WORKER_CONCURRENCY: '1', ORGANIZATION_JOB_CONCURRENCY: '0', FAIR_QUEUEING: 'false' } },
  { name: 'after (fair queues, defaults)', env: {} },
];

/** `count` AWS resources of the synthetic inventory (native format, without the generator's `source`). */
function awsResources(count: number, seed: number): object[] {
  const out: object[] = [];
  for (const { source: _source, ...resource } of syntheticResources(count * 4, seed)) {
    if (resource.provider !== 'aws') continue;
    out.push(resource);
    if (out.length === count) return out;
  }
  throw new Error(`the synthetic inventory held fewer than ${count} AWS resources`);
}

async function scenario(name: string, env: Record<string, string>, large: object[], small: object[], audits: number): Promise<void> {
  const server = await startBenchServer({
    PLATFORM_ADMINS: 'bench',
    IMPORT_BODY_LIMIT_BYTES: String(1024 * 1024 * 1024),
    RATE_LIMIT_HEAVY_PER_MINUTE: '1000',
    RATE_LIMIT_PER_MINUTE: '1000000',
    ...env,
  });
  try {
    const call = async (token: string, method: string, path: string, body?: object): Promise<Body> => {
      const send = () =>
        fetch(`${server.base}${path}`, {
          method,
          headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      // A poll may meet a kept-alive connection the server is closing (ECONNRESET): a GET is safe to send again.
      const response = await send().catch((error: unknown) => (method === 'GET' ? send() : Promise.reject(error)));
      const json = (await response.json()) as Body;
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
      return json;
    };
    const settle = async (token: string, path: string): Promise<Body> => {
      for (;;) {
        const body = await call(token, 'GET', path);
        if (body.status === 'succeeded') return body;
        if (body.status !== 'queued' && body.status !== 'running') throw new Error(`${path} ended ${String(body.status)}`);
        await sleep(POLL_MS);
      }
    };
    const importInto = async (token: string, resources: object[]) => {
      const account = await call(token, 'POST', '/v1/accounts', { provider: 'aws', external_id: '123456789012', name: 'production' });
      const created = await call(token, 'POST', `/v1/accounts/${String(account.id)}/imports?format=native&mode=full`, { resources });
      if (created.status !== 'succeeded') await settle(token, `/v1/imports/${String(created.id)}`);
    };

    const a = server.token;
    await call(a, 'POST', '/v1/platform/organizations', { name: 'Tenant B', slug: 'tenant-b', owner: { username: 'tenant-b', password: PASSWORD } });
    const login = await fetch(`${server.base}/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'tenant-b', password: PASSWORD }) });
    const b = ((await login.json()) as { access_token: string }).access_token;
    await importInto(a, large);
    await importInto(b, small);

    // B's audit alone first (twice: the first audit of a process also loads the rule catalogue).
    const auditAlone = async () => settle(b, `/v1/audits/${String((await call(b, 'POST', '/v1/audits', { mode: 'full' })).id)}`);
    await auditAlone();
    const alone = await auditAlone();
    const seconds = (from: unknown, to: unknown) => (Date.parse(String(to)) - Date.parse(String(from))) / 1000;

    const started = Date.now();
    const aIds: string[] = [];
    for (let i = 0; i < audits; i++) aIds.push(String((await call(a, 'POST', '/v1/audits', { mode: 'full' })).id));
    const bId = String((await call(b, 'POST', '/v1/audits', { mode: 'full' })).id);
    const bAudit = await settle(b, `/v1/audits/${bId}`);
    const aAudits = [];
    for (const id of aIds) aAudits.push(await settle(a, `/v1/audits/${id}`));
    const allDone = (Date.now() - started) / 1000;
    const aLast = Math.max(...aAudits.map((audit) => Date.parse(String(audit.finished_at))));
    const aRun = aAudits.map((audit) => seconds(audit.started_at, audit.finished_at));

    console.log(`${name} ${JSON.stringify(env)}:`);
    console.log(`  B's audit of ${small.length} resources alone: ${seconds(alone.created_at, alone.finished_at).toFixed(2)} s from POST to succeeded`);
    console.log(
      `  B's audit behind A's ${audits} audits of ${large.length} resources: waited ${seconds(bAudit.created_at, bAudit.started_at).toFixed(2)} s in the queue, ` +
        `completed ${seconds(bAudit.created_at, bAudit.finished_at).toFixed(2)} s after its POST`,
    );
    console.log(
      `  A's ${audits} audits: each ran ${Math.min(...aRun).toFixed(1)}–${Math.max(...aRun).toFixed(1)} s, ` +
        `the last finished ${((aLast - started) / 1000).toFixed(1)} s after the first POST (all polled done at ${allDone.toFixed(1)} s)`,
    );
  } finally {
    await server.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '7000' }, audits: { type: 'string', default: '8' } } });
  const large = awsResources(Number(values.count), 1);
  const small = awsResources(20, 2);
  for (const { name, env } of SCENARIOS) await scenario(name, env, large, small, Number(values.audits));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
