// Writes a large synthetic inventory to stdout, for load tests and benchmarks:
//   node --import tsx scripts/generate-inventory.ts --count 100000 [--format native] [--seed 1] > inventory.json
import { parseArgs } from 'node:util';
import { syntheticResources, writeNativeInventory } from './synthetic-inventory';

function fail(message: string): never {
  console.error(`generate-inventory: ${message}\nusage: node --import tsx scripts/generate-inventory.ts --count N [--format native] [--seed N]`);
  process.exit(2);
}

function nonNegativeInteger(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) fail(`--${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({ options: { count: { type: 'string' }, format: { type: 'string', default: 'native' }, seed: { type: 'string', default: '1' } } }));
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  if (values.format !== 'native') fail(`--format ${values.format} is not supported; only native is`);
  if (values.count === undefined) fail('--count is required');
  await writeNativeInventory(syntheticResources(nonNegativeInteger('count', values.count), nonNegativeInteger('seed', values.seed)), process.stdout);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
