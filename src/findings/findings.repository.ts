import { CompiledQuery, sql } from 'kysely';
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
const SORT_KEYS: Record<FindingSortField, string> = {
  severity: 'findings.severity_rank',
  cost_impact: 'coalesce(findings.cost_monthly_usd, -1)',
  first_seen_at: 'findings."first_seen_at"',
  last_seen_at: 'finding_sightings."last_seen_at"',
};

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

// The finding reads below are SQL text with numbered parameters, not Kysely builders: building
// and compiling the listing's query object cost about 6 % of a listing request's CPU (issue 20),
// for a statement whose shape only the filters present change.

/** A finding with its sighting (migration 0052) and its resource's columns, as every read of findings answers it: the columns, and where they come from. */
const FINDING_COLUMNS =
  '"findings".*, "finding_sightings"."last_seen_at", "finding_sightings"."last_audit_id", "finding_sightings"."updated_at", "resources"."name" as "resource_name", "resources"."native_id" as "resource_native_id"';
// The sighting joined on the organization too, so that the organization's condition reaches its
// index (organization_id, last_seen_at, finding_id), which the listing by last_seen_at reads in order.
const FROM_FINDINGS_AND_RESOURCES =
  'from "findings" inner join "finding_sightings" on "finding_sightings"."finding_id" = "findings"."id" and "finding_sightings"."organization_id" = "findings"."organization_id" inner join "resources" on "resources"."id" = "findings"."resource_id"';

/** The parameters of one statement, each added as it is placed in the text: `add` answers its `$n`. */
class Parameters {
  readonly values: unknown[] = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  list(values: readonly unknown[]): string {
    return values.map((value) => this.add(value)).join(', ');
  }
}

/** The condition "an organization's finding that `filter` matches", as SQL. */
function matchingFindings(params: Parameters, organizationId: string, filter: FindingFilter): string {
  const organization = `"findings"."organization_id" = ${params.add(organizationId)}`;
  const conditions: string[] = [];
  if (filter.severityRanks?.length) conditions.push(`"findings"."severity_rank" in (${params.list(filter.severityRanks)})`);
  if (filter.minSeverityRank !== undefined) conditions.push(`"findings"."severity_rank" >= ${params.add(filter.minSeverityRank)}`);
  if (filter.dimension) conditions.push(`"findings"."dimension" = ${params.add(filter.dimension)}`);
  if (filter.statuses?.length) conditions.push(`"findings"."status" in (${params.list(filter.statuses)})`);
  if (filter.ruleId) conditions.push(`"findings"."rule_id" = ${params.add(filter.ruleId)}`);
  // A custom policy's findings keep its id in rule_id, which is indexed.
  if (filter.policyId) conditions.push(`"findings"."rule_id" = ${params.add(filter.policyId)}`);
  if (filter.resourceId) conditions.push(`"findings"."resource_id" = ${params.add(filter.resourceId)}`);
  if (filter.resourceType) conditions.push(`"findings"."resource_type" = ${params.add(filter.resourceType)}`);
  if (filter.accountId) conditions.push(`"findings"."account_id" = ${params.add(filter.accountId)}`);
  if (filter.region) conditions.push(`"findings"."region" = ${params.add(filter.region)}`);
  if (filter.auditId) {
    conditions.push(
      `exists (select "audit_findings"."finding_id" from "audit_findings" where "audit_findings"."audit_id" = ${params.add(filter.auditId)} and "audit_findings"."finding_id" = "findings"."id")`,
    );
  }
  if (filter.framework && filter.control) {
    conditions.push(`findings.compliance @> ${params.add(JSON.stringify({ [filter.framework]: [filter.control] }))}::jsonb`);
  } else if (filter.framework) {
    conditions.push(`jsonb_array_length(findings.compliance -> ${params.add(filter.framework)}) > 0`);
  } else if (filter.control) {
    conditions.push(`exists (select 1 from jsonb_each(findings.compliance) as mapped where mapped.value @> ${params.add(JSON.stringify([filter.control]))}::jsonb)`);
  }
  if (filter.firstSeenAfter) conditions.push(`"findings"."first_seen_at" >= ${params.add(filter.firstSeenAfter)}`);
  if (filter.firstSeenBefore) conditions.push(`"findings"."first_seen_at" < ${params.add(filter.firstSeenBefore)}`);
  if (filter.q) {
    const pattern = params.add(likePattern(filter.q));
    conditions.push(
      `("findings"."title" ilike ${pattern} or "findings"."rule_id" ilike ${pattern} or "resources"."name" ilike ${pattern} or "resources"."native_id" ilike ${pattern})`,
    );
  }
  return conditions.length > 0 ? `${organization} and (${conditions.join(' and ')})` : organization;
}

