import type { Db } from '../db/database';
import { AppError } from '../errors';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { toOrganizationDetail } from './organizations.mapper';
import { changeOwnOrganization, findOrganizationById } from './organizations.service';

export function organizationHandlers(db: Db, defaults: { riskAcceptanceMaxDays: number }): HandlerTable<'getOrganization' | 'updateOrganization'> {
  const getOrganization: OperationHandler<'getOrganization'> = async (_req, res) => {
    const organization = await findOrganizationById(db, principalOf(res).organizationId);
    if (!organization) throw new AppError('not_found', 'The organization no longer exists.');
    res.json(toOrganizationDetail(organization, defaults));
  };

  const updateOrganization: OperationHandler<'updateOrganization'> = async (req, res) => {
    res.json(toOrganizationDetail(await changeOwnOrganization(db, principalOf(res).organizationId, req.body), defaults));
  };

  return {
    getOrganization,
    updateOrganization,
  };
}
