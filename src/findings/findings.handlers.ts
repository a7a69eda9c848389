import type { Db } from '../db/database';
import type { FindingStatus } from '../db/schema';
import { AppError } from '../errors';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate, type CursorKeyKind } from '../http/pagination';
import { findResource } from '../resources/resources.repository';
import { SEVERITIES, type Severity } from '../rules/rule-definition';
import { toFinding, toFindingEvent } from './findings.mapper';
import { listFindingEvents, listFindings, sortKeyOf, type FindingFilter, type FindingSort, type FindingSortField } from './findings.repository';
import { requireFinding, triageFinding, triageFindings } from './findings.service';

const STATUSES: readonly FindingStatus[] = ['open', 'resolved', 'suppressed', 'risk_accepted'];

const CURSOR_KEY_KINDS: Record<FindingSortField, CursorKeyKind> = {
  severity: 'integer',
  first_seen_at: 'timestamp',
  last_seen_at: 'timestamp',
  cost_impact: 'number',
};

/**
 * The values of a comma-separated filter; an unknown one answers `code` naming the allowed ones.
 * The spec declares these filters as plain strings, so that this message, not the validator's, is the answer.
 */
function parseList<T extends string>(value: string | undefined, name: string, allowed: readonly T[], code: 'invalid_severity_filter' | 'invalid_filter'): T[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((item) => item.trim());
  const unknown = items.filter((item) => !(allowed as readonly string[]).includes(item));
  if (unknown.length > 0) {
    throw new AppError(
      code,
      `${name} must be one of: ${allowed.join(', ')}`,
      unknown.map((item) => ({ field: `query.${name}`, issue: `unknown ${name}: ${item || '(empty)'}` })),
    );
  }
  return [...new Set(items as T[])];
}

interface ListQuery {
  limit?: number;
  cursor?: string;
  severity?: string;
  min_severity?: Severity;
  dimension?: FindingFilter['dimension'];
  status?: string;
  rule_id?: string;
  policy_id?: string;
  sort?: string;
}

function commonFilter(query: ListQuery): FindingFilter {
  return {
    severityRanks: parseList(query.severity, 'severity', SEVERITIES, 'invalid_severity_filter')?.map((severity) => SEVERITIES.indexOf(severity)),
    minSeverityRank: query.min_severity === undefined ? undefined : SEVERITIES.indexOf(query.min_severity),
    dimension: query.dimension,
    statuses: parseList(query.status, 'status', STATUSES, 'invalid_filter'),
    ruleId: query.rule_id,
    policyId: query.policy_id,
  };
}

export function findingHandlers(db: Db): HandlerTable<'listFindings' | 'updateFindings' | 'getFinding' | 'updateFinding' | 'listFindingEvents' | 'listResourceFindings'> {
  /** A page of findings matching `filter`, its cursor bound to `binding` (the list, its filters and sort). */
  const page = async (organizationId: string, query: ListQuery, filter: FindingFilter, binding: object) => {
    const sortParam = query.sort ?? '-severity';
    const sort: FindingSort = { field: sortParam.replace(/^-/, '') as FindingSortField, descending: sortParam.startsWith('-') };
    const bound = { ...binding, filter, sort };
    return paginate({
      query,
      binding: bound,
      keyKinds: [CURSOR_KEY_KINDS[sort.field], 'id'],
      fetch: (after, limitPlusOne) => listFindings(db, organizationId, filter, sort, limitPlusOne, after),
      keysOf: (row) => [sortKeyOf(row, sort.field), row.id],
      toItem: toFinding,
    });
  };

  const listFindingsHandler: OperationHandler<'listFindings'> = async (req, res) => {
    const { query } = req;
    const filter: FindingFilter = {
      ...commonFilter(query),
      resourceId: query.resource_id,
      resourceType: query.resource_type,
      accountId: query.account_id,
      auditId: query.audit_id,
      region: query.region,
      framework: query.framework,
      control: query.control,
      firstSeenAfter: query.first_seen_after ? new Date(query.first_seen_after) : undefined,
      firstSeenBefore: query.first_seen_before ? new Date(query.first_seen_before) : undefined,
      q: query.q,
    };
    res.json(await page(principalOf(res).organizationId, query, filter, { list: 'findings' }));
  };

  const listResourceFindingsHandler: OperationHandler<'listResourceFindings'> = async (req, res) => {
    const { organizationId } = principalOf(res);
    const resource = await findResource(db, organizationId, req.params.id);
    if (!resource) throw new AppError('not_found', `No resource ${req.params.id} in this organization.`);
    const filter: FindingFilter = { ...commonFilter(req.query), resourceId: resource.id };
    res.json(await page(organizationId, req.query, filter, { list: 'resource_findings' }));
  };

  const getFinding: OperationHandler<'getFinding'> = async (req, res) => {
    res.json(toFinding(await requireFinding(db, principalOf(res).organizationId, req.params.id)));
  };

  const updateFinding: OperationHandler<'updateFinding'> = async (req, res) => {
    res.json(toFinding(await triageFinding(db, principalOf(res), req.params.id, req.body)));
  };

  const updateFindings: OperationHandler<'updateFindings'> = async (req, res) => {
    res.json({ results: await triageFindings(db, principalOf(res), req.body.ids, req.body.change) });
  };

  const listFindingEventsHandler: OperationHandler<'listFindingEvents'> = async (req, res) => {
    const finding = await requireFinding(db, principalOf(res).organizationId, req.params.id);
    res.json(
      await paginate({
        query: req.query,
        binding: { list: 'finding_events', finding: finding.id },
        keyKinds: ['id'],
        fetch: (after, limitPlusOne) => listFindingEvents(db, finding.id, limitPlusOne, after?.[0]),
        keysOf: (row) => [row.id],
        toItem: toFindingEvent,
      }),
    );
  };

  return {
    listFindings: listFindingsHandler,
    updateFindings,
    getFinding,
    updateFinding,
    listFindingEvents: listFindingEventsHandler,
    listResourceFindings: listResourceFindingsHandler,
  };
}
