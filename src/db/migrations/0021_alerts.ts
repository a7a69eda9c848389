import { sql, type Kysely } from 'kysely';

// Alert rules (issue 17), what they have already notified, and the delivery log. A delivery is
// one message to one recipient; its attempts are kept one row each, so the log shows every try.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('alert_rules')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('alert_type', 'text', (c) => c.notNull())
    .addColumn('threshold_days', 'integer')
    .addColumn('stages', 'jsonb', (c) => c.notNull())
    .addColumn('filters', 'jsonb', (c) => c.notNull())
    .addColumn('score_drop', 'jsonb')
    .addColumn('delivery_method', 'text', (c) => c.notNull())
    .addColumn('recipients', 'jsonb', (c) => c.notNull())
    .addColumn('webhook_endpoint_id', 'text')
    // Slack/Teams incoming-webhook URLs and PagerDuty routing keys: secrets, kept encrypted.
    .addColumn('target_encrypted', 'text')
    .addColumn('delivery_mode', 'text', (c) => c.notNull().check(sql`delivery_mode in ('immediate', 'digest', 'both')`))
    .addColumn('digest_hour', 'integer')
    .addColumn('digest_time_zone', 'text')
    .addColumn('enabled', 'boolean', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alert_rules_listing_idx').on('alert_rules').columns(['organization_id', 'id']).execute();

  // What a rule has notified: one row per (rule, subject, stage), so that each notifies once.
  await db.schema
    .createTable('alert_notifications')
    .addColumn('alert_rule_id', 'text', (c) => c.notNull().references('alert_rules.id').onDelete('cascade'))
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('notified_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('alert_notifications_pkey', ['alert_rule_id', 'subject', 'stage'])
    .execute();

  // Audits whose events have been turned into alerts: the job that does it claims the audit here.
  await db.schema
    .createTable('alerted_audits')
    .addColumn('audit_id', 'text', (c) => c.primaryKey().references('audits.id').onDelete('cascade'))
    .addColumn('alerted_at', 'timestamptz', (c) => c.notNull())
    .execute();

  // The alerts of an audit are raised from its finding events: found by audit, not by finding.
  await sql`create index finding_events_audit_idx on finding_events (audit_id) where audit_id is not null`.execute(db);

  await db.schema
    .createTable('deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('alert_rule_id', 'text', (c) => c.references('alert_rules.id').onDelete('set null'))
    .addColumn('webhook_endpoint_id', 'text')
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'succeeded', 'failed')`))
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('attempt_count', 'integer', (c) => c.notNull().defaultTo(0))
    // Attempts before this number belong to earlier series (a redelivery starts a new one).
    .addColumn('series_start', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('deliveries_listing_idx').on('deliveries').columns(['organization_id', 'id']).execute();
  await db.schema.createIndex('deliveries_rule_idx').on('deliveries').columns(['alert_rule_id']).execute();

  await db.schema
    .createTable('delivery_attempts')
    .addColumn('delivery_id', 'text', (c) => c.notNull().references('deliveries.id').onDelete('cascade'))
    .addColumn('number', 'integer', (c) => c.notNull())
    .addColumn('attempted_at', 'timestamptz', (c) => c.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('latency_ms', 'integer', (c) => c.notNull())
    .addColumn('error', 'text')
    .addPrimaryKeyConstraint('delivery_attempts_pkey', ['delivery_id', 'number'])
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('delivery_attempts').execute();
  await db.schema.dropTable('deliveries').execute();
  await db.schema.dropTable('alerted_audits').execute();
  await db.schema.dropIndex('finding_events_audit_idx').execute();
  await db.schema.dropTable('alert_notifications').execute();
  await db.schema.dropTable('alert_rules').execute();
}
