import type { operations } from '../../generated/openapi';
import type { FindingStatus } from '../db/schema';
import { AppError } from '../errors';
import type { Schemas } from '../http/contract';
import { SEVERITIES } from '../rules/rule-definition';
import type { FindingFilter, FindingSort, FindingSortField } from './findings.repository';

/** The query of `GET /v1/findings`. */
export type ListFindingsQuery = NonNullable<operations['listFindings']['parameters']['query']>;
/** The query of `GET /v1/resources/{id}/findings`. */
export type ListResourceFindingsQuery = NonNullable<operations['listResourceFindings']['parameters']['query']>;
/** The filters every findings list has (`policy_id` only `GET /v1/findings`). */
type CommonQuery = Pick<ListFindingsQuery, 'severity' | 'min_severity' | 'dimension' | 'status' | 'rule_id' | 'policy_id'>;

const STATUSES: readonly FindingStatus[] = ['open', 'resolved', 'suppressed', 'risk_accepted'];

/** The filter of `GET /v1/findings`; 422 `invalid_severity_filter` or `invalid_filter` for an unknown severity or status. */
export function findingListFilter(query: ListFindingsQuery): FindingFilter {
  return {
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
}

/** The filter of `GET /v1/resources/{id}/findings`, for the resource `resourceId`. */
export function resourceFindingFilter(query: ListResourceFindingsQuery, resourceId: string): FindingFilter {
  return { ...commonFilter(query), resourceId };
}

/** The order `sort` asks for (`-severity` when none): a field, descending with a leading `-`. */
export function findingSort(sort: Schemas['FindingSort'] | undefined = '-severity'): FindingSort {
  return { field: sort.replace(/^-/, '') as FindingSortField, descending: sort.startsWith('-') };
}

function commonFilter(query: CommonQuery): FindingFilter {
  return {
    severityRanks: parseList(query.severity, 'severity', SEVERITIES, 'invalid_severity_filter')?.map((severity) => SEVERITIES.indexOf(severity)),
    minSeverityRank: query.min_severity === undefined ? undefined : SEVERITIES.indexOf(query.min_severity),
    dimension: query.dimension,
    statuses: parseList(query.status, 'status', STATUSES, 'invalid_filter'),
    ruleId: query.rule_id,
    policyId: query.policy_id,
  };
}

/**
 * The values of a comma-separated filter, without repeats; an unknown one answers `code` naming
 * the allowed ones. The spec declares these filters as plain strings, so that this message, not
 * the validator's, is the answer.
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
