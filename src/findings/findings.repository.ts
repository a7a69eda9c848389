import { sql, type Expression, type SqlBool } from 'kysely';
import type { Db, Trx } from '../db/database';
import type { FindingEventRow, FindingRow, FindingStatus } from '../db/schema';
import type { Dimension } from '../rules/rule-definition';

export interface FindingFilter {
  severityRanks?: number[];
  minSeverityRank?: number;
  dimension?: Dimension;
  statuses?: FindingStatus[];
  ruleId?: string;
  policyId?: string;
  resourceId?: string;
  resourceType?: string;
  accountId?: string;
  auditId?: string;
  region?: string;
  framework?: string;
  control?: string;
  firstSeenAfter?: Date;
  firstSeenBefore?: Date;
  q?: string;
}

export type FindingSortField = 'severity' | 'first_seen_at' | 'last_seen_at' | 'cost_impact';
export interface FindingSort {
  field: FindingSortField;
  descending: boolean;
}

/** A finding with the resource columns its API shape shows. */
export type FindingWithResource = FindingRow & { resource_name: string | null; resource_native_id: string };

/**
 * The sort key as SQL. A finding without a cost sorts as the cheapest (-1), so that the keyset
 * comparison stays total; migration 0009 indexes that same expression.
 */
function sortKey(field: FindingSortField) {
  switch (field) {
    case 'severity':
      return sql<number>`findings.severity_rank`;
    case 'cost_impact':
      return sql<number>`coalesce(findings.cost_monthly_usd, -1)`;
    default:
      return sql<Date>`findings.${sql.ref(field)}`;
  }
}

/** The key of `row` under `field`, as a cursor stores it. */
export function sortKeyOf(row: FindingRow, field: FindingSortField): string | number {
  switch (field) {
    case 'severity':
      return row.severity_rank;
    case 'cost_impact':
      return row.cost_monthly_usd ?? -1;
    default:
      return row[field].toISOString();
  }
}

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function selectFindings(db: Db) {
  return db
    .selectFrom('findings')
    .innerJoin('resources', 'resources.id', 'findings.resource_id')
    .selectAll('findings')
    .select(['resources.name as resource_name', 'resources.native_id as resource_native_id']);
}

/** The organization's findings that `filter` matches, with their resource's columns; no order, no limit. */
function matchingFindings(db: Db, organizationId: string, filter: FindingFilter) {
  return selectFindings(db)
    .where('findings.organization_id', '=', organizationId)
    .where((eb) => {
      const conditions: Expression<SqlBool>[] = [];
      if (filter.severityRanks?.length) conditions.push(eb('findings.severity_rank', 'in', filter.severityRanks));
      if (filter.minSeverityRank !== undefined) conditions.push(eb('findings.severity_rank', '>=', filter.minSeverityRank));
      if (filter.dimension) conditions.push(eb('findings.dimension', '=', filter.dimension));
      if (filter.statuses?.length) conditions.push(eb('findings.status', 'in', filter.statuses));
      if (filter.ruleId) conditions.push(eb('findings.rule_id', '=', filter.ruleId));
      // A custom policy's findings keep its id in rule_id, which is indexed.
      if (filter.policyId) conditions.push(eb('findings.rule_id', '=', filter.policyId));
      if (filter.resourceId) conditions.push(eb('findings.resource_id', '=', filter.resourceId));
      if (filter.resourceType) conditions.push(eb('findings.resource_type', '=', filter.resourceType));
      if (filter.accountId) conditions.push(eb('findings.account_id', '=', filter.accountId));
      if (filter.region) conditions.push(eb('findings.region', '=', filter.region));
      if (filter.auditId) {
        conditions.push(
          eb.exists(
            eb
              .selectFrom('audit_findings')
              .select('audit_findings.finding_id')
              .where('audit_findings.audit_id', '=', filter.auditId)
              .whereRef('audit_findings.finding_id', '=', 'findings.id'),
          ),
        );
      }
      if (filter.framework && filter.control) {
        conditions.push(sql<SqlBool>`findings.compliance @> ${JSON.stringify({ [filter.framework]: [filter.control] })}::jsonb`);
      } else if (filter.framework) {
        conditions.push(sql<SqlBool>`jsonb_array_length(findings.compliance -> ${filter.framework}) > 0`);
      } else if (filter.control) {
        conditions.push(
          sql<SqlBool>`exists (select 1 from jsonb_each(findings.compliance) as mapped where mapped.value @> ${JSON.stringify([filter.control])}::jsonb)`,
        );
      }
      if (filter.firstSeenAfter) conditions.push(eb('findings.first_seen_at', '>=', filter.firstSeenAfter));
      if (filter.firstSeenBefore) conditions.push(eb('findings.first_seen_at', '<', filter.firstSeenBefore));
      if (filter.q) {
        const pattern = likePattern(filter.q);
        conditions.push(
          eb.or([
            eb('findings.title', 'ilike', pattern),
            eb('findings.rule_id', 'ilike', pattern),
            eb('resources.name', 'ilike', pattern),
            eb('resources.native_id', 'ilike', pattern),
          ]),
        );
      }
      return eb.and(conditions);
    });
}

