import { sql, type Kysely } from 'kysely';

// Every finding row an audit writes (new, refreshed or only re-sighted: `last_seen_at` is indexed,
// so none of these updates is HOT) pays one entry in each index of `findings`. The unique key
// (organization_id, fingerprint) and the index on resource_id become one unique index on
// (resource_id, fingerprint): equally unique (a fingerprint is the hash of a rule and a resource,
// and a resource belongs to one organization), and it serves what the other two served: the
// audit's lock of its resources' findings (`resource_id = any(...)`) and the cascade from a
// deleted resource. One index fewer to write per row.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create unique index findings_resource_fingerprint_key on findings (resource_id, fingerprint)`.execute(db);
  await sql`alter table findings drop constraint findings_fingerprint_key`.execute(db);
  await sql`drop index findings_resource_idx`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`create index findings_resource_idx on findings (resource_id)`.execute(db);
  await sql`alter table findings add constraint findings_fingerprint_key unique (organization_id, fingerprint)`.execute(db);
  await sql`drop index findings_resource_fingerprint_key`.execute(db);
}
