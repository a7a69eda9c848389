import { sql, type Insertable, type Updateable } from 'kysely';
import type { Db, Trx } from '../db/database';
import type { AppliedPolicyVersion, AuditRow, AuditsTable, AuditStatus, AuditSummaryData } from '../db/schema';
import type { RuleResource } from '../rules/rule-evaluation';

export function insertAudit(db: Db, row: Insertable<AuditsTable>): Promise<AuditRow> {
  return db.insertInto('audits').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findAudit(db: Db, organizationId: string, id: string): Promise<AuditRow | undefined> {
  return db.selectFrom('audits').selectAll().where('organization_id', '=', organizationId).where('id', '=', id).executeTakeFirst();
}

export interface AuditFilter {
  status?: AuditStatus;
  mode?: AuditRow['mode'];
  accountId?: string;
  createdAfter?: Date;
  createdBefore?: Date;
}

/** The organization's audits, newest first, below the keyset position `beforeId`. */
export function listAudits(db: Db, organizationId: string, filter: AuditFilter, limit: number, beforeId?: string): Promise<AuditRow[]> {
  let query = db.selectFrom('audits').selectAll().where('organization_id', '=', organizationId);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.mode) query = query.where('mode', '=', filter.mode);
  // An audit of every account (account_ids null) covers any account.
  if (filter.accountId) query = query.where(sql<boolean>`(account_ids is null or account_ids @> ${JSON.stringify([filter.accountId])}::jsonb)`);
  if (filter.createdAfter) query = query.where('created_at', '>=', filter.createdAfter);
  if (filter.createdBefore) query = query.where('created_at', '<', filter.createdBefore);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  return query.orderBy('id', 'desc').limit(limit).execute();
}

/**
 * Moves a queued audit (or one whose attempt died or was superseded) to `running` as a new
 * attempt; undefined if it was canceled or has ended.
 */
export function startAuditAttempt(db: Db, id: string, catalogueVersion: string): Promise<AuditRow | undefined> {
  return db
    .updateTable('audits')
    .set((eb) => ({ status: 'running', started_at: new Date(), resources_evaluated: 0, attempt: eb('attempt', '+', 1), catalogue_version: catalogueVersion }))
    .where('id', '=', id)
    .where('status', 'in', ['queued', 'running'])
    .returningAll()
    .executeTakeFirst();
}

