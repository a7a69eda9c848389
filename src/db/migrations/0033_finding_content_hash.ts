import type { Kysely } from 'kysely';

// What an audit last wrote of a finding's content (rule text, severity, evidence, cost, region),
// as a hash: an audit that sees a finding fail again with the same content and status rewrites
// only its sighting instead of the whole row. Null for findings written before: rewritten once.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('findings').addColumn('content_hash', 'text').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('findings').dropColumn('content_hash').execute();
}
