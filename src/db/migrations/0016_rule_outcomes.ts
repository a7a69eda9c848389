import { sql, type Kysely } from 'kysely';

// Three-valued rule results (issue 15). An audit stores only the outcomes that cannot be derived:
// `unknown` (a value known only after apply left the condition undecided; with the paths read)
// and `error`. pass and fail are derived: the rules applicable to the resource's type, and its
// findings the audit saw. Written in the audit's final transaction, so cheap even at 100k resources
// (most evaluations pass or fail and write nothing here).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('audit_rule_outcomes')
    .addColumn('audit_id', 'text', (c) => c.notNull().references('audits.id').onDelete('cascade'))
    .addColumn('resource_id', 'text', (c) => c.notNull().references('resources.id').onDelete('cascade'))
    .addColumn('rule_id', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull().check(sql`outcome in ('unknown', 'error')`))
    .addColumn('unknown_paths', 'jsonb')
    .addColumn('message', 'text')
    .addPrimaryKeyConstraint('audit_rule_outcomes_pkey', ['audit_id', 'resource_id', 'rule_id'])
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_rule_outcomes').execute();
}
