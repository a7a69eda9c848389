import { sql, type Kysely } from 'kysely';

// The event feed (issue 17): each notification alerting raises, once per rule (not per
// recipient), as its webhooks carry it, for integrators who poll `GET /v1/events`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('alert_rule_id', 'text', (c) => c.references('alert_rules.id').onDelete('set null'))
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .execute();
  await sql`create index events_listing_idx on events (organization_id, id)`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('events').execute();
}
