import { sql, type Kysely } from 'kysely';

// Fair use between tenants (issue 16): the limits a platform operator sets per organization
// (null: the server's default from the configuration), and the organization's own bound on how
// long a risk may be accepted (null: the configured default, 365 days).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('organizations')
    .addColumn('max_resources', 'integer', (c) => c.check(sql`max_resources >= 0`))
    .addColumn('max_resource_attribute_bytes', 'integer', (c) => c.check(sql`max_resource_attribute_bytes >= 1024`))
    .addColumn('max_queued_jobs', 'integer', (c) => c.check(sql`max_queued_jobs >= 1`))
    .addColumn('max_report_bytes', 'bigint', (c) => c.check(sql`max_report_bytes >= 0`))
    .addColumn('risk_acceptance_max_days', 'integer', (c) => c.check(sql`risk_acceptance_max_days between 1 and 36500`))
    .execute();
  // Every audit, report or import request counts its organization's unfinished jobs: few rows each.
  await sql`create index audits_unfinished_idx on audits (organization_id) where status in ('queued', 'running')`.execute(db);
  await sql`create index reports_unfinished_idx on reports (organization_id) where status in ('queued', 'generating')`.execute(db);
  await sql`create index imports_unfinished_idx on imports (organization_id) where status in ('queued', 'running')`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  for (const index of ['audits_unfinished_idx', 'reports_unfinished_idx', 'imports_unfinished_idx']) await db.schema.dropIndex(index).execute();
  await db.schema
    .alterTable('organizations')
    .dropColumn('max_resources')
    .dropColumn('max_resource_attribute_bytes')
    .dropColumn('max_queued_jobs')
    .dropColumn('max_report_bytes')
    .dropColumn('risk_acceptance_max_days')
    .execute();
}
