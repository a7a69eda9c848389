import { sql, type Kysely } from 'kysely';

// The event feed holds every lifecycle event of an organization, whether or not an alert rule
// matches it (issue 17). Rows an alert rule raised stay in `events` (a digest rule's summary is
// built from them) but are not `listed`: the feed shows each event once, not once per rule.
// Rows from before this migration were all raised by rules, so none stays listed.
// `event_stages` is what the organization-wide feed has recorded of things that end (expiries,
// risk acceptances), one row per (subject, stage), as `alert_notifications` is for a rule.
// `alerted_scans` claims an ended discovery scan's events (`scan_completed`, `scan_failed`) as
// `alerted_audits` does an audit's.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('events').addColumn('listed', 'boolean', (c) => c.notNull().defaultTo(true)).execute();
  await sql`update events set listed = false where alert_rule_id is not null`.execute(db);
  await sql`drop index events_listing_idx`.execute(db);
  await sql`create index events_listing_idx on events (organization_id, id) where listed`.execute(db);
  await sql`create index events_rule_idx on events (alert_rule_id, occurred_at) where alert_rule_id is not null`.execute(db);
  await db.schema
    .createTable('event_stages')
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('event_stages_pkey', ['organization_id', 'subject', 'stage'])
    .execute();
  await db.schema
    .createTable('alerted_scans')
    .addColumn('scan_id', 'text', (c) => c.primaryKey().references('scans.id').onDelete('cascade'))
    .addColumn('alerted_at', 'timestamptz', (c) => c.notNull())
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('alerted_scans').execute();
  await db.schema.dropTable('event_stages').execute();
  await sql`drop index events_rule_idx`.execute(db);
  await sql`drop index events_listing_idx`.execute(db);
  await sql`create index events_listing_idx on events (organization_id, id)`.execute(db);
  await db.schema.alterTable('events').dropColumn('listed').execute();
}
