import { sql, type Kysely } from 'kysely';

// Plans (issue 21): each organization's tier, set by platform operators, with an expiry after
// which `starter` is in force again. Nothing is deleted when a plan ends or is lowered.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('organizations')
    .addColumn('plan', 'text', (c) => c.notNull().defaultTo('starter').check(sql`plan in ('starter', 'pro', 'enterprise')`))
    .addColumn('plan_expires_at', 'timestamptz')
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('organizations').dropColumn('plan').dropColumn('plan_expires_at').execute();
}
