import { sql, type Insertable, type SelectQueryBuilder } from 'kysely';
import type { Db } from '../db/database';
import type { AuditRow, Database, ReportFilters, ReportRow, ReportsTable, ReportStatus, ReportType } from '../db/schema';

/** Every column but the file itself. */
const REPORT_COLUMNS = [
  'id', 'organization_id', 'type', 'format', 'status', 'audit_id', 'framework', 'filters', 'provenance', 'error_code', 'error_message',
  'size_bytes', 'sha256', 'file_path', 'created_by', 'created_at', 'started_at', 'generated_at',
] as const;
export type ReportRecord = Omit<ReportRow, 'content'>;

export function insertReport(db: Db, row: Insertable<ReportsTable>): Promise<ReportRecord> {
  return db.insertInto('reports').values(row).returning(REPORT_COLUMNS).executeTakeFirstOrThrow();
}

export function findReport(db: Db, organizationId: string, id: string): Promise<ReportRecord | undefined> {
  return db.selectFrom('reports').select(REPORT_COLUMNS).where('organization_id', '=', organizationId).where('id', '=', id).executeTakeFirst();
}

/** The stored file of a ready report (null when it lives under REPORTS_DIR). */
export async function reportContent(db: Db, organizationId: string, id: string): Promise<Buffer | null> {
  const row = await db.selectFrom('reports').select('content').where('organization_id', '=', organizationId).where('id', '=', id).executeTakeFirst();
  return row?.content ?? null;
}

export interface ReportFilter {
  type?: ReportType;
  status?: ReportStatus;
  auditId?: string;
}

/** The organization's reports, newest first, below the keyset position `beforeId`. */
export function listReports(db: Db, organizationId: string, filter: ReportFilter, limit: number, beforeId?: string): Promise<ReportRecord[]> {
  let query = db.selectFrom('reports').select(REPORT_COLUMNS).where('organization_id', '=', organizationId);
  if (filter.type) query = query.where('type', '=', filter.type);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.auditId) query = query.where('audit_id', '=', filter.auditId);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  return query.orderBy('id', 'desc').limit(limit).execute();
}

/** Deletes the report; answers its file path (under REPORTS_DIR) when it had one, undefined when there was no such report. */
export async function deleteReport(db: Db, organizationId: string, id: string): Promise<{ file_path: string | null } | undefined> {
  return db.deleteFrom('reports').where('organization_id', '=', organizationId).where('id', '=', id).returning('file_path').executeTakeFirst();
}

/** Moves a queued report (or one whose worker died) to `generating`; undefined once it has ended or is gone. */
export function startReportGeneration(db: Db, id: string): Promise<ReportRecord | undefined> {
  return db
    .updateTable('reports')
    .set({ status: 'generating', started_at: new Date() })
    .where('id', '=', id)
    .where('status', 'in', ['queued', 'generating'])
    .returning(REPORT_COLUMNS)
    .executeTakeFirst();
}

