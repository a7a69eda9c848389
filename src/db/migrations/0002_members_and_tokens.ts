import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  // An invited user has no password until they accept the invitation.
  await db.schema.alterTable('users').alterColumn('password_hash', (c) => c.dropNotNull()).execute();

  await db.schema
    .createTable('invitations')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addForeignKeyConstraint('invitations_membership_fkey', ['organization_id', 'user_id'], 'memberships', ['organization_id', 'user_id'], (fk) => fk.onDelete('cascade'))
    .execute();

  await db.schema
    .createTable('personal_access_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('scopes', sql`text[]`, (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('expires_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addForeignKeyConstraint('personal_access_tokens_membership_fkey', ['organization_id', 'user_id'], 'memberships', ['organization_id', 'user_id'], (fk) => fk.onDelete('cascade'))
    .execute();
  await db.schema
    .createIndex('personal_access_tokens_owner_idx')
    .on('personal_access_tokens')
    .columns(['organization_id', 'user_id', 'created_at', 'id'])
    .execute();

  await db.schema.createIndex('memberships_listing_idx').on('memberships').columns(['organization_id', 'created_at', 'user_id']).execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('memberships_listing_idx').execute();
  await db.schema.dropTable('personal_access_tokens').execute();
  await db.schema.dropTable('invitations').execute();
  await db.schema.alterTable('users').alterColumn('password_hash', (c) => c.setNotNull()).execute();
}
