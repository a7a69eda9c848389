import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('audits')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('parent_audit_id', 'text', (c) => c.references('audits.id').onDelete('set null'))
    .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('full', 'incremental', 'reanalysis')`))
    // null: every account of the organization
    .addColumn('account_ids', 'jsonb')
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('queued', 'running', 'succeeded', 'failed', 'canceled')`))
    .addColumn('resources_total', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('resources_evaluated', 'integer', (c) => c.notNull().defaultTo(0))
    // Which attempt is running: an attempt whose job pg-boss has since retried stops writing.
    .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('catalogue_version', 'text')
    // rule id → version, of every rule the audit applied
    .addColumn('rule_versions', 'jsonb')
    .addColumn('summary', 'jsonb')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('audits_listing_idx').on('audits').columns(['organization_id', 'id']).execute();

  // The exact resource versions an audit evaluated: what a reanalysis evaluates again, and what
  // an incremental audit compares with.
  await db.schema
    .createTable('audit_resources')
    .addColumn('audit_id', 'text', (c) => c.notNull().references('audits.id').onDelete('cascade'))
    .addColumn('resource_id', 'text', (c) => c.notNull().references('resources.id').onDelete('cascade'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('audit_resources_pkey', ['audit_id', 'resource_id'])
    .execute();
  await db.schema.createIndex('audit_resources_resource_idx').on('audit_resources').columns(['resource_id', 'version']).execute();

  await db.schema
    .createTable('findings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('rule_id', 'text', (c) => c.notNull())
    .addColumn('rule_version', 'integer', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull().references('resources.id').onDelete('cascade'))
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('region', 'text')
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('dimension', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    // 0 (info) to 4 (critical): sorts and compares severities in SQL
    .addColumn('severity_rank', 'smallint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('open', 'resolved', 'suppressed', 'risk_accepted')`))
    .addColumn('status_reason', 'text')
    .addColumn('expires_at', 'timestamptz')
    .addColumn('note', 'text')
    .addColumn('evidence', 'jsonb', (c) => c.notNull())
    .addColumn('remediation', 'jsonb', (c) => c.notNull())
    .addColumn('compliance', 'jsonb', (c) => c.notNull())
    .addColumn('cost_monthly_usd', 'double precision')
    .addColumn('first_seen_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull())
    .addColumn('first_audit_id', 'text', (c) => c.notNull())
    .addColumn('last_audit_id', 'text', (c) => c.notNull())
    .addColumn('resolved_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addUniqueConstraint('findings_fingerprint_key', ['organization_id', 'fingerprint'])
    .execute();
  // The default listing (most severe first) and the usual filter (status), each led by the tenant.
  await sql`create index findings_severity_idx on findings (organization_id, status, severity_rank desc, id desc)`.execute(db);
  await sql`create index findings_all_severity_idx on findings (organization_id, severity_rank desc, id desc)`.execute(db);
  await db.schema.createIndex('findings_first_seen_idx').on('findings').columns(['organization_id', 'first_seen_at', 'id']).execute();
  await db.schema.createIndex('findings_last_seen_idx').on('findings').columns(['organization_id', 'last_seen_at', 'id']).execute();
  await db.schema.createIndex('findings_resource_idx').on('findings').columns(['resource_id']).execute();
  await sql`create index findings_expiry_idx on findings (expires_at) where status = 'risk_accepted'`.execute(db);

  // Which findings each audit saw failing: an audit's findings, and compliance as of an audit.
  await db.schema
    .createTable('audit_findings')
    .addColumn('audit_id', 'text', (c) => c.notNull().references('audits.id').onDelete('cascade'))
    .addColumn('finding_id', 'text', (c) => c.notNull().references('findings.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('audit_findings_pkey', ['audit_id', 'finding_id'])
    .execute();
  await db.schema.createIndex('audit_findings_finding_idx').on('audit_findings').columns(['finding_id']).execute();

  await db.schema
    .createTable('finding_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('finding_id', 'text', (c) => c.notNull().references('findings.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('from_status', 'text')
    .addColumn('to_status', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    // who: a user, or null when an audit or the expiry job made the change
    .addColumn('actor_user_id', 'text')
    .addColumn('audit_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('finding_events_finding_idx').on('finding_events').columns(['finding_id', 'id']).execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['finding_events', 'audit_findings', 'findings', 'audit_resources', 'audits']) await db.schema.dropTable(table).execute();
}
