import type { Db } from '../db/database';
import { AppError } from '../errors';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { toOrganization } from './organizations.mapper';
import { findOrganizationById, renameOrganization } from './organizations.repository';

export function organizationHandlers(db: Db): HandlerTable<'getOrganization' | 'updateOrganization'> {
  const getOrganization: OperationHandler<'getOrganization'> = async (_req, res) => {
    const organization = await findOrganizationById(db, principalOf(res).organizationId);
    if (!organization) throw new AppError('not_found', 'The organization no longer exists.');
    res.json(toOrganization(organization));
  };

  const updateOrganization: OperationHandler<'updateOrganization'> = async (req, res) => {
    res.json(toOrganization(await renameOrganization(db, principalOf(res).organizationId, req.body.name.trim())));
  };

  return {
    getOrganization,
    updateOrganization,
  };
}