/** The keyset condition "after (sort key, id)" and the order and limit of a page in `sort` order. */
function pageOf(params: Parameters, sort: FindingSort, limit: number, after: [string | number, string] | undefined): string {
  const key = SORT_KEYS[sort.field];
  const direction = sort.descending ? 'desc' : 'asc';
  let text = '';
  if (after) {
    const [afterKey, afterId] = after;
    const keyValue = sort.field === 'first_seen_at' || sort.field === 'last_seen_at' ? new Date(afterKey) : afterKey;
    text += ` and (${key}, findings.id) ${sort.descending ? '<' : '>'} (${params.add(keyValue)}, ${params.add(afterId)})`;
  }
  return `${text} order by ${key} ${direction}, "findings"."id" ${direction} limit ${params.add(limit)}`;
}

async function readFindings<Row>(db: Db, text: string, params: Parameters): Promise<Row[]> {
  return (await db.executeQuery<Row>(CompiledQuery.raw(text, params.values))).rows;
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
  const params = new Parameters();
  const where = matchingFindings(params, organizationId, filter);
  return readFindings(db, `select ${FINDING_COLUMNS} ${FROM_FINDINGS_AND_RESOURCES} where ${where}${pageOf(params, sort, limit, after)}`, params);
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
  const params = new Parameters();
  const where = matchingFindings(params, organizationId, filter);
  const columns = `${FINDING_COLUMNS}, "accounts"."provider" as "account_provider", "accounts"."external_id" as "account_external_id"`;
  return readFindings(
    db,
    `select ${columns} ${FROM_FINDINGS_AND_RESOURCES} inner join "accounts" on "accounts"."id" = "findings"."account_id" where ${where}${pageOf(params, sort, limit, after)}`,
    params,
  );
}

export async function findFinding(db: Db, organizationId: string, id: string): Promise<FindingWithResource | undefined> {
  const params = new Parameters();
  const rows = await readFindings<FindingWithResource>(db, `select ${FINDING_COLUMNS} ${FROM_FINDINGS_AND_RESOURCES} where "findings"."organization_id" = ${params.add(organizationId)} and "findings"."id" = ${params.add(id)}`, params);
  return rows[0];
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

/** Writes a triage: the finding's status, expiry and note, and its sighting's `updated_at`, in one statement (one round trip, as before 0052). */
export async function updateFindingTriage(
  trx: Trx,
  id: string,
  values: { status: FindingStatus; status_reason: string | null; expires_at: Date | null; note: string | null; updated_at: Date },
): Promise<void> {
  await sql`
    with triaged as (
      update findings set status = ${values.status}, status_reason = ${values.status_reason}, expires_at = ${values.expires_at}, note = ${values.note}
      where id = ${id}
    )
    update finding_sightings set updated_at = ${values.updated_at} where finding_id = ${id}`.execute(trx);
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
    ), reopened as (
      update findings set status = 'open', status_reason = ${reason}, expires_at = null
      from due where findings.id = due.id
      returning findings.id
    )
    update finding_sightings set updated_at = ${now}
    from reopened where finding_sightings.finding_id = reopened.id
    returning finding_sightings.finding_id as id`.execute(trx);
  return result.rows.map((row) => row.id);
}
