// Applies pending migrations to the configured database (DATABASE_URL, else PGlite in DATA_DIR).
import { loadConfig } from '../src/config';
import { migrateToLatest, openDatabase } from '../src/db/database';

async function migrate(): Promise<void> {
  const config = loadConfig(process.env);
  const db = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
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
