// The bare server bench-vs-bare.ts compares fourfold with: node:http, a pg Pool and
// JSON.stringify, running for each route exactly the statements fourfold ran for it (captured by
// scripts/bench-capture.ts), in the same order on one connection, and answering the rows of the
// statement that made fourfold's answer. No framework, validation, logging or mapping.
//   BENCH_BARE_ROUTES=<file> DATABASE_URL=... PORT=... node --import tsx scripts/bench-bare-server.ts
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import pg from 'pg';

export interface BareRoute {
  method: string;
  /** The request's path with its query, exactly as the load generator sends it. */
  url: string;
  statements: { text: string; values: unknown[] }[];
  /** Which statement's rows are the answer, and whether it is a list page of `limit` items or one object. */
  answer: { statement: number; list?: { limit: number } };
}

/** Undoes JSON's encoding of a Buffer parameter (`{type: 'Buffer', data: [...]}`). */
function revive(value: unknown): unknown {
  if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return Buffer.from((value as { data: number[] }).data);
  }
  return value;
}

/**
 * The values a replayed insert must not repeat: a fresh `id` of the captured one's shape, and a
 * `sequence` one past the previous statement's (the audit log's chain), as fourfold makes them.
 */
function freshValues(text: string, values: unknown[], previousRows: unknown[]): unknown[] {
  const columns = /^insert into "\w+" \(([^)]*)\)/i.exec(text)?.[1]?.split(',').map((column) => column.trim().replaceAll('"', ''));
  if (!columns) return values;
  const fresh = [...values];
  const id = columns.indexOf('id');
  if (id >= 0 && typeof fresh[id] === 'string') fresh[id] = (fresh[id] as string).replace(/_[0-9A-Z]+$/, `_${randomUUID().replaceAll('-', '').toUpperCase().slice(0, 26)}`);
  const sequence = columns.indexOf('sequence');
  const previous = (previousRows[0] as { sequence?: string | number } | undefined)?.sequence;
  if (sequence >= 0) fresh[sequence] = String(Number(previous ?? 0) + 1);
  return fresh;
}

function main(): void {
  const routes = JSON.parse(fs.readFileSync(process.env.BENCH_BARE_ROUTES!, 'utf8')) as BareRoute[];
  for (const route of routes) for (const statement of route.statements) statement.values = statement.values.map(revive);
  const byKey = new Map(routes.map((route) => [`${route.method} ${route.url}`, route]));
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.BENCH_POOL_SIZE ?? 10) });

  const server = http.createServer((req, res) => {
    const route = byKey.get(`${req.method} ${req.url}`);
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    req.resume();
    req.on('end', () => {
      void (async () => {
        const client = await pool.connect();
        let rows: unknown[] = [];
        let previousRows: unknown[] = [];
        try {
          for (const [index, statement] of route.statements.entries()) {
            const result = await client.query(statement.text, freshValues(statement.text, statement.values, previousRows));
            previousRows = result.rows;
            if (index === route.answer.statement) rows = result.rows;
          }
          client.release();
        } catch (error) {
          // A connection left inside a failed transaction would fail every later request on it.
          client.release(true);
          throw error;
        }
        let body: unknown = rows[0] ?? {};
        if (route.answer.list) {
          const { limit } = route.answer.list;
          const last = rows[Math.min(rows.length, limit) - 1] as { id?: string } | undefined;
          body = { data: rows.slice(0, limit), next_cursor: rows.length > limit && last ? Buffer.from(JSON.stringify([last.id])).toString('base64url') : null, has_more: rows.length > limit };
        }
        const text = JSON.stringify(body);
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
      })().catch((error: unknown) => {
        console.error(error);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
  });
  server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('bare server listening'));
  process.on('SIGTERM', () => {
    server.close();
    void pool.end().then(() => process.exit(0));
  });
}

main();
