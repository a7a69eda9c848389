// What authenticating costs per credential kind, now that every credential checks its
// organization's status and login tokens name their signing key: GET /v1/me median latency and
// requests/s at 32 connections, for a login token of the configured secret, one of a rotated key
// (kid), and a personal access token. Then how long deleting an organization of N resources
// and their findings takes (one transaction).
//   DATABASE_URL=postgres://… node --import tsx scripts/bench-auth.ts [--count 20000]
import { parseArgs } from 'node:util';
import { rotateSigningKey } from '../src/auth/signing-keys';
import { deleteOrganization } from '../src/platform/platform.service';
import { medianMs, requestsPerSecond, startBenchServer } from './bench-server';
import { syntheticResources } from './synthetic-inventory';

const SAMPLES = 201;
const CONNECTIONS = 32;
const LOAD_SECONDS = 5;
const SECRET = 'bench-signing-secret-0123456789-0123456789';

async function measure(base: string, label: string, credential: string): Promise<void> {
  const get = async () => {
    const response = await fetch(`${base}/v1/me`, { headers: { Authorization: `Bearer ${credential}` } });
    if (!response.ok) throw new Error(`GET /v1/me as ${label}: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  };
  const median = await medianMs(get, SAMPLES);
  const rate = await requestsPerSecond(get, CONNECTIONS, LOAD_SECONDS);
  console.log(`${label.padEnd(36)} median ${median.toFixed(2)} ms; ${CONNECTIONS} connections: ${rate.toFixed(0)} requests/s`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '20000' } } });
  const count = Number(values.count);
  const server = await startBenchServer({ JWT_SECRET: SECRET, IMPORT_INLINE_MAX_RESOURCES: String(count), RATE_LIMIT_PER_MINUTE: '1000000' });
  const post = async (path: string, body: unknown, token: string) => {
    const response = await fetch(`${server.base}${path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as Record<string, unknown>;
  };
  try {
    await measure(server.base, 'login token (configured secret)', server.token);
    const pat = await post('/v1/tokens', { name: 'bench', scopes: ['findings:read'] }, server.token);
    await measure(server.base, 'personal access token', pat.token as string);
    await rotateSigningKey(server.db, SECRET, 28800);
    // Running servers take a new key within 10 seconds.
    await new Promise((resolve) => setTimeout(resolve, 10_500));
    const login = await fetch(`${server.base}/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: 'bench-password-123' }) });
    await measure(server.base, 'login token (rotated key, kid)', ((await login.json()) as { access_token: string }).access_token);
    await measure(server.base, 'login token (previous key, still valid)', server.token);

    const account = await post('/v1/accounts', { provider: 'aws', external_id: '123456789012', name: 'bench' }, server.token);
    const inventory = { resources: [...syntheticResources(count, 1)].filter((r) => r.provider === 'aws').map(({ source: _source, ...r }) => r) };
    await post(`/v1/accounts/${account.id as string}/imports?format=native&mode=full`, inventory, server.token);
    const audit = await post('/v1/audits', { mode: 'full' }, server.token);
    for (;;) {
      const state = (await (await fetch(`${server.base}/v1/audits/${audit.id as string}`, { headers: { Authorization: `Bearer ${server.token}` } })).json()) as { status: string };
      if (state.status === 'succeeded') break;
      if (state.status !== 'queued' && state.status !== 'running') throw new Error(`audit ${state.status}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const me = (await (await fetch(`${server.base}/v1/me`, { headers: { Authorization: `Bearer ${server.token}` } })).json()) as { organization: { id: string } };
    const rows = await server.db.selectFrom('findings').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    await server.db.updateTable('organizations').set({ status: 'suspended' }).where('id', '=', me.organization.id).execute();
    const started = Date.now();
    await deleteOrganization(server.db, me.organization.id, undefined);
    console.log(`deleting an organization of ${inventory.resources.length} resources and ${rows.n} findings (one transaction): ${((Date.now() - started) / 1000).toFixed(2)} s`);
  } finally {
    await server.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
