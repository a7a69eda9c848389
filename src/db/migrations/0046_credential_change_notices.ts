import { sql, type Kysely } from 'kysely';

// Every API process keeps verified credentials for a few seconds (src/auth/credential-cache.ts).
// Whatever could make one of them refused or change its principal (a revoked or expired token, an
// ended session, a removed member or changed role, a suspended organization, a renamed user, a
// retired signing key) notifies `credentials_changed` when it commits, whoever writes it (the API,
// a worker, the command line, psql), and every process drops what it keeps. Uses of a credential
// (`last_used_at`) change nothing it grants, so they do not notify.
// src/auth/credential-cache.ts reads the list too, to see this process's own writes before their notices.
export const WATCHED_WRITES: { table: string; columns?: string[] }[] = [
  { table: 'sessions', columns: ['expires_at', 'user_id', 'organization_id'] },
  { table: 'personal_access_tokens', columns: ['revoked_at', 'expires_at', 'scopes', 'user_id', 'organization_id'] },
  { table: 'oauth_tokens', columns: ['revoked_at', 'access_expires_at', 'scopes', 'user_id', 'organization_id'] },
  { table: 'memberships' },
  { table: 'users' },
  { table: 'organizations' },
  { table: 'signing_keys' },
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function notify_credentials_changed() returns trigger language plpgsql as $$
    begin
      perform pg_notify('credentials_changed', tg_table_name);
      return null;
    end $$`.execute(db);
  for (const { table, columns } of WATCHED_WRITES) {
    const update = columns ? `update of ${columns.join(', ')}` : 'update';
    // Per row, so that a statement that changes nothing (no expired session to delete at a login)
    // notifies nothing; the notices of one transaction are one (PostgreSQL folds equal ones).
    await sql
      .raw(`create trigger ${table}_credentials_changed after ${update} or delete on ${table} for each row execute function notify_credentials_changed()`)
      .execute(db);
    await sql
      .raw(`create trigger ${table}_credentials_truncated after truncate on ${table} for each statement execute function notify_credentials_changed()`)
      .execute(db);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  for (const { table } of WATCHED_WRITES) {
    await sql.raw(`drop trigger ${table}_credentials_changed on ${table}`).execute(db);
    await sql.raw(`drop trigger ${table}_credentials_truncated on ${table}`).execute(db);
  }
  await sql`drop function notify_credentials_changed()`.execute(db);
}
