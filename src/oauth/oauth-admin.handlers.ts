import type { Db } from '../db/database';
import { AppError } from '../errors';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate } from '../http/pagination';
import { registerClient } from './oauth-clients.service';
import { toAuthorizationResource, toOAuthClientResource } from './oauth.mapper';
import { deleteAuthorization, deleteClient, findClient, listAuthorizations, listClients } from './oauth.repository';

/** `/v1/oauth-clients` (admins manage the organization's apps) and `/v1/authorizations` (users, their approvals). */
export function oauthAdminHandlers(db: Db): HandlerTable<'listOAuthClients' | 'createOAuthClient' | 'getOAuthClient' | 'deleteOAuthClient' | 'listAuthorizations' | 'deleteAuthorization'> {
  const listOAuthClients: OperationHandler<'listOAuthClients'> = async (req, res) => {
    const { organizationId } = principalOf(res);
    res.json(
      await paginate({
        query: req.query,
        binding: { list: 'oauth-clients' },
        keyKinds: ['id'],
        fetch: (after, limitPlusOne) => listClients(db, organizationId, limitPlusOne, after?.[0]),
        keysOf: (row) => [row.id],
        toItem: toOAuthClientResource,
      }),
    );
  };

  const createOAuthClient: OperationHandler<'createOAuthClient'> = async (req, res) => {
    const { row, secret } = await registerClient(db, principalOf(res).organizationId, req.body);
    res.status(201).location(`/v1/oauth-clients/${row.id}`).json({ ...toOAuthClientResource(row), client_secret: secret });
  };

  const getOAuthClient: OperationHandler<'getOAuthClient'> = async (req, res) => {
    const row = await findClient(db, principalOf(res).organizationId, req.params.id);
    if (!row) throw new AppError('not_found', `No OAuth client ${req.params.id} in your organization.`);
    res.json(toOAuthClientResource(row));
  };

  const deleteOAuthClient: OperationHandler<'deleteOAuthClient'> = async (req, res) => {
    const deleted = await deleteClient(db, principalOf(res).organizationId, req.params.id);
    if (!deleted) throw new AppError('not_found', `No OAuth client ${req.params.id} in your organization.`);
    res.status(204).end();
  };

  const listAuthorizationsHandler: OperationHandler<'listAuthorizations'> = async (req, res) => {
    const { organizationId, userId } = principalOf(res);
    res.json(
      await paginate({
        query: req.query,
        binding: { list: 'authorizations' },
        keyKinds: ['id'],
        fetch: (after, limitPlusOne) => listAuthorizations(db, organizationId, userId, limitPlusOne, after?.[0]),
        keysOf: (row) => [row.id],
        toItem: toAuthorizationResource,
      }),
    );
  };

  const deleteAuthorizationHandler: OperationHandler<'deleteAuthorization'> = async (req, res) => {
    const { organizationId, userId } = principalOf(res);
    const deleted = await deleteAuthorization(db, organizationId, userId, req.params.id);
    if (!deleted) throw new AppError('not_found', `You have no authorization ${req.params.id}.`);
    res.status(204).end();
  };

  return {
    listOAuthClients,
    createOAuthClient,
    getOAuthClient,
    deleteOAuthClient,
    listAuthorizations: listAuthorizationsHandler,
    deleteAuthorization: deleteAuthorizationHandler,
  };
}
