import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { migrateToLatest, openDatabase, type Db } from '../../src/db/database';
import { databaseUrlOf, EMBEDDED_TEMPLATE_ENV, SERVER_TEMPLATE_ENV, withAdminClient } from './template';

export interface TestDatabase {
  db: Db;
  /** The connection string of the fresh PostgreSQL database, when tests run on the server. */
  databaseUrl: string | undefined;
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database for one test file: an in-memory PGlite, or, when DATABASE_URL is
 * set, a new database on that PostgreSQL server, dropped afterwards. Each is a copy of the run's
 * template (test/support/template.ts) when the global setup made one; `migrateToLatest` then
 * finds nothing to do.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const templateFile = process.env[EMBEDDED_TEMPLATE_ENV];
    const db = openDatabase({ dataDir: null, template: templateFile ? new Blob([fs.readFileSync(templateFile)]) : undefined });
    const applied = await migrateToLatest(db);
    // A copy that needed migrations did not load the template: every test database would pay initdb and all migrations again.
    if (templateFile && applied.length > 0) throw new Error(`the test database did not start from the template ${templateFile}: it applied ${applied.length} migrations`);
    return { db, databaseUrl: undefined, drop: () => db.destroy() };
  }
  const name = `fourfold_test_${randomBytes(6).toString('hex')}`;
  const template = process.env[SERVER_TEMPLATE_ENV];
  await withAdminClient(serverUrl, (client) => client.query(`create database ${name}${template ? ` template ${template}` : ''}`));
  const url = databaseUrlOf(serverUrl, name);
  const db = openDatabase({ databaseUrl: url, dataDir: null });
  await migrateToLatest(db);
  return {
    db,
    databaseUrl: url,
    drop: async () => {
      await db.destroy();
      await withAdminClient(serverUrl, (client) => client.query(`drop database if exists ${name} with (force)`));
    },
  };
}
