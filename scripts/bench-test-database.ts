// What a test database costs: a fresh one migrated (what every test file paid before), against a
// copy of the run's template (test/support/template.ts). PGlite by default; with DATABASE_URL, on
// that PostgreSQL server.
//
//   node --import tsx scripts/bench-test-database.ts [rounds]
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { migrateToLatest, openDatabase } from '../src/db/database';
import { createServerTemplate, databaseUrlOf, dropServerTemplate, embeddedTemplateFile, withAdminClient } from '../test/support/template';

const rounds = Number(process.argv[2] ?? 3);

async function timed(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function embedded(): Promise<void> {
  const build = await timed(async () => void (await embeddedTemplateFile()));
  console.log(`template: ${(build / 1000).toFixed(1)} s (0 when cached from an earlier run)`);
  const file = await embeddedTemplateFile();
  for (let round = 1; round <= rounds; round++) {
    const fresh = await timed(async () => {
      const db = openDatabase({ dataDir: null });
      await migrateToLatest(db);
      await db.destroy();
    });
    const copied = await timed(async () => {
      const db = openDatabase({ dataDir: null, template: new Blob([fs.readFileSync(file)]) });
      // A copy that migrates did not start from the template, and would time a fresh database again.
      if ((await migrateToLatest(db)).length > 0) throw new Error('the copy did not load the template');
      await db.destroy();
    });
    console.log(`round ${round}: fresh + migrations ${(fresh / 1000).toFixed(1)} s, copy of the template ${(copied / 1000).toFixed(1)} s`);
  }
}

async function server(serverUrl: string): Promise<void> {
  let template = '';
  const build = await timed(async () => void (template = await createServerTemplate(serverUrl)));
  console.log(`template: ${(build / 1000).toFixed(1)} s`);
  try {
    for (let round = 1; round <= rounds; round++) {
      const times: number[] = [];
      for (const source of [undefined, template]) {
        const name = `fourfold_bench_${randomBytes(6).toString('hex')}`;
        times.push(
          await timed(async () => {
            await withAdminClient(serverUrl, (client) => client.query(`create database ${name}${source ? ` template ${source}` : ''}`));
            const db = openDatabase({ databaseUrl: databaseUrlOf(serverUrl, name), dataDir: null });
            await migrateToLatest(db);
            await db.destroy();
          }),
        );
        await withAdminClient(serverUrl, (client) => client.query(`drop database if exists ${name} with (force)`));
      }
      console.log(`round ${round}: fresh + migrations ${(times[0]! / 1000).toFixed(1)} s, copy of the template ${(times[1]! / 1000).toFixed(1)} s`);
    }
  } finally {
    await dropServerTemplate(serverUrl, template);
  }
}

const serverUrl = process.env.DATABASE_URL;
(serverUrl ? server(serverUrl) : embedded()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
