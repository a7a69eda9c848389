import type { OrganizationLimits } from '../config';
import type { Db } from '../db/database';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate } from '../http/pagination';
import type { JobQueue } from '../jobs/job-queue';
import { requireResource } from '../resources/resources.service';
import { toAudit } from './audits.mapper';
import { listAudits, type AuditFilter } from './audits.repository';
import { cancelAudit, reanalyzeAudit, requireAudit, startAudit } from './audits.service';
import { resourceEvaluations } from './resource-evaluations';

export function auditHandlers(
  db: Db,
  jobs: JobQueue,
  limits: OrganizationLimits,
): HandlerTable<'createAudit' | 'listAudits' | 'getAudit' | 'cancelAudit' | 'reanalyzeAudit' | 'listResourceEvaluations'> {
  const createAudit: OperationHandler<'createAudit'> = async (req, res) => {
    const body = req.body ?? {};
    const audit = await startAudit(db, jobs, principalOf(res), { accountIds: body.account_ids, mode: body.mode ?? 'full' }, limits);
    res.status(202).location(`/v1/audits/${audit.id}`).json(toAudit(audit));
  };

  const listAuditsHandler: OperationHandler<'listAudits'> = async (req, res) => {
    const { query } = req;
    const filter: AuditFilter = {
      status: query.status,
      mode: query.mode,
      accountId: query.account_id,
      createdAfter: query.created_after ? new Date(query.created_after) : undefined,
      createdBefore: query.created_before ? new Date(query.created_before) : undefined,
    };
    res.json(
      await paginate({
        query,
        binding: { list: 'audits', filter },
        keyKinds: ['id'],
        fetch: (before, limitPlusOne) => listAudits(db, principalOf(res).organizationId, filter, limitPlusOne, before?.[0]),
        keysOf: (row) => [row.id],
        toItem: toAudit,
      }),
    );
  };

  const getAudit: OperationHandler<'getAudit'> = async (req, res) => {
    res.json(toAudit(await requireAudit(db, principalOf(res), req.params.id)));
  };

  const cancelAuditHandler: OperationHandler<'cancelAudit'> = async (req, res) => {
    res.json(toAudit(await cancelAudit(db, principalOf(res), req.params.id)));
  };

  const reanalyzeAuditHandler: OperationHandler<'reanalyzeAudit'> = async (req, res) => {
    const audit = await reanalyzeAudit(db, jobs, principalOf(res), req.params.id, limits);
    res.status(202).location(`/v1/audits/${audit.id}`).json(toAudit(audit));
  };

  // The results of a resource's latest audit: audits make them, so audits answer for them.
  const listResourceEvaluationsHandler: OperationHandler<'listResourceEvaluations'> = async (req, res) => {
    const resource = await requireResource(db, principalOf(res).organizationId, req.params.id);
    const evaluations = await resourceEvaluations(db, resource);
    res.json(
      await paginate({
        query: req.query,
        binding: { list: 'resource_evaluations', resource: resource.id },
        keyKinds: ['text'],
        fetch: (after, limitPlusOne) => evaluations.filter((e) => after === undefined || e.rule_id > after[0]).slice(0, limitPlusOne),
        keysOf: (row) => [row.rule_id],
        toItem: (row) => row,
      }),
    );
  };

  return {
    listResourceEvaluations: listResourceEvaluationsHandler,
    createAudit,
    listAudits: listAuditsHandler,
    getAudit,
    cancelAudit: cancelAuditHandler,
    reanalyzeAudit: reanalyzeAuditHandler,
  };
}
