import type { Db, Trx } from '../db/database';
import type { PolicyKind, PolicyRow, PolicyVersionRow, PoliciesTable } from '../db/schema';
import type { FindingWithResource } from '../findings/findings.repository';
import type { PolicyDefinition } from '../rules/rule-set';

/** A policy's content as written: its JSON columns as values, serialized here. */
export type PolicyWrite = Omit<PoliciesTable, 'custom' | 'override'> & { custom: unknown; override: unknown };

export async function insertPolicy(db: Db, policy: PolicyWrite): Promise<PolicyRow> {
  const row = await db
    .insertInto('policies')
    .values({ ...policy, custom: json(policy.custom), override: json(policy.override) })
    .returningAll()
    .executeTakeFirstOrThrow();
  await insertVersion(db, row, { author: row.created_by, at: row.created_at });
  return row;
}

/** Writes the policy's next version, made by `author` (the caller holds its lock, see lockPolicy). */
export async function updatePolicy(db: Db, next: PolicyWrite, author: string): Promise<PolicyRow> {
  const row = await db
    .updateTable('policies')
    .set({
      version: next.version,
      name: next.name,
      description: next.description,
      enabled: next.enabled,
      custom: json(next.custom),
      override: json(next.override),
      updated_at: next.updated_at,
    })
    .where('organization_id', '=', next.organization_id)
    .where('id', '=', next.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await insertVersion(db, row, { author, at: row.updated_at });
  return row;
}

function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

async function insertVersion(db: Db, row: PolicyRow, made: { author: string; at: Date }): Promise<void> {
  await db
    .insertInto('policy_versions')
    .values({
      policy_id: row.id,
      version: row.version,
      organization_id: row.organization_id,
      name: row.name,
      description: row.description,
      enabled: row.enabled,
      custom: json(row.custom),
      override: json(row.override),
      created_by: made.author,
      created_at: made.at,
    })
    .execute();
}

export function findPolicy(db: Db, organizationId: string, id: string): Promise<PolicyRow | undefined> {
  return db.selectFrom('policies').selectAll().where('organization_id', '=', organizationId).where('id', '=', id).executeTakeFirst();
}

/** Locks the policy for an update in this transaction. */
export function lockPolicy(trx: Trx, organizationId: string, id: string): Promise<PolicyRow | undefined> {
  return trx.selectFrom('policies').selectAll().where('organization_id', '=', organizationId).where('id', '=', id).forUpdate().executeTakeFirst();
}

/** Of these policy ids, the ones the organization has. */
export async function existingPolicyIds(db: Db, organizationId: string, ids: string[]): Promise<Set<string>> {
  const rows = await db.selectFrom('policies').select('id').where('organization_id', '=', organizationId).where('id', 'in', ids).execute();
  return new Set(rows.map((row) => row.id));
}

export async function deletePolicy(db: Db, organizationId: string, id: string): Promise<boolean> {
  const row = await db.deleteFrom('policies').where('organization_id', '=', organizationId).where('id', '=', id).returning('id').executeTakeFirst();
  return row !== undefined;
}

export interface PolicyFilter {
  kind?: PolicyKind;
  enabled?: boolean;
}

/** The organization's policies, newest first, below the keyset position `beforeId`. */
export function listPolicies(db: Db, organizationId: string, filter: PolicyFilter, limit: number, beforeId?: string): Promise<PolicyRow[]> {
  let query = db.selectFrom('policies').selectAll().where('organization_id', '=', organizationId);
  if (filter.kind) query = query.where('kind', '=', filter.kind);
  if (filter.enabled !== undefined) query = query.where('enabled', '=', filter.enabled);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  return query.orderBy('id', 'desc').limit(limit).execute();
}

/** One policy's versions, newest first, below `beforeVersion`. */
export function listPolicyVersions(db: Db, organizationId: string, policyId: string, limit: number, beforeVersion?: number): Promise<PolicyVersionRow[]> {
  let query = db.selectFrom('policy_versions').selectAll().where('organization_id', '=', organizationId).where('policy_id', '=', policyId);
  if (beforeVersion !== undefined) query = query.where('version', '<', beforeVersion);
  return query.orderBy('version', 'desc').limit(limit).execute();
}

/** The organization's enabled policies at their current version: what an audit applies. */
export async function enabledPolicies(db: Db, organizationId: string): Promise<PolicyDefinition[]> {
  return db
    .selectFrom('policies')
    .select(['id', 'version', 'kind', 'custom', 'override'])
    .where('organization_id', '=', organizationId)
    .where('enabled', '=', true)
    .orderBy('id')
    .execute();
}

/** The findings an audit saw failing under one rule key (a built-in rule id, or a custom policy's id). */
export function auditFindingsOfRule(db: Db, organizationId: string, auditId: string, ruleKey: string): Promise<Pick<FindingWithResource, 'id' | 'resource_id' | 'severity'>[]> {
  return db
    .selectFrom('audit_findings as af')
    .innerJoin('findings as f', 'f.id', 'af.finding_id')
    .select(['f.id', 'f.resource_id', 'f.severity'])
    .where('af.audit_id', '=', auditId)
    .where('f.organization_id', '=', organizationId)
    .where('f.rule_id', '=', ruleKey)
    .execute();
}
