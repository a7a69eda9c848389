import { sql, type Kysely } from 'kysely';

// An audit writes, per finding it sees, a row in audit_findings, per new finding a findings row
// and a finding_events row, and per resource an audit_resources row: hundreds of thousands in one
// transaction. Each foreign key checked a row as it was inserted: a query per row and key that
// locked the referenced row (`for key share`; on the audits row, which the audit's progress
// reports update meanwhile, a multixact to read back each time), about half of what the audit's
// backend spent. These keys become statement-level cascades: a delete of the referenced rows
// deletes the rows that name them, once per statement, as `on delete cascade` did; nothing checks
// each insert any more, because only the audit and the finding lifecycle write these rows, from
// rows their transaction holds or has just written, so nothing can delete them before it commits:
// - the audit (audit_findings, audit_resources and audit_rule_outcomes .audit_id) and the
//   organization (findings.organization_id): the audit holds the organization's row lock from its
//   first write, and both go only with the organization;
// - a finding (audit_findings and finding_events .finding_id): new in the same transaction, or
//   locked `for update` by the audit, the import, triage or the expiry job that writes its event.
// The keys to resources went later, in 0049, once the audit locked its resources' accounts.
const CASCADES = [
  { parent: 'audits', children: [['audit_findings', 'audit_id'], ['audit_resources', 'audit_id'], ['audit_rule_outcomes', 'audit_id']] },
  { parent: 'findings', children: [['audit_findings', 'finding_id'], ['finding_events', 'finding_id']] },
  { parent: 'organizations', children: [['findings', 'organization_id']] },
] as const satisfies readonly StatementCascade[];

/** A table and the (table, column) pairs that name its rows by id. */
export interface StatementCascade {
  parent: string;
  children: readonly (readonly [table: string, column: string])[];
}

/**
 * A delete of `parent` deletes, once per statement, the `children` rows that name the deleted
 * rows; their foreign keys are dropped.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function addStatementCascades(db: Kysely<any>, cascades: readonly StatementCascade[]): Promise<void> {
  for (const { parent, children } of cascades) {
    const deletes = children.map(([child, column]) => `delete from ${child} where ${column} in (select id from gone);`).join('\n      ');
    await sql
      .raw(
        `create function ${parent}_cascade_deletes() returns trigger language plpgsql as $$
    begin
      ${deletes}
      return null;
    end $$`,
      )
      .execute(db);
    await sql.raw(`create trigger ${parent}_cascade_deletes after delete on ${parent} referencing old table as gone for each statement execute function ${parent}_cascade_deletes()`).execute(db);
    for (const [child, column] of children) await sql.raw(`alter table ${child} drop constraint ${child}_${column}_fkey`).execute(db);
  }
}

/** Puts back the `on delete cascade` foreign keys `addStatementCascades` replaced. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function removeStatementCascades(db: Kysely<any>, cascades: readonly StatementCascade[]): Promise<void> {
  for (const { parent, children } of cascades) {
    for (const [child, column] of children) {
      await sql.raw(`alter table ${child} add constraint ${child}_${column}_fkey foreign key (${column}) references ${parent} (id) on delete cascade`).execute(db);
    }
    await sql.raw(`drop trigger ${parent}_cascade_deletes on ${parent}`).execute(db);
    await sql.raw(`drop function ${parent}_cascade_deletes()`).execute(db);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await addStatementCascades(db, CASCADES);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await removeStatementCascades(db, CASCADES);
}
