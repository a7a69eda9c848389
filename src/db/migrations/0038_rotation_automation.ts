import { sql, type Kysely } from 'kysely';

// Automation around rotations and syncs (issue 21):
// - `alerted_rotations` and `alerted_sync_runs` claim the events of an ended rotation
//   (`rotation_failed`) or sync run (`sync_failed`, `sync_conflict`), as `alerted_scans` does a scan's.
// - Sync schedules run: `next_run_at` is when a sync's schedule is next due (a compare-and-set of it
//   lets exactly one process start each run), `schedule_set_by` whom scheduled runs are attributed
//   to, and `schedule_paused_reason` why its schedule waits (its organization's plan lost `sync`).
// - Rotation policies rotate credentials of the inventory automatically before they expire; a
//   rotation they start names its policy and the credential resource.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('alerted_rotations')
    .addColumn('rotation_id', 'text', (c) => c.primaryKey().references('rotations.id').onDelete('cascade'))
    .addColumn('alerted_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('alerted_sync_runs')
    .addColumn('sync_run_id', 'text', (c) => c.primaryKey().references('sync_runs.id').onDelete('cascade'))
    .addColumn('alerted_at', 'timestamptz', (c) => c.notNull())
    .execute();

  await db.schema
    .alterTable('syncs')
    .addColumn('next_run_at', 'timestamptz')
    .addColumn('schedule_set_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('schedule_paused_reason', 'text')
    .execute();
  await sql`create index syncs_due_idx on syncs (next_run_at) where next_run_at is not null`.execute(db);

  await db.schema
    .createTable('rotation_policies')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('selector', 'jsonb', (c) => c.notNull())
    .addColumn('exclusions', 'jsonb', (c) => c.notNull())
    .addColumn('days_before_expiry', 'integer', (c) => c.notNull())
    .addColumn('lifetime_days', 'integer', (c) => c.notNull())
    .addColumn('overlap_hours', 'integer', (c) => c.notNull())
    .addColumn('enabled', 'boolean', (c) => c.notNull())
    .addColumn('paused_reason', 'text')
    .addColumn('last_checked_at', 'timestamptz')
    .addColumn('created_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await sql`create index rotation_policies_listing_idx on rotation_policies (organization_id, id)`.execute(db);

  await db.schema
    .alterTable('rotations')
    .addColumn('policy_id', 'text', (c) => c.references('rotation_policies.id').onDelete('set null'))
    .execute();
  // What a policy's check asks of each credential: its latest rotation.
  await sql`create index rotations_credential_idx on rotations (organization_id, key_id, created_at)`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index rotations_credential_idx`.execute(db);
  await db.schema.alterTable('rotations').dropColumn('policy_id').execute();
  await db.schema.dropTable('rotation_policies').execute();
  await sql`drop index syncs_due_idx`.execute(db);
  await db.schema.alterTable('syncs').dropColumn('schedule_paused_reason').dropColumn('schedule_set_by').dropColumn('next_run_at').execute();
  await db.schema.dropTable('alerted_sync_runs').execute();
  await db.schema.dropTable('alerted_rotations').execute();
}
