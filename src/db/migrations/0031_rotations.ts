import { sql, type Kysely } from 'kysely';

// Credential rotations (issue 21): one replacement of an Entra ID app secret in the Key Vault
// secrets that hold it, its steps kept as its history. The secret values themselves are never
// stored: only key ids, secret URIs, outcomes and errors.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('rotations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('application_id', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('new_key_id', 'text')
    .addColumn('key_vault_secrets', 'jsonb', (c) => c.notNull())
    .addColumn('lifetime_days', 'integer', (c) => c.notNull())
    .addColumn('overlap_hours', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('running', 'revoke_scheduled', 'succeeded', 'failed')`))
    .addColumn('new_expires_at', 'timestamptz')
    .addColumn('revoke_at', 'timestamptz')
    .addColumn('steps', 'jsonb', (c) => c.notNull())
    .addColumn('error', 'jsonb')
    .addColumn('created_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('finished_at', 'timestamptz')
    .execute();
  // Listing newest first, and counting a month's rotations for the starter plan's limit.
  await sql`create index rotations_listing_idx on rotations (organization_id, id)`.execute(db);
  await sql`create index rotations_month_idx on rotations (organization_id, created_at)`.execute(db);
  // One rotation of a credential at a time: a second while one runs or waits to revoke is refused.
  await sql`create unique index rotations_one_running_idx on rotations (organization_id, application_id, key_id) where status in ('running', 'revoke_scheduled')`.execute(db);
  await sql`create index rotations_revoke_due_idx on rotations (revoke_at) where status = 'revoke_scheduled'`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rotations').execute();
}
