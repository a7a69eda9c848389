import { sql, type Kysely } from 'kysely';

// A queued import's resources wait in import_payloads as JSON text, tens of megabytes written once
// (in the request's transaction) and deleted once (by the worker). 0007 stored them uncompressed,
// since pglz costs more time than it saves; lz4 compresses that JSON several times over at a small
// fraction of the cost of writing it, so less goes to the TOAST table and the WAL. Measured on
// 30,000 resources (28.7 MB of JSON), four interleaved rounds on PostgreSQL 15: 5.1 MB stored
// instead of 29.8 MB, the insert's backend CPU 160–200 ms instead of 220–260 ms, its wall time
// 0.68–1.14 s instead of 0.97–1.29 s. A server built without lz4 (PGlite) keeps the column as it was.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    do $$
    begin
      alter table import_payloads alter column resources set compression lz4;
      alter table import_payloads alter column resources set storage extended;
    exception when feature_not_supported or invalid_parameter_value then
      null;
    end $$`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table import_payloads alter column resources set storage external`.execute(db);
  await sql`alter table import_payloads alter column resources set compression default`.execute(db);
}
