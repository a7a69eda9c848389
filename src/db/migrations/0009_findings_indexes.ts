import { sql, type Kysely } from 'kysely';

// Findings sorted by cost impact: the listing's key is `coalesce(cost_monthly_usd, -1)` (no cost
// sorts as the cheapest), so the index holds that expression to keep deep pages as cheap as the first.
// And one rule's findings (which resources fail it), in the default order, without reading the others.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index findings_cost_idx on findings (organization_id, (coalesce(cost_monthly_usd, -1)), id)`.execute(db);
  await sql`create index findings_rule_idx on findings (organization_id, rule_id, severity_rank desc, id desc)`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('findings_rule_idx').execute();
  await db.schema.dropIndex('findings_cost_idx').execute();
}
