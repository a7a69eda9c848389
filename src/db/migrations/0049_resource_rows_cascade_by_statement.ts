import type { Kysely } from 'kysely';
import { addStatementCascades, removeStatementCascades, type StatementCascade } from './0048_audit_rows_cascade_by_statement';

// As 0048 did for the audit, its findings and its organization: the rows an audit writes per
// resource and finding (findings, audit_resources, audit_rule_outcomes) lose their foreign key to
// `resources`, checked per inserted row by a locking lookup (about 1 s of server CPU per 50,000
// findings), for a statement-level cascade from resources. Nothing but the audit inserts them
// (an import's findings of gone resources are updates), and the audit cannot name a deleted
// resource: resources go only with their account or their organization, and the audit's write
// transaction holds, before its first write, its organization's row (`lockOrganization`) and its
// resources' accounts `for key share` (`lockAuditedAccounts`), failing if one is already gone, so
// those deletions wait for its commit.
const CASCADES = [
  { parent: 'resources', children: [['findings', 'resource_id'], ['audit_resources', 'resource_id'], ['audit_rule_outcomes', 'resource_id']] },
] as const satisfies readonly StatementCascade[];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await addStatementCascades(db, CASCADES);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await removeStatementCascades(db, CASCADES);
}
