import { sql, type Kysely } from 'kysely';

// Login sessions as rows (issue 16): a login JWT's `jti` is its session's id, and a JWT is
// accepted only while its row exists. Rows can then be listed and ended per user (sign out
// everywhere, a password change), which a list of revoked jtis could not do. Ending a session
// deletes its row; that replaces `revoked_tokens`. JWTs issued before this migration have no
// row, so their holders log in once more.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('user_agent', 'text')
    .addColumn('ip_address', 'text')
    // A member removed from the organization (or deleted with it) loses its sessions too.
    .addForeignKeyConstraint('sessions_membership_fkey', ['organization_id', 'user_id'], 'memberships', ['organization_id', 'user_id'], (fk) =>
      fk.onDelete('cascade'),
    )
    .execute();
  await db.schema.createIndex('sessions_user_id_idx').on('sessions').columns(['user_id', 'id']).execute();
  await db.schema.createIndex('sessions_organization_user_idx').on('sessions').columns(['organization_id', 'user_id', 'id']).execute();
  await db.schema.dropTable('revoked_tokens').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sessions').execute();
  await db.schema
    .createTable('revoked_tokens')
    .addColumn('jti', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('revoked_tokens_expires_at_idx').on('revoked_tokens').column('expires_at').execute();
}
