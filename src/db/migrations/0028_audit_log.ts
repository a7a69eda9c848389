import { sql, type Kysely } from 'kysely';

// The tamper-evident audit log (issue 21). One hash chain per organization (`chain`: the
// organization's id, or '' for what concerns no organization, such as a login attempt for an
// unknown username), numbered by `sequence`. There is no foreign key to organizations: the log
// outlives what it records. A trigger refuses every UPDATE and DELETE, except the deletion of an
// organization's own chain inside the transaction that deletes the organization (it sets
// `fourfold.erasing_chain` to that id).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('chain', 'text', (c) => c.notNull())
    .addColumn('sequence', 'bigint', (c) => c.notNull().check(sql`sequence >= 1`))
    .addColumn('organization_id', 'text')
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('actor_type', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'text')
    .addColumn('user_id', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text')
    .addColumn('outcome', 'integer', (c) => c.notNull())
    .addColumn('request_id', 'text')
    .addColumn('ip', 'text')
    .addColumn('detail', 'jsonb', (c) => c.notNull())
    .addColumn('previous_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('hmac', 'text', (c) => c.notNull())
    .addUniqueConstraint('audit_log_chain_sequence_key', ['chain', 'sequence'])
    .execute();
  await sql`create index audit_log_listing_idx on audit_log (organization_id, sequence)`.execute(db);
  await sql`
    create function audit_log_append_only() returns trigger language plpgsql as $$
    begin
      if tg_op = 'DELETE' and old.chain = current_setting('fourfold.erasing_chain', true) then
        return old;
      end if;
      raise exception 'audit_log is append-only: % refused', tg_op using errcode = 'P0001';
    end
    $$`.execute(db);
  await sql`
    create trigger audit_log_append_only before update or delete on audit_log
    for each row execute function audit_log_append_only()`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_log').execute();
  await sql`drop function audit_log_append_only()`.execute(db);
}