/** Updates the audit if `audit`'s attempt is still the one running it; answers whether it was. */
async function updateCurrentAttempt(db: Db, audit: AuditRow, values: Updateable<AuditsTable>): Promise<boolean> {
  const row = await db
    .updateTable('audits')
    .set(values)
    .where('id', '=', audit.id)
    .where('status', '=', 'running')
    .where('attempt', '=', audit.attempt)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Records progress; answers false once this attempt is no longer the audit's (canceled, or retried). */
export function recordAuditProgress(db: Db, audit: AuditRow, evaluated: number, total: number): Promise<boolean> {
  return updateCurrentAttempt(db, audit, { resources_evaluated: evaluated, resources_total: total });
}

/** Marks this attempt's audit succeeded; answers false if the attempt is no longer the audit's. */
export function completeAudit(
  db: Db,
  audit: AuditRow,
  result: { resources: number; ruleVersions: Record<string, number>; policyVersions: AppliedPolicyVersion[]; summary: AuditSummaryData },
): Promise<boolean> {
  return updateCurrentAttempt(db, audit, {
    status: 'succeeded',
    finished_at: new Date(),
    resources_evaluated: result.resources,
    resources_total: result.resources,
    rule_versions: JSON.stringify(result.ruleVersions),
    policy_versions: JSON.stringify(result.policyVersions),
    summary: JSON.stringify(result.summary),
  });
}

/** Ends a running or queued audit; answers false if it had already ended. */
export async function endAudit(
  db: Db,
  id: string,
  end: Partial<Pick<AuditsTable, 'error_code' | 'error_message'>> & { status: 'failed' | 'canceled' },
): Promise<boolean> {
  const row = await db
    .updateTable('audits')
    .set({ ...end, finished_at: new Date() })
    .where('id', '=', id)
    .where('status', 'in', ['queued', 'running'])
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** A resource as an audit evaluates it: the rules' view plus the version and account. */
export type AuditedResource = RuleResource & { id: string; account_id: string; version: number };

const AUDITED_COLUMNS = ['id', 'account_id', 'provider', 'type', 'native_id', 'region', 'name', 'tags', 'attributes', 'relationships', 'version', 'unknown_attributes'] as const;

/** A row as read, its unknown attributes as the rules' `unknown_paths` (left out when there are none: most resources). */
function audited(row: Record<string, unknown>): AuditedResource {
  const { unknown_attributes: unknown, ...resource } = row;
  return (Array.isArray(unknown) && unknown.length > 0 ? { ...resource, unknown_paths: unknown } : resource) as unknown as AuditedResource;
}

/** The organization's active resources at their current version, in pages by id (the estate an audit sees). */
export async function* activeResources(db: Db, organizationId: string, pageSize = 5000): AsyncGenerator<AuditedResource[]> {
  let after = '';
  for (;;) {
    const rows = await db
      .selectFrom('resources')
      .select(AUDITED_COLUMNS)
      .where('organization_id', '=', organizationId)
      .where('status', '=', 'active')
      .where('id', '>', after)
      .orderBy('id')
      .limit(pageSize)
      .execute();
    if (rows.length === 0) return;
    yield rows.map(audited);
    after = rows[rows.length - 1]!.id;
  }
}

/** The resource versions an audit evaluated, with their content then (what a reanalysis evaluates). */
export async function* auditedResourceVersions(db: Db, auditId: string, pageSize = 5000): AsyncGenerator<AuditedResource[]> {
  let after = '';
  for (;;) {
    // A version still current lives in the resources row; superseded ones in resource_versions.
    const rows = await db
      .selectFrom('audit_resources as ar')
      .innerJoin('resources as r', 'r.id', 'ar.resource_id')
      .leftJoin('resource_versions as v', (join) => join.onRef('v.resource_id', '=', 'ar.resource_id').onRef('v.version', '=', 'ar.version'))
      .select((eb) => [
        'r.id', 'r.account_id', 'r.provider', 'r.type', 'r.native_id', 'ar.version',
        eb.fn.coalesce('v.region', 'r.region').as('region'),
        eb.fn.coalesce('v.name', 'r.name').as('name'),
        eb.fn.coalesce('v.tags', 'r.tags').as('tags'),
        eb.fn.coalesce('v.attributes', 'r.attributes').as('attributes'),
        eb.fn.coalesce('v.relationships', 'r.relationships').as('relationships'),
        eb.fn.coalesce('v.unknown_attributes', 'r.unknown_attributes').as('unknown_paths'),
      ])
      .where('ar.audit_id', '=', auditId)
      .where('ar.resource_id', '>', after)
      .orderBy('ar.resource_id')
      .limit(pageSize)
      .execute();
    if (rows.length === 0) return;
    yield rows as AuditedResource[];
    after = rows[rows.length - 1]!.id;
  }
}

/**
 * Of these resources, the ids whose current version a succeeded audit has evaluated with this
 * catalogue and these policy versions; not a reanalysis, which leaves the findings as they were.
 */
export async function alreadyEvaluated(
  db: Db,
  resources: { id: string; version: number }[],
  catalogueVersion: string,
  policyVersions: AppliedPolicyVersion[],
): Promise<Set<string>> {
  const evaluated = new Set<string>();
  for (let i = 0; i < resources.length; i += 20_000) {
    const batch = resources.slice(i, i + 20_000);
    const rows = await sql<{ resource_id: string }>`
      select distinct ar.resource_id
      from unnest(${batch.map((r) => r.id)}::text[], ${batch.map((r) => r.version)}::int[]) as r(id, version)
      join audit_resources ar on ar.resource_id = r.id and ar.version = r.version
      join audits a on a.id = ar.audit_id and a.status = 'succeeded' and a.catalogue_version = ${catalogueVersion}
        and a.policy_versions = ${JSON.stringify(policyVersions)}::jsonb and a.mode <> 'reanalysis'`.execute(db);
    for (const row of rows.rows) evaluated.add(row.resource_id);
  }
  return evaluated;
}

export async function insertAuditResources(db: Db, auditId: string, resources: { id: string; version: number }[]): Promise<void> {
  if (resources.length === 0) return;
  for (let i = 0; i < resources.length; i += 20_000) {
    const batch = resources.slice(i, i + 20_000);
    await sql`
      insert into audit_resources (audit_id, resource_id, version)
      select ${auditId}, id, version from unnest(${batch.map((r) => r.id)}::text[], ${batch.map((r) => r.version)}::int[]) as r(id, version)`.execute(db);
  }
}

/** An outcome stored per audit, resource and rule: those pass/fail cannot tell (see migration 0015). */
export interface StoredRuleOutcome {
  resource_id: string;
  rule_id: string;
  outcome: 'unknown' | 'error';
  unknown_paths: string[] | null;
  message: string | null;
}

export async function insertAuditRuleOutcomes(db: Db, auditId: string, outcomes: StoredRuleOutcome[]): Promise<void> {
  for (let i = 0; i < outcomes.length; i += 5_000) {
    const batch = outcomes.slice(i, i + 5_000);
    await sql`
      insert into audit_rule_outcomes (audit_id, resource_id, rule_id, outcome, unknown_paths, message)
      select ${auditId}, o.resource_id, o.rule_id, o.outcome, o.unknown_paths::jsonb, o.message
      from unnest(${batch.map((o) => o.resource_id)}::text[], ${batch.map((o) => o.rule_id)}::text[], ${batch.map((o) => o.outcome)}::text[],
        ${batch.map((o) => (o.unknown_paths === null ? null : JSON.stringify(o.unknown_paths)))}::text[], ${batch.map((o) => o.message)}::text[])
        as o(resource_id, rule_id, outcome, unknown_paths, message)`.execute(db);
  }
}

/** Records which findings an audit saw failing (what `GET /v1/findings?audit_id=` lists). */
export async function insertAuditFindings(db: Db, auditId: string, findingIds: string[]): Promise<void> {
  for (let i = 0; i < findingIds.length; i += 10_000) {
    await sql`
      insert into audit_findings (audit_id, finding_id)
      select ${auditId}, unnest(${findingIds.slice(i, i + 10_000)}::text[])`.execute(db);
  }
}

/**
 * Holds the organization's row lock: audits of one organization write their results one at a
 * time. `for no key update`, so rows that merely reference the organization can still be inserted.
 */
export async function lockOrganization(trx: Trx, organizationId: string): Promise<void> {
  await trx.selectFrom('organizations').select('id').where('id', '=', organizationId).forNoKeyUpdate().execute();
}

/**
 * Holds the rows of the accounts of these resources `for key share` until the transaction ends:
 * an account's deletion, with its resources (the only way a resource goes but with its
 * organization, which `lockOrganization` holds), waits for the audit's commit, so nothing the
 * audit writes names a deleted resource (migration 0049). Imports and scans lock an account
 * `for no key update`, which this does not wait for. Throws if an account went after the audit
 * read its resources: the attempt fails, as the foreign keys made it, and its retry reads them again.
 */
export async function lockAuditedAccounts(trx: Trx, organizationId: string, resources: readonly { account_id: string }[]): Promise<void> {
  const accountIds = [...new Set(resources.map((r) => r.account_id))];
  if (accountIds.length === 0) return;
  const locked = await trx.selectFrom('accounts').select('id').where('organization_id', '=', organizationId).where('id', 'in', accountIds).forKeyShare().execute();
  if (locked.length < accountIds.length) {
    const gone = accountIds.filter((id) => !locked.some((row) => row.id === id));
    throw new Error(`The audited accounts ${gone.join(', ')} were deleted while the audit ran.`);
  }
}

/** The organization's latest succeeded audit (what a dry run compares with by default). */
export function latestSucceededAudit(db: Db, organizationId: string): Promise<AuditRow | undefined> {
  return db
    .selectFrom('audits')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('status', '=', 'succeeded')
    .orderBy('finished_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Of these resources, the ids still active at the version given (what an audit may still report on). */
export async function stillCurrent(db: Db, resources: { id: string; version: number }[]): Promise<Set<string>> {
  const current = new Set<string>();
  for (let i = 0; i < resources.length; i += 20_000) {
    const batch = resources.slice(i, i + 20_000);
    const rows = await sql<{ id: string }>`
      select r.id from resources r
      join unnest(${batch.map((b) => b.id)}::text[], ${batch.map((b) => b.version)}::int[]) as e(id, version)
        on e.id = r.id and e.version = r.version
      where r.status = 'active'`.execute(db);
    for (const row of rows.rows) current.add(row.id);
  }
  return current;
}

/** The latest succeeded audit that evaluated the resource. */
export function latestSucceededAuditOfResource(db: Db, resourceId: string): Promise<AuditRow | undefined> {
  return db
    .selectFrom('audit_resources as ar')
    .innerJoin('audits as a', 'a.id', 'ar.audit_id')
    .selectAll('a')
    .where('ar.resource_id', '=', resourceId)
    .where('a.status', '=', 'succeeded')
    .orderBy('a.finished_at', 'desc')
    .orderBy('a.id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** The unknown and error outcomes an audit stored for a resource (pass and fail are not stored). */
export function storedOutcomesOfResource(db: Db, auditId: string, resourceId: string) {
  return db
    .selectFrom('audit_rule_outcomes')
    .select(['rule_id', 'outcome', 'unknown_paths', 'message'])
    .where('audit_id', '=', auditId)
    .where('resource_id', '=', resourceId)
    .execute();
}

/** The findings an audit saw on a resource, by rule. */
export function auditFindingsOfResource(db: Db, auditId: string, resourceId: string) {
  return db
    .selectFrom('audit_findings as af')
    .innerJoin('findings as f', 'f.id', 'af.finding_id')
    .select(['f.rule_id', 'f.id'])
    .where('af.audit_id', '=', auditId)
    .where('f.resource_id', '=', resourceId)
    .execute();
}

/** The custom policies, at the versions the audit applied, with what they cover. */
export function appliedCustomPolicies(db: Db, audit: AuditRow) {
  const applied = audit.policy_versions ?? [];
  return db
    .selectFrom('policy_versions')
    .select(['policy_id', 'custom'])
    .where('organization_id', '=', audit.organization_id)
    .where(sql<boolean>`(policy_id, version) in (select * from unnest(${applied.map((p) => p.policy_id)}::text[], ${applied.map((p) => p.version)}::int[]))`)
    .execute();
}
