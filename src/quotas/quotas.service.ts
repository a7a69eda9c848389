import type { OrganizationLimits } from '../config';
import type { Db, Trx } from '../db/database';
import { AppError, type ErrorDetail } from '../errors';
import {
  countResources,
  countUnfinishedJobs,
  findLimitOverrides,
  lockLimitOverrides,
  sumReportBytes,
  updateLimitOverrides,
} from './quotas.repository';

/** The limits' names in the API (`limits` of a platform organization, `quota` of an error detail). */
export type LimitName = Exclude<NonNullable<ErrorDetail['quota']>, 'risk_acceptance_max_days'>;

const FIELD_OF: Record<LimitName, keyof OrganizationLimits> = {
  resources: 'resources',
  resource_attribute_bytes: 'resourceAttributeBytes',
  queued_jobs: 'queuedJobs',
  report_bytes: 'reportBytes',
};

/** How long a client refused for its queued jobs should wait before asking again. */
const QUEUED_JOBS_RETRY_AFTER_SECONDS = 30;

type Overrides = NonNullable<Awaited<ReturnType<typeof findLimitOverrides>>>;

/** The limits in force: those set for the organization (its row's `max_*`), else `defaults`. */
export function limitsInForce(overrides: Overrides | undefined, defaults: OrganizationLimits): OrganizationLimits {
  return {
    resources: overrides?.max_resources ?? defaults.resources,
    resourceAttributeBytes: overrides?.max_resource_attribute_bytes ?? defaults.resourceAttributeBytes,
    queuedJobs: overrides?.max_queued_jobs ?? defaults.queuedJobs,
    reportBytes: overrides?.max_report_bytes == null ? defaults.reportBytes : Number(overrides.max_report_bytes),
  };
}

/** The organization's limits: those a platform operator set for it, else the configured defaults. */
export async function organizationLimits(db: Db, organizationId: string, defaults: OrganizationLimits): Promise<OrganizationLimits> {
  return limitsInForce(await findLimitOverrides(db, organizationId), defaults);
}

/** Sets (a number) or resets to the default (null) the limits named in `change`. */
export async function setOrganizationLimits(db: Db, organizationId: string, change: Partial<Record<LimitName, number | null>>): Promise<void> {
  await updateLimitOverrides(db, organizationId, {
    ...(change.resources !== undefined ? { max_resources: change.resources } : {}),
    ...(change.resource_attribute_bytes !== undefined ? { max_resource_attribute_bytes: change.resource_attribute_bytes } : {}),
    ...(change.queued_jobs !== undefined ? { max_queued_jobs: change.queued_jobs } : {}),
    ...(change.report_bytes !== undefined ? { max_report_bytes: change.report_bytes } : {}),
  });
}

/**
 * Refuses a new audit, report or queued import when the organization already has as many
 * unfinished as its `queued_jobs` limit: `429 too_many_queued_jobs`. Call it in the transaction
 * that queues the job: the organization's row stays locked until it commits, so concurrent
 * requests cannot all pass on one free place.
 */
export async function assertQueuedJobQuota(trx: Trx, organizationId: string, defaults: OrganizationLimits): Promise<void> {
  const limit = limitsInForce(await lockLimitOverrides(trx, organizationId), defaults).queuedJobs;
  const usage = await countUnfinishedJobs(trx, organizationId);
  if (usage < limit) return;
  throw new AppError(
    'too_many_queued_jobs',
    `This organization has ${usage} audits, reports and imports queued or running, as many as its queued_jobs limit (${limit}); try again when some have finished.`,
    [quotaDetail('queued_jobs', limit, usage, null, `${usage} unfinished of ${limit}`)],
    { 'Retry-After': String(QUEUED_JOBS_RETRY_AFTER_SECONDS) },
  );
}

/** Refuses a new report while the organization's stored reports fill its `report_bytes` limit: `422 quota_exceeded`. */
export async function assertReportStorageQuota(trx: Trx, organizationId: string, defaults: OrganizationLimits): Promise<void> {
  const limit = limitsInForce(await lockLimitOverrides(trx, organizationId), defaults).reportBytes;
  const usage = await sumReportBytes(trx, organizationId);
  if (usage < limit) return;
  throw quotaExceeded(
    'report_bytes',
    limit,
    usage,
    `This organization's reports take ${usage} bytes, its report_bytes limit being ${limit}: delete some reports to make new ones.`,
  );
}

/**
 * After an import has written resources (`changed` of them new or updated, which may bring a gone
 * one back; unchanged ones cannot add any), in its transaction: refuses it
 * with `422 quota_exceeded` when the organization now has more resources than its `resources`
 * limit, so that the transaction rolls back. Imports of one organization check one after the other.
 */
export async function assertResourceQuota(trx: Trx, organizationId: string, defaults: OrganizationLimits, changed: number): Promise<void> {
  if (changed === 0) return;
  const limit = limitsInForce(await lockLimitOverrides(trx, organizationId), defaults).resources;
  const usage = await countResources(trx, organizationId);
  if (usage <= limit) return;
  throw quotaExceeded(
    'resources',
    limit,
    usage,
    `The import would bring this organization to ${usage} resources, over its resources limit of ${limit}; nothing was imported.`,
  );
}

/** The `422 quota_exceeded` of one limit. */
export function quotaExceeded(quota: LimitName, limit: number, usage: number, message: string, details?: ErrorDetail[]): AppError {
  return new AppError('quota_exceeded', message, details ?? [quotaDetail(quota, limit, usage, null, `${usage} of at most ${limit}`)]);
}

export function quotaDetail(quota: NonNullable<ErrorDetail['quota']>, limit: number, usage: number, field: string | null, issue: string): ErrorDetail {
  return { field, issue, quota, limit, usage };
}

/** The limits as the API shows them. */
export function limitsByName(limits: OrganizationLimits): Record<LimitName, number> {
  return Object.fromEntries(Object.entries(FIELD_OF).map(([name, field]) => [name, limits[field]])) as Record<LimitName, number>;
}
