import { sql, type Kysely } from 'kysely';

// Credentials and where they are stored (issue 21): a link from a credential resource (an Entra ID
// client secret or certificate, an IAM access key, a service-account key) to a store entry resource
// that holds it (a Key Vault, Secrets Manager or Secret Manager secret), proposed by fourfold or
// added by a person, and a person's decision on it. One link per pair.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('credential_links')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('credential_resource_id', 'text', (c) => c.notNull().references('resources.id').onDelete('cascade'))
    .addColumn('store_resource_id', 'text', (c) => c.notNull().references('resources.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('proposed', 'confirmed', 'rejected')`))
    .addColumn('origin', 'text', (c) => c.notNull().check(sql`origin in ('automatic', 'manual')`))
    .addColumn('confidence', 'double precision', (c) => c.notNull().check(sql`confidence >= 0 and confidence <= 1`))
    .addColumn('reasons', 'jsonb', (c) => c.notNull())
    .addColumn('decided_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('decided_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addUniqueConstraint('credential_links_pair_key', ['credential_resource_id', 'store_resource_id'])
    .execute();
  await sql`create index credential_links_credential_idx on credential_links (organization_id, credential_resource_id, id)`.execute(db);
  await sql`create index credential_links_store_idx on credential_links (organization_id, store_resource_id, id)`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('credential_links').execute();
}
