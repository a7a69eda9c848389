import { sql, type Kysely } from 'kysely';

// Findings sorted by cost impact: the listing's key is `coalesce(cost_monthly_usd, -1)` (no cost
// sorts as the cheapest), so the index holds that expression to keep deep pages as cheap as the first.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index findings_cost_idx on findings (organization_id, (coalesce(cost_monthly_usd, -1)), id)`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('findings_cost_idx').execute();
}
