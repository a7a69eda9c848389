import { sql, type Kysely } from 'kysely';

// Scheduled scans (issue 18): when each connection's `scan_schedule` is next due, so that the
// once-a-minute check is one indexed query and a compare-and-set of this column lets exactly one
// process start each due scan; and who set the schedule, whom the audit after a scheduled scan is
// attributed to (the scan itself has no user).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('account_connections')
    .addColumn('next_scan_at', 'timestamptz')
    .addColumn('scan_schedule_set_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    .execute();
  await sql`create index account_connections_due_idx on account_connections (next_scan_at) where next_scan_at is not null`.execute(db);
  // Schedules stored before this migration have no next time yet: the first check gives them one
  // (cron is read in TypeScript, not SQL), finding them through this index.
  await sql`create index account_connections_unscheduled_idx on account_connections (account_id) where scan_schedule is not null and next_scan_at is null`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('account_connections').dropColumn('scan_schedule_set_by').dropColumn('next_scan_at').execute();
}
