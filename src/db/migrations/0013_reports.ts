import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('reports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull().check(sql`type in ('executive_summary', 'remediation_plan', 'compliance_evidence')`))
    .addColumn('format', 'text', (c) => c.notNull().check(sql`format in ('pdf', 'json')`))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('queued', 'generating', 'ready', 'failed')`))
    .addColumn('audit_id', 'text', (c) => c.notNull().references('audits.id').onDelete('cascade'))
    .addColumn('framework', 'text')
    .addColumn('filters', 'jsonb', (c) => c.notNull())
    // Fixed when the report is created, from its succeeded audit: what every figure traces back to.
    .addColumn('provenance', 'jsonb', (c) => c.notNull())
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('size_bytes', 'bigint')
    .addColumn('sha256', 'text')
    // The file itself: in `content`, or under REPORTS_DIR at `file_path` (relative to it).
    .addColumn('content', 'bytea')
    .addColumn('file_path', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz')
    .addColumn('generated_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('reports_listing_idx').on('reports').columns(['organization_id', 'id']).execute();
  await db.schema.createIndex('reports_audit_idx').on('reports').columns(['audit_id']).execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('reports').execute();
}
