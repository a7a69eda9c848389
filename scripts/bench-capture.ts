// Preloaded into a fourfold process by bench-vs-bare.ts (`node --import tsx --import
// ./scripts/bench-capture.ts src/main.ts`) to record every statement it sends to PostgreSQL, with
// its parameters, one JSON line each in BENCH_CAPTURE_FILE: the bare server then runs exactly those.
import fs from 'node:fs';
import pg from 'pg';

const file = process.env.BENCH_CAPTURE_FILE;
if (file) {
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function capture(this: pg.Client, ...args: unknown[]) {
    const [first, second] = args;
    const text = typeof first === 'string' ? first : (first as { text?: string }).text;
    const values = Array.isArray(second) ? second : (first as { values?: unknown[] }).values;
    if (typeof text === 'string') fs.appendFileSync(file, JSON.stringify({ text, values: values ?? [] }) + '\n');
    return query.apply(this, args);
  } as typeof pg.Client.prototype.query;
}
