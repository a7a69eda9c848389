// Imports N synthetic resources (native format) through HTTP into a fresh database on the
// PostgreSQL server, then re-imports the same file (all unchanged), and prints resources/s.
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx scripts/bench-import.ts [--count 100000]
// N counts AWS resources (the account's provider): the file holds exactly N, all imported.
import { parseArgs } from 'node:util';
import type { CanonicalResource } from '../src/imports/canonical-resource';
import { startBenchServer } from './bench-server';
import { syntheticResources } from './synthetic-inventory';

const TARGET_PER_SECOND = 20_000;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '100000' } } });
  const count = Number(values.count);

  const { base, token, close } = await startBenchServer({ IMPORT_BODY_LIMIT_BYTES: String(1024 * 1024 * 1024), RATE_LIMIT_HEAVY_PER_MINUTE: '1000' });
  try {
    const call = async (method: string, path: string, body: string | undefined, token?: string) => {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body,
      });
      const json = (await response.json()) as Record<string, unknown>;
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
      return json;
    };
    const account = (await call('POST', '/v1/accounts', JSON.stringify({ provider: 'aws', external_id: '123456789012', name: 'bench' }), token))
      .id as string;

    // The generator mixes providers; draw until there are exactly `count` AWS ones.
    const resources: CanonicalResource[] = [];
    for (const resource of syntheticResources(Number.MAX_SAFE_INTEGER, 1)) {
      if (resources.length === count) break;
      if (resource.provider === 'aws') resources.push(resource);
    }
    const body = JSON.stringify({ resources: resources.map(({ source: _source, ...r }) => r) });
    console.log(`inventory: ${resources.length} aws resources, ${(body.length / 1024 / 1024).toFixed(1)} MiB of JSON`);

    for (const run of ['first import (all new)', 're-import (all unchanged)']) {
      const started = process.hrtime.bigint();
      let done = await call('POST', `/v1/accounts/${account}/imports?format=native&mode=full`, body, token);
      const answered = Number(process.hrtime.bigint() - started) / 1e9;
      // A large file is queued (202): the import ends when a worker has written it.
      while (done.status === 'queued' || done.status === 'running') {
        await new Promise((resolve) => setTimeout(resolve, 50));
        done = await call('GET', `/v1/imports/${done.id as string}`, undefined, token);
      }
      if (done.status !== 'succeeded') throw new Error(`import ${done.id as string} ${done.status as string}: ${JSON.stringify(done.problems)}`);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      console.log(`  the request answered after ${answered.toFixed(2)} s; written by ${seconds > answered + 0.01 ? 'a worker' : 'the request'}`);
      const rate = Math.round(resources.length / seconds);
      console.log(
        `${run}: ${seconds.toFixed(2)} s, ${rate} resources/s (target ${TARGET_PER_SECOND}) ${rate >= TARGET_PER_SECOND ? 'MET' : 'NOT MET'}; counts ${JSON.stringify(done.counts)}`,
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
