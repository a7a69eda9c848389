import { sql, type Kysely } from 'kysely';

// Discovery (issue 18): the credentials an account is scanned with (secret parts encrypted, with
// the id of the key that encrypted them so the key can be rotated), the per-organization AWS
// external id, and the scans themselves.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('discovery_settings')
    .addColumn('organization_id', 'text', (c) => c.primaryKey().references('organizations.id').onDelete('cascade'))
    .addColumn('aws_external_id', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('account_connections')
    .addColumn('account_id', 'text', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('settings', 'jsonb', (c) => c.notNull())
    .addColumn('secret_encrypted', 'text')
    .addColumn('secret_key_id', 'text')
    .addColumn('secret_fingerprint', 'text')
    .addColumn('scan_schedule', 'jsonb')
    .addColumn('audit_after_scan', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await sql`create index account_connections_key_idx on account_connections (secret_key_id)`.execute(db);
  await db.schema
    .createTable('scans')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('units', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('failures', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('counts', 'jsonb')
    .addColumn('requests', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('audit_id', 'text', (c) => c.references('audits.id').onDelete('set null'))
    .addColumn('created_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await sql`create index scans_listing_idx on scans (organization_id, id)`.execute(db);
  // One scan of an account at a time: a second start while one is queued or running is refused.
  await sql`create unique index scans_one_running_idx on scans (account_id) where status in ('queued', 'running')`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('scans').execute();
  await db.schema.dropTable('account_connections').execute();
  await db.schema.dropTable('discovery_settings').execute();
}
