// Fault scenarios, each on servers of its own (a private PostgreSQL made with initdb/pg_ctl in a
// temporary directory, a private redis-server; never the shared ones), printing what it does and
// what it sees. test/faults.test.ts runs a small version of each.
//   node --import tsx scripts/faults.ts [postgres|worker|redis|sigterm|soak|all ...] [--down-seconds 10] [--resources 10000] [--minutes 10]
import { parseArgs } from 'node:util';
import { postgresDown } from './faults/postgres-down';
import { redisDown } from './faults/redis-down';
import { sigtermUnderLoad } from './faults/sigterm';
import { soak } from './faults/soak';
import type { Say } from './faults/support';
import { workerKilled } from './faults/worker-kill';

const SCENARIOS = ['postgres', 'worker', 'redis', 'sigterm', 'soak'] as const;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'down-seconds': { type: 'string', default: '10' },
      resources: { type: 'string', default: '10000' },
      minutes: { type: 'string', default: '1' },
    },
  });
  const chosen = positionals.length === 0 || positionals.includes('all') ? [...SCENARIOS] : positionals;
  const unknown = chosen.filter((name) => !(SCENARIOS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; choose from ${SCENARIOS.join(', ')} or all`);
  for (const name of chosen) {
    const started = Date.now();
    const say: Say = (line) => console.log(`[${name} +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);
    console.log(`\n=== ${name} ===`);
    switch (name) {
      case 'postgres':
        await postgresDown({ downSeconds: Number(values['down-seconds']), steadySeconds: 5, writers: 4, readers: 2 }, say);
        break;
      case 'worker':
        await workerKilled({ resources: Number(values.resources), auditTimeoutSeconds: 120, jobTimeoutSeconds: 120 }, say);
        break;
      case 'redis':
        await redisDown({ downRequests: 200 }, say);
        break;
      case 'sigterm':
        await sigtermUnderLoad({ clients: 16, loadSeconds: 3 }, say);
        break;
      case 'soak':
        await soak({ peakSeconds: 20, minutes: Number(values.minutes), sampleSeconds: 10 }, say);
        break;
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
