import type { Kysely } from 'kysely';
import { sql } from 'kysely';

// Which version of each of the organization's policies an audit applied: reports and the audit
// itself cite them as provenance.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('audits')
    .addColumn('policy_versions', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('audits').dropColumn('policy_versions').execute();
}
