import type { Kysely } from 'kysely';
import { sql } from 'kysely';

// Tenants' own rules and overrides of built-in ones. `policies` holds each policy's current
// version; `policy_versions` every version, since an audit cites the ones it applied.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('policies')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('custom', 'override')`))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('enabled', 'boolean', (c) => c.notNull())
    .addColumn('custom', 'jsonb')
    .addColumn('override', 'jsonb')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('policies_organization_idx').on('policies').columns(['organization_id', 'id']).execute();
  await db.schema
    .createTable('policy_versions')
    .addColumn('policy_id', 'text', (c) => c.notNull().references('policies.id').onDelete('cascade'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('enabled', 'boolean', (c) => c.notNull())
    .addColumn('custom', 'jsonb')
    .addColumn('override', 'jsonb')
    // who made this version (the policy's author for version 1)
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('policy_versions_pkey', ['policy_id', 'version'])
    .execute();
  // A custom policy's findings keep rule_id (the grouping key) = the policy id.
  await db.schema
    .alterTable('findings')
    .addColumn('policy_id', 'text')
    .addColumn('policy_version', 'integer')
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('findings').dropColumn('policy_id').dropColumn('policy_version').execute();
  await db.schema.dropTable('policy_versions').execute();
  await db.schema.dropTable('policies').execute();
}
