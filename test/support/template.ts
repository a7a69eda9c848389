import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import PgBoss from 'pg-boss';
import pg from 'pg';
import { embeddedDatabaseOf, migrateToLatest, openDatabase } from '../../src/db/database';

// Migrating a new database (and, for PGlite, running initdb first) took most of a test file's
// start: the suite builds one migrated database per run (jest's globalSetup) and copies it for
// every test database instead. pg-boss's schema is in it too, as its first start would create it;
// its queues are not, since each app creates them with its own settings.

/** Set by the global setup: the PGlite data directory tarball every embedded test database loads. */
export const EMBEDDED_TEMPLATE_ENV = 'FOURFOLD_TEST_TEMPLATE_FILE';
/** Set by the global setup when DATABASE_URL is: the database on that server every test database is a copy of. */
export const SERVER_TEMPLATE_ENV = 'FOURFOLD_TEST_TEMPLATE_DATABASE';

const ROOT = path.join(__dirname, '..', '..');

/**
 * What the template depends on: the migrations, the list that orders them, this file (how it is
 * built), and the versions of the libraries that write it. A change to any of them builds a new one.
 */
function templateKey(): string {
  const hash = createHash('sha256');
  const migrations = path.join(ROOT, 'src', 'db', 'migrations');
  const files = [...fs.readdirSync(migrations).sort().map((name) => path.join(migrations, name)), path.join(ROOT, 'src', 'db', 'database.ts'), __filename];
  for (const file of files) hash.update(file).update(fs.readFileSync(file));
  for (const name of ['@electric-sql/pglite', 'pg-boss', 'kysely']) {
    hash.update(name).update(JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version);
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * The embedded template's tarball, built when missing. It is kept between runs under the
 * system's temporary directory, named by `templateKey()`, so that a run whose schema did not
 * change does not migrate at all.
 */
export async function embeddedTemplateFile(): Promise<string> {
  const file = path.join(os.tmpdir(), `fourfold-test-template-${templateKey()}.tar`);
  if (fs.existsSync(file)) return file;
  const db = openDatabase({ dataDir: null });
  try {
    await migrateToLatest(db);
    const pglite = embeddedDatabaseOf(db)!;
    await pglite.exec(PgBoss.getConstructionPlans());
    // Every test database unpacks this tarball: without the two template databases (nothing
    // creates a database inside PGlite) it holds a third of the files, and after a checkpoint
    // its start replays no WAL; together about a fifth less time per test database.
    for (const statement of ['alter database template0 is_template false', 'drop database template0', 'alter database template1 is_template false', 'drop database template1', 'checkpoint']) {
      await pglite.query(statement);
    }
    const tarball = Buffer.from(await (await pglite.dumpDataDir('none')).arrayBuffer());
    // Written beside and renamed, so that a run starting meanwhile never reads half a file.
    const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    fs.writeFileSync(partial, tarball);
    fs.renameSync(partial, file);
  } finally {
    await db.destroy();
  }
  return file;
}

/** Creates and migrates this run's template database on the server at `serverUrl`; answers its name. */
export async function createServerTemplate(serverUrl: string): Promise<string> {
  const name = `fourfold_template_${randomBytes(6).toString('hex')}`;
  await withAdminClient(serverUrl, (client) => client.query(`create database ${name}`));
  const db = openDatabase({ databaseUrl: databaseUrlOf(serverUrl, name), dataDir: null });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  await withAdminClient(databaseUrlOf(serverUrl, name), (client) => client.query(PgBoss.getConstructionPlans()));
  return name;
}

export async function dropServerTemplate(serverUrl: string, name: string): Promise<void> {
  await withAdminClient(serverUrl, (client) => client.query(`drop database if exists ${name} with (force)`));
}

/** `serverUrl` with its database replaced by `name`. */
export function databaseUrlOf(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function withAdminClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
