import type { Db } from '../db/database';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { toComplianceFramework, toComplianceScore, toFrameworkSummary } from './compliance.mapper';
import { complianceAsOf, frameworkComplianceAsOf, listFrameworks } from './compliance.service';

export function complianceHandlers(db: Db): HandlerTable<'listComplianceFrameworks' | 'getComplianceFramework' | 'getComplianceScore'> {
  const listComplianceFrameworks: OperationHandler<'listComplianceFrameworks'> = async (_req, res) => {
    const frameworks = await listFrameworks();
    res.json({ data: frameworks.map(toFrameworkSummary), next_cursor: null, has_more: false });
  };

  const getComplianceFramework: OperationHandler<'getComplianceFramework'> = async (req, res) => {
    const { assessment, framework } = await frameworkComplianceAsOf(db, principalOf(res).organizationId, req.params.id, req.query.audit_id);
    res.json(toComplianceFramework(assessment, framework));
  };

  const getComplianceScore: OperationHandler<'getComplianceScore'> = async (req, res) => {
    res.json(toComplianceScore(await complianceAsOf(db, principalOf(res).organizationId, req.query.audit_id)));
  };

  return {
    listComplianceFrameworks,
    getComplianceFramework,
    getComplianceScore,
  };
}