/** The keyset condition "after (sort key, id)" in `sort` order. */
function afterPosition(sort: FindingSort, after: [string | number, string]) {
  const [afterKey, afterId] = after;
  const keyValue = sort.field === 'first_seen_at' || sort.field === 'last_seen_at' ? new Date(afterKey) : afterKey;
  return sql<SqlBool>`(${sortKey(sort.field)}, findings.id) ${sql.raw(sort.descending ? '<' : '>')} (${keyValue}, ${afterId})`;
}

/** One page of the organization's findings after the keyset position `after` (sort key, id). */
export function listFindings(
  db: Db,
  organizationId: string,
  filter: FindingFilter,
  sort: FindingSort,
  limit: number,
  after?: [string | number, string],
): Promise<FindingWithResource[]> {
  const direction = sort.descending ? 'desc' : 'asc';
  let query = matchingFindings(db, organizationId, filter);
  if (after) query = query.where(afterPosition(sort, after));
  return query.orderBy(sortKey(sort.field), direction).orderBy('findings.id', direction).limit(limit).execute();
}

/** A finding as an export shows it: with its account's provider and cloud id. */
export type ExportedFindingRow = FindingWithResource & { account_provider: 'aws' | 'azure' | 'gcp'; account_external_id: string };

/** One page of an export: as listFindings, with the account's provider and cloud id. */
export function listFindingsForExport(
  db: Db,
  organizationId: string,
  filter: FindingFilter,
  sort: FindingSort,
  limit: number,
  after?: [string | number, string],
): Promise<ExportedFindingRow[]> {
  const direction = sort.descending ? 'desc' : 'asc';
  let query = matchingFindings(db, organizationId, filter)
    .innerJoin('accounts', 'accounts.id', 'findings.account_id')
    .select(['accounts.provider as account_provider', 'accounts.external_id as account_external_id']);
  if (after) query = query.where(afterPosition(sort, after));
  return query.orderBy(sortKey(sort.field), direction).orderBy('findings.id', direction).limit(limit).execute();
}

export function findFinding(db: Db, organizationId: string, id: string): Promise<FindingWithResource | undefined> {
  return selectFindings(db).where('findings.organization_id', '=', organizationId).where('findings.id', '=', id).executeTakeFirst();
}

/** The finding's triage state, locked until the transaction `trx` ends. */
export function lockFinding(trx: Trx, organizationId: string, id: string) {
  return trx
    .selectFrom('findings')
    .select(['id', 'status', 'status_reason', 'expires_at', 'note'])
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

export async function updateFindingTriage(
  trx: Trx,
  id: string,
  values: { status: FindingStatus; status_reason: string | null; expires_at: Date | null; note: string | null; updated_at: Date },
): Promise<void> {
  await trx.updateTable('findings').set(values).where('id', '=', id).execute();
}

/** Events of a finding, oldest first, after the event `afterId`. */
export function listFindingEvents(db: Db, findingId: string, limit: number, afterId?: string): Promise<FindingEventRow[]> {
  let query = db.selectFrom('finding_events').selectAll().where('finding_id', '=', findingId);
  if (afterId !== undefined) query = query.where('id', '>', afterId);
  return query.orderBy('id', 'asc').limit(limit).execute();
}

/**
 * Opens up to `limit` risk-accepted findings whose acceptance ended by `now`, of any organization;
 * answers their ids. Rows another worker holds are skipped, so concurrent runs never reopen one twice.
 */
export async function reopenExpiredBatch(trx: Trx, now: Date, limit: number, reason: string): Promise<string[]> {
  const result = await sql<{ id: string }>`
    with due as (
      select id from findings
      where status = 'risk_accepted' and expires_at <= ${now}
      order by expires_at
      limit ${limit}
      for update skip locked
    )
    update findings set status = 'open', status_reason = ${reason}, expires_at = null, updated_at = ${now}
    from due where findings.id = due.id
    returning findings.id`.execute(trx);
  return result.rows.map((row) => row.id);
}