/** Records the finished file; false if the report was deleted or ended meanwhile. */
export async function completeReport(
  db: Db,
  id: string,
  file: { sizeBytes: number; sha256: string; content: Buffer | null; filePath: string | null },
): Promise<boolean> {
  const row = await db
    .updateTable('reports')
    .set({ status: 'ready', size_bytes: file.sizeBytes, sha256: file.sha256, content: file.content, file_path: file.filePath, generated_at: new Date() })
    .where('id', '=', id)
    .where('status', '=', 'generating')
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Ends a queued or generating report as failed; false if it had already ended. */
export async function failReport(db: Db, id: string, code: string, message: string): Promise<boolean> {
  const row = await db
    .updateTable('reports')
    .set({ status: 'failed', error_code: code, error_message: message })
    .where('id', '=', id)
    .where('status', 'in', ['queued', 'generating'])
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** The organization's latest succeeded full audit of every account finished before `audit` (what scores are compared with). */
export function findPreviousAudit(db: Db, audit: Pick<AuditRow, 'id' | 'organization_id' | 'finished_at'>): Promise<AuditRow | undefined> {
  return db
    .selectFrom('audits')
    .selectAll()
    .where('organization_id', '=', audit.organization_id)
    .where('status', '=', 'succeeded')
    .where('mode', '=', 'full')
    .where('account_ids', 'is', null)
    .where('id', '<>', audit.id)
    .where('finished_at', '<', audit.finished_at!)
    .orderBy('finished_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

type FindingsOfAudit = SelectQueryBuilder<Database, 'audit_findings' | 'findings', object>;

/** The findings the audit saw failing, within the filters; suppressed ones (declared false positives) left out. */
function findingsOfAudit(db: Db, organizationId: string, auditId: string, filters: ReportFilters): FindingsOfAudit {
  let query = db
    .selectFrom('audit_findings')
    .innerJoin('findings', 'findings.id', 'audit_findings.finding_id')
    .where('audit_findings.audit_id', '=', auditId)
    .where('findings.organization_id', '=', organizationId)
    .where('findings.status', '<>', 'suppressed');
  if (filters.dimensions.length > 0) query = query.where('findings.dimension', 'in', filters.dimensions);
  if (filters.severities.length > 0) query = query.where('findings.severity', 'in', filters.severities);
  if (filters.account_ids.length > 0) query = query.where('findings.account_id', 'in', filters.account_ids);
  return query;
}

/** Findings and their monthly cost by dimension and severity. */
export function countFindings(db: Db, organizationId: string, auditId: string, filters: ReportFilters) {
  return findingsOfAudit(db, organizationId, auditId, filters)
    .select((eb) => [
      'findings.dimension',
      'findings.severity',
      eb.fn.countAll<string>().as('count'),
      eb.fn.sum<string | null>('findings.cost_monthly_usd').as('cost'),
    ])
    .groupBy(['findings.dimension', 'findings.severity'])
    .execute();
}

/**
 * The findings grouped by rule (a policy's findings carry its id as `rule_id`): how many, the
 * most severe rank, their cost, and one finding whose title and remediation stand for the group.
 */
export async function groupFindingsByRule(db: Db, organizationId: string, auditId: string, filters: ReportFilters) {
  const groups = await findingsOfAudit(db, organizationId, auditId, filters)
    .select((eb) => [
      'findings.rule_id',
      eb.fn.countAll<string>().as('count'),
      eb.fn.max('findings.severity_rank').as('severity_rank'),
      eb.fn.sum<string | null>('findings.cost_monthly_usd').as('cost'),
      eb.fn.max('findings.id').as('sample_id'),
    ])
    .groupBy('findings.rule_id')
    .execute();
  const samples = new Map<string, { title: string; description: string; dimension: string; remediation: { text: string; terraform: string | null }; rule_version: number }>();
  const ids = groups.map((g) => g.sample_id);
  for (let i = 0; i < ids.length; i += 1000) {
    const rows = await db
      .selectFrom('findings')
      .select(['id', 'title', 'description', 'dimension', 'remediation', 'rule_version'])
      .where('organization_id', '=', organizationId)
      .where('id', 'in', ids.slice(i, i + 1000))
      .execute();
    for (const row of rows) samples.set(row.id, row);
  }
  return groups.map((group) => ({
    ruleId: group.rule_id,
    count: Number(group.count),
    severityRank: Number(group.severity_rank),
    cost: group.cost === null ? 0 : Number(group.cost),
    sample: samples.get(group.sample_id)!,
  }));
}

const RESOURCE_COLUMNS = ['resources.id as resource_id', 'resources.type', 'resources.name', 'resources.native_id', 'resources.account_id', 'resources.region'] as const;

/** A rule's findings in the audit with their resources, in pages by finding id (what a report lists). */
export async function* findingsOfRule(db: Db, organizationId: string, auditId: string, ruleId: string, filters: ReportFilters, pageSize = 2000) {
  let after = '';
  for (;;) {
    const rows = await findingsOfAudit(db, organizationId, auditId, filters)
      .innerJoin('resources', 'resources.id', 'findings.resource_id')
      .select([...RESOURCE_COLUMNS, 'findings.id as finding_id', 'findings.status', 'findings.cost_monthly_usd', 'findings.evidence'])
      .where('findings.rule_id', '=', ruleId)
      .where('findings.id', '>', after)
      .orderBy('findings.id')
      .limit(pageSize)
      .execute();
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1]!.finding_id;
  }
}

/**
 * The resources of these types the audit evaluated that have no finding of the rule in it and
 * are not among `errored` (the rule could not be evaluated on them): where it passed. In pages by id.
 */
export async function* passingResourcesOfRule(
  db: Db,
  organizationId: string,
  auditId: string,
  rule: { id: string; resourceTypes: readonly string[] },
  errored: readonly string[],
  pageSize = 2000,
) {
  if (rule.resourceTypes.length === 0) return;
  let after = '';
  for (;;) {
    let query = db
      .selectFrom('audit_resources')
      .innerJoin('resources', 'resources.id', 'audit_resources.resource_id')
      .select(RESOURCE_COLUMNS)
      .where('audit_resources.audit_id', '=', auditId)
      .where('resources.organization_id', '=', organizationId)
      .where('resources.type', 'in', rule.resourceTypes)
      .where('audit_resources.resource_id', '>', after)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('audit_findings as af')
              .innerJoin('findings as f', 'f.id', 'af.finding_id')
              .select(sql`1`.as('one'))
              .where('af.audit_id', '=', auditId)
              .where('f.rule_id', '=', rule.id)
              .whereRef('f.resource_id', '=', 'audit_resources.resource_id'),
          ),
        ),
      );
    if (errored.length > 0) query = query.where('audit_resources.resource_id', 'not in', errored);
    const rows = await query.orderBy('audit_resources.resource_id').limit(pageSize).execute();
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1]!.resource_id;
  }
}

/** The names of the audit's accounts (every account of the organization when the audit covered all), by id. */
export async function accountNamesOfAudit(db: Db, audit: Pick<AuditRow, 'organization_id' | 'account_ids'>): Promise<Map<string, string>> {
  let query = db.selectFrom('accounts').select(['id', 'name']).where('organization_id', '=', audit.organization_id);
  if (audit.account_ids) {
    if (audit.account_ids.length === 0) return new Map();
    query = query.where('id', 'in', audit.account_ids);
  }
  const rows = await query.execute();
  return new Map(rows.map((row) => [row.id, row.name]));
}
