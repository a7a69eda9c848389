// Applies pending migrations to DATABASE_URL, else to the PGlite database in DATA_DIR (./data).
// It needs nothing else of the server's configuration.
import path from 'node:path';
import { migrateToLatest, openDatabase } from '../src/db/database';

async function migrate(): Promise<void> {
  const db = openDatabase({
    databaseUrl: process.env.DATABASE_URL || undefined,
    dataDir: path.resolve(process.env.DATA_DIR || './data'),
  });
  try {
    const applied = await migrateToLatest(db);
    console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'the database is up to date');
  } finally {
    await db.destroy();
  }
}

migrate().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
