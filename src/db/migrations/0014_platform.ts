import { sql, type Kysely } from 'kysely';

// Tables whose organization_id was tied to the organization only through a parent row: a direct
// foreign key makes the organization's deletion remove them even if the parent chain changes.
const INDIRECT = ['invitations', 'personal_access_tokens', 'resources', 'imports'] as const;

// Tenants managed by platform operators: a slug and a status (suspension) per organization,
// operators granted by the command line, and the rotated JWT signing keys.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('organizations')
    .addColumn('slug', 'text')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active').check(sql`status in ('active', 'suspended')`))
    .addColumn('suspended_at', 'timestamptz')
    .execute();
  // Existing organizations get a slug from their id; operators can rename them.
  await sql`update organizations set slug = replace(lower(id), '_', '-')`.execute(db);
  await db.schema.alterTable('organizations').alterColumn('slug', (c) => c.setNotNull()).execute();
  await db.schema.createIndex('organizations_slug_key').unique().on('organizations').column('slug').execute();
  await db.schema.createIndex('organizations_status_idx').on('organizations').columns(['status', 'id']).execute();

  await db.schema
    .alterTable('users')
    .addColumn('platform_admin', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();

  for (const table of INDIRECT) {
    await db.schema
      .alterTable(table)
      .addForeignKeyConstraint(`${table}_organization_fkey`, ['organization_id'], 'organizations', ['id'], (fk) => fk.onDelete('cascade'))
      .execute();
  }

  // Signing keys made by `fourfold keys rotate`, encrypted with the configured secret. The newest
  // signs; retired ones still verify the tokens they signed until those expire.
  await db.schema
    .createTable('signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('secret_encrypted', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('signing_keys').execute();
  for (const table of INDIRECT) await db.schema.alterTable(table).dropConstraint(`${table}_organization_fkey`).execute();
  await db.schema.alterTable('users').dropColumn('platform_admin').execute();
  await db.schema.dropIndex('organizations_status_idx').execute();
  await db.schema.dropIndex('organizations_slug_key').execute();
  await db.schema.alterTable('organizations').dropColumn('suspended_at').dropColumn('status').dropColumn('slug').execute();
}
