import { sql, type Kysely } from 'kysely';

// Sync (issue 21): rules copying Key Vault secrets and certificates to AWS and GCP, their runs
// (one result per item and target, never a value), and what fourfold last wrote to each target,
// so that a later run tells `unchanged` from a change made outside fourfold (`conflict`).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('syncs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('source', 'jsonb', (c) => c.notNull())
    .addColumn('targets', 'jsonb', (c) => c.notNull())
    .addColumn('naming_template', 'text', (c) => c.notNull())
    .addColumn('copy_tags', 'boolean', (c) => c.notNull())
    .addColumn('exclusions', 'jsonb', (c) => c.notNull())
    .addColumn('on_conflict', 'text', (c) => c.notNull().check(sql`on_conflict in ('skip', 'overwrite')`))
    .addColumn('schedule', 'jsonb')
    .addColumn('created_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await sql`create index syncs_listing_idx on syncs (organization_id, id)`.execute(db);
  await db.schema
    .createTable('sync_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('sync_id', 'text', (c) => c.notNull().references('syncs.id').onDelete('cascade'))
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('results', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('created_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await sql`create index sync_runs_listing_idx on sync_runs (sync_id, id)`.execute(db);
  // One run of a sync at a time.
  await sql`create unique index sync_runs_one_running_idx on sync_runs (sync_id) where status in ('queued', 'running')`.execute(db);
  await db.schema
    .createTable('sync_targets_written')
    .addColumn('sync_id', 'text', (c) => c.notNull().references('syncs.id').onDelete('cascade'))
    .addColumn('item_kind', 'text', (c) => c.notNull())
    .addColumn('item_name', 'text', (c) => c.notNull())
    .addColumn('target_account_id', 'text', (c) => c.notNull())
    .addColumn('target_service', 'text', (c) => c.notNull())
    .addColumn('target_name', 'text', (c) => c.notNull())
    .addColumn('source_version', 'text', (c) => c.notNull())
    .addColumn('target_version', 'text', (c) => c.notNull())
    .addColumn('written_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('sync_targets_written_pk', ['sync_id', 'item_kind', 'item_name', 'target_account_id', 'target_service'])
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sync_targets_written').execute();
  await db.schema.dropTable('sync_runs').execute();
  await db.schema.dropTable('syncs').execute();
}
