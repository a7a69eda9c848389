import { sql, type Kysely } from 'kysely';

// Large imports are checked in the request and written by a worker: the import exists before it
// finishes, and the canonical resources wait in import_payloads until the worker takes them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('imports').alterColumn('finished_at', (c) => c.dropNotNull()).execute();
  await db.schema
    .createTable('import_payloads')
    .addColumn('import_id', 'text', (c) => c.primaryKey().references('imports.id').onDelete('cascade'))
    // The resources as JSON text, stored uncompressed: written once and read once, tens of
    // megabytes each, so parsing them into jsonb or compressing them would only cost time.
    .addColumn('resources', 'text', (c) => c.notNull())
    .execute();
  await sql`alter table import_payloads alter column resources set storage external`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('import_payloads').execute();
  await db.deleteFrom('imports').where('finished_at', 'is', null).execute();
  await db.schema.alterTable('imports').alterColumn('finished_at', (c) => c.setNotNull()).execute();
}
