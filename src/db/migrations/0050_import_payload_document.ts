import { sql, type Kysely } from 'kysely';

// A queued import's payload may be the file as it was sent (`document`, its bytes) instead of its
// canonical resources as JSON text (`resources`): the bytes are at hand already, while writing the
// resources out cost the request a JSON.stringify and a UTF-8 encoding of tens of megabytes. A
// worker parses the file again (the same parser, so the same resources the request checked).
// Payloads queued before this migration keep their `resources`. lz4 as 0044 set for `resources`
// (a server built without lz4, PGlite, keeps the default).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table import_payloads add column document bytea`.execute(db);
  await sql`alter table import_payloads alter column resources drop not null`.execute(db);
  await sql`alter table import_payloads add constraint import_payloads_one_form check ((resources is null) <> (document is null))`.execute(db);
  await sql`
    do $$
    begin
      alter table import_payloads alter column document set compression lz4;
    exception when feature_not_supported or invalid_parameter_value then
      null;
    end $$`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  // A payload kept only as a document cannot be turned back into resources here: its import ends.
  await sql`update imports set status = 'failed', finished_at = now(),
    problems = '[{"item": "$", "field": null, "message": "the import could not be written; nothing was imported. Send the file again."}]'::jsonb
    where id in (select import_id from import_payloads where resources is null)`.execute(db);
  await sql`delete from import_payloads where resources is null`.execute(db);
  await sql`alter table import_payloads drop constraint import_payloads_one_form`.execute(db);
  await sql`alter table import_payloads drop column document`.execute(db);
  await sql`alter table import_payloads alter column resources set not null`.execute(db);
}
