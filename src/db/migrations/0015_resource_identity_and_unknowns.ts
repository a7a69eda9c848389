import { sql, type Kysely } from 'kysely';

// Native ids are unique per account and type, not per account: AWS provider 4+ splits a bucket
// over resources (`aws_s3_bucket_policy`, `aws_s3_bucket_logging`, ...) whose id is the bucket's
// name, like the bucket's own. The constraint only widens, so every row stays as it is.
// `unknown_attributes` lists the attributes a plan knows only after apply (paths such as
// `versioning[0].enabled`); rows written before had none recorded.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table resources add constraint resources_type_native_id_key unique (account_id, type, native_id)`.execute(db);
  await sql`alter table resources drop constraint resources_native_id_key`.execute(db);
  await sql`alter table resources add column unknown_attributes jsonb not null default '[]'::jsonb`.execute(db);
  await sql`alter table resource_versions add column unknown_attributes jsonb not null default '[]'::jsonb`.execute(db);
}

// Fails if an account now holds two resources of different types with one native id.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table resource_versions drop column unknown_attributes`.execute(db);
  await sql`alter table resources drop column unknown_attributes`.execute(db);
  await sql`alter table resources add constraint resources_native_id_key unique (account_id, native_id)`.execute(db);
  await sql`alter table resources drop constraint resources_type_native_id_key`.execute(db);
}
