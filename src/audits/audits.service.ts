import { existingAccountIds } from '../accounts/accounts.service';
import type { OrganizationLimits } from '../config';
import type { Principal } from '../http/principal';
import type { Db } from '../db/database';
import type { AuditRow } from '../db/schema';
import { AppError } from '../errors';
import { newId } from '../ids';
import { QUEUES, type JobQueue } from '../jobs/job-queue';
import { assertQueuedJobQuota } from '../quotas/quotas.service';
import { endAudit, findAudit, insertAudit } from './audits.repository';

// Queries other features use as they are.
export { findAudit, latestSucceededAudit } from './audits.repository';

export interface AuditJob {
  audit_id: string;
}

/** Queues an audit of the given accounts (all of them when absent); 404 names an unknown one. */
export async function startAudit(
  db: Db,
  jobs: JobQueue,
  principal: Principal,
  input: { accountIds: string[] | undefined; mode: 'full' | 'incremental' },
  limits: OrganizationLimits,
): Promise<AuditRow> {
  const accountIds = input.accountIds ? [...new Set(input.accountIds)] : null;
  if (accountIds) {
    const known = await existingAccountIds(db, principal.organizationId, accountIds);
    const unknown = accountIds.filter((id) => !known.has(id));
    if (unknown.length > 0) {
      throw new AppError('not_found', `No account ${unknown.join(', ')} in this organization.`, unknown.map((id) => ({ field: 'body.account_ids', issue: `unknown account ${id}` })));
    }
  }
  return queueAudit(db, jobs, principal, { mode: input.mode, account_ids: accountIds, parent_audit_id: null }, limits);
}

/** Queues a new audit of the same resource versions as `parentId`, with the current rules. */
export async function reanalyzeAudit(db: Db, jobs: JobQueue, principal: Principal, parentId: string, limits: OrganizationLimits): Promise<AuditRow> {
  const parent = await requireAudit(db, principal, parentId);
  if (parent.status !== 'succeeded') {
    throw new AppError('audit_not_finished', `Audit ${parent.id} is ${parent.status}; only a succeeded audit records the resource versions to reanalyze.`);
  }
  return queueAudit(db, jobs, principal, { mode: 'reanalysis', account_ids: parent.account_ids, parent_audit_id: parent.id }, limits);
}

/** Cancels a queued or running audit; a finished one answers 409 `audit_not_cancelable`. */
export async function cancelAudit(db: Db, principal: Principal, id: string): Promise<AuditRow> {
  const audit = await requireAudit(db, principal, id);
  const canceled = await endAudit(db, audit.id, { status: 'canceled' });
  if (!canceled) throw new AppError('audit_not_cancelable', `Audit ${audit.id} has already ended; only a queued or running audit can be canceled.`);
  return (await findAudit(db, principal.organizationId, id))!;
}

export async function requireAudit(db: Db, principal: Principal, id: string): Promise<AuditRow> {
  const audit = await findAudit(db, principal.organizationId, id);
  if (!audit) throw new AppError('not_found', `No audit ${id} in this organization.`);
  return audit;
}

async function queueAudit(
  db: Db,
  jobs: JobQueue,
  principal: Principal,
  audit: { mode: AuditRow['mode']; account_ids: string[] | null; parent_audit_id: string | null },
  limits: OrganizationLimits,
): Promise<AuditRow> {
  await jobs.start();
  const queued = await db.transaction().execute(async (trx) => {
    await assertQueuedJobQuota(trx, principal.organizationId, limits);
    const row = await insertQueuedAudit(trx, principal, audit);
    await jobs.send(QUEUES.audits, { audit_id: row.id } satisfies AuditJob, trx, principal.organizationId);
    return row;
  });
  jobs.wake(QUEUES.audits);
  return queued;
}

/** The audit row of a queued audit; whoever calls it runs the audit (a queued job, or `runAudit` in-process). */
export function insertQueuedAudit(
  db: Db,
  principal: Pick<Principal, 'organizationId' | 'userId'>,
  audit: { mode: AuditRow['mode']; account_ids: string[] | null; parent_audit_id: string | null },
): Promise<AuditRow> {
  return insertAudit(db, {
    id: newId('aud'),
    organization_id: principal.organizationId,
    parent_audit_id: audit.parent_audit_id,
    mode: audit.mode,
    account_ids: audit.account_ids && JSON.stringify(audit.account_ids),
    status: 'queued',
    error_code: null,
    error_message: null,
    catalogue_version: null,
    rule_versions: null,
    summary: null,
    created_by: principal.userId,
    created_at: new Date(),
    started_at: null,
    finished_at: null,
  });
}
