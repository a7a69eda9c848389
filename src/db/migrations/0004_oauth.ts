import { sql, type Kysely } from 'kysely';

// OAuth 2.0 authorization server storage. Secrets, codes and tokens are stored only as SHA-256
// hashes of high-entropy random values; codes and refresh tokens are marked used rather than
// deleted, so that a replay can be detected and the grant family it belongs to revoked.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('oauth_clients')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('client_type', 'text', (c) => c.notNull().check(sql`client_type in ('confidential', 'public')`))
    .addColumn('secret_hash', 'text')
    .addColumn('redirect_uris', 'jsonb', (c) => c.notNull())
    .addColumn('scopes', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('oauth_clients_secret_check', sql`(client_type = 'confidential') = (secret_hash is not null)`)
    .execute();
  await db.schema
    .createIndex('oauth_clients_organization_created_idx')
    .on('oauth_clients')
    .columns(['organization_id', 'created_at', 'id'])
    .execute();

  // One row per (user, client) that the user has approved; deleting it revokes everything issued under it.
  await db.schema
    .createTable('oauth_authorizations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('client_id', 'text', (c) => c.notNull().references('oauth_clients.id').onDelete('cascade'))
    .addColumn('scopes', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('oauth_authorizations_client_user_key', ['client_id', 'user_id'])
    .execute();
  await db.schema
    .createIndex('oauth_authorizations_user_created_idx')
    .on('oauth_authorizations')
    .columns(['organization_id', 'user_id', 'created_at', 'id'])
    .execute();

  await db.schema
    .createTable('oauth_codes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('authorization_id', 'text', (c) => c.notNull().references('oauth_authorizations.id').onDelete('cascade'))
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('code_hash', 'text', (c) => c.notNull().unique())
    .addColumn('redirect_uri', 'text', (c) => c.notNull())
    .addColumn('scopes', 'jsonb', (c) => c.notNull())
    .addColumn('code_challenge', 'text')
    .addColumn('code_challenge_method', 'text')
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // One row per issuance: an access token and the refresh token issued with it. `family_id` is
  // the authorization code the chain of refreshes started from.
  await db.schema
    .createTable('oauth_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('authorization_id', 'text', (c) => c.notNull().references('oauth_authorizations.id').onDelete('cascade'))
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('family_id', 'text', (c) => c.notNull())
    .addColumn('access_token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('access_expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('refresh_token_hash', 'text', (c) => c.unique())
    .addColumn('refresh_expires_at', 'timestamptz')
    .addColumn('scopes', 'jsonb', (c) => c.notNull())
    .addColumn('rotated_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('oauth_tokens_family_idx').on('oauth_tokens').column('family_id').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['oauth_tokens', 'oauth_codes', 'oauth_authorizations', 'oauth_clients']) {
    await db.schema.dropTable(table).execute();
  }
}
