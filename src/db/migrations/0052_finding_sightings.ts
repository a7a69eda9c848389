import { sql, type Kysely } from 'kysely';

// An audit that sees a finding failing again with the content it holds changes only its sighting
// (`last_seen_at`, `last_audit_id`, `updated_at`). In `findings` that rewrote the whole row
// (~1 kB of rule text and evidence) and, `last_seen_at` being indexed, put an entry in each of its
// nine indexes: a second audit of 226,512 unchanged findings wrote 780 MB of WAL for it. The
// sighting moves to its own narrow row, keyed by the finding, with the one index the listing
// sorted by `last_seen_at` needs (led by the organization, as findings_last_seen_idx was): the same
// update writes 126 MB, 4.3 times less time. `updated_at` moves with it, since every sighting
// changes it; whatever else changes a finding (triage, resolution, expiry) sets it there too.
// A finding deleted deletes its sighting, by the statement-level cascade of 0048.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table finding_sightings (
      finding_id text primary key,
      organization_id text not null,
      last_seen_at timestamptz not null,
      last_audit_id text not null,
      updated_at timestamptz not null
    )`.execute(db);
  await sql`
    insert into finding_sightings (finding_id, organization_id, last_seen_at, last_audit_id, updated_at)
    select id, organization_id, last_seen_at, last_audit_id, updated_at from findings`.execute(db);
  await sql`create index finding_sightings_last_seen_idx on finding_sightings (organization_id, last_seen_at, finding_id)`.execute(db);
  await sql`drop index findings_last_seen_idx`.execute(db);
  await sql`alter table findings drop column last_seen_at, drop column last_audit_id, drop column updated_at`.execute(db);
  await cascadeFindingDeletes(db, ['audit_findings', 'finding_events', 'finding_sightings']);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table findings add column last_seen_at timestamptz, add column last_audit_id text, add column updated_at timestamptz`.execute(db);
  await sql`
    update findings set last_seen_at = s.last_seen_at, last_audit_id = s.last_audit_id, updated_at = s.updated_at
    from finding_sightings s where s.finding_id = findings.id`.execute(db);
  await sql`alter table findings alter column last_seen_at set not null, alter column last_audit_id set not null, alter column updated_at set not null`.execute(db);
  await sql`create index findings_last_seen_idx on findings (organization_id, last_seen_at, id)`.execute(db);
  await cascadeFindingDeletes(db, ['audit_findings', 'finding_events']);
  await sql`drop table finding_sightings`.execute(db);
}

/** The statement-level cascade of 0048 from findings, to these tables' `finding_id`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function cascadeFindingDeletes(db: Kysely<any>, children: string[]): Promise<void> {
  const deletes = children.map((child) => `delete from ${child} where finding_id in (select id from gone);`).join('\n      ');
  await sql
    .raw(
      `create or replace function findings_cascade_deletes() returns trigger language plpgsql as $$
    begin
      ${deletes}
      return null;
    end $$`,
    )
    .execute(db);
}
