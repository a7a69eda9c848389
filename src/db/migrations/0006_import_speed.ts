import { sql, type Kysely } from 'kysely';

// A resource's current version lives only in its `resources` row; `resource_versions` keeps the
// versions it has superseded. An import that creates a resource so writes its content once, not
// twice, and one that changes it moves the old content across inside the database.
// `version_recorded_at` is when the current version was recorded (`recorded_at` of that version).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table resources add column version_recorded_at timestamptz`.execute(db);
  await sql`
    update resources set version_recorded_at = v.recorded_at
    from resource_versions v where v.resource_id = resources.id and v.version = resources.version`.execute(db);
  await sql`update resources set version_recorded_at = first_seen_at where version_recorded_at is null`.execute(db);
  await sql`alter table resources alter column version_recorded_at set not null`.execute(db);
  await sql`delete from resource_versions v using resources r where v.resource_id = r.id and v.version = r.version`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    insert into resource_versions (resource_id, version, content_hash, name, region, tags, attributes, relationships, recorded_at)
    select id, version, content_hash, name, region, tags, attributes, relationships, version_recorded_at from resources`.execute(db);
  await sql`alter table resources drop column version_recorded_at`.execute(db);
}
