import { Router } from 'express';
import type { Db } from '../db/database';
import { principalOf } from '../http/authenticate';
import type { OperationHandler } from '../http/contract';
import { toComplianceFramework, toComplianceScore, toFrameworkSummary } from './compliance.mapper';
import { complianceAsOf, frameworkComplianceAsOf, listFrameworks } from './compliance.service';

export function complianceRoutes(db: Db): Router {
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

  return Router()
    .get('/v1/compliance/frameworks', listComplianceFrameworks)
    .get('/v1/compliance/frameworks/:id', getComplianceFramework)
    .get('/v1/compliance/score', getComplianceScore);
}
