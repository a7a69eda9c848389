import type { Db } from '../db/database';
import { AppError } from '../errors';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate } from '../http/pagination';
import { toPersonalAccessToken } from './tokens.mapper';
import { findToken, listTokens, revokeToken } from './tokens.repository';
import { createPersonalAccessToken } from './tokens.service';

export function tokenHandlers(db: Db, options: { allowNoExpiry: boolean }): HandlerTable<'listTokens' | 'createToken' | 'getToken' | 'deleteToken'> {
  const listTokensHandler: OperationHandler<'listTokens'> = async (req, res) => {
    const { organizationId, userId } = principalOf(res);
    res.json(
      await paginate({
        query: req.query,
        binding: { list: 'tokens' },
        keyKinds: ['id'],
        fetch: (after, limitPlusOne) => listTokens(db, organizationId, userId, limitPlusOne, after?.[0]),
        keysOf: (row) => [row.id],
        toItem: toPersonalAccessToken,
      }),
    );
  };

  const createToken: OperationHandler<'createToken'> = async (req, res) => {
    const { row, secret } = await createPersonalAccessToken(db, principalOf(res), req.body, {
      allowNoExpiry: options.allowNoExpiry,
      now: new Date(),
    });
    res.status(201).location(`/v1/tokens/${row.id}`).json({ ...toPersonalAccessToken(row), token: secret });
  };

  const getToken: OperationHandler<'getToken'> = async (req, res) => {
    const { organizationId, userId } = principalOf(res);
    const token = await findToken(db, organizationId, userId, req.params.id);
    if (!token) throw new AppError('not_found', `You have no token ${req.params.id}.`);
    res.json(toPersonalAccessToken(token));
  };

  const deleteToken: OperationHandler<'deleteToken'> = async (req, res) => {
    const { organizationId, userId } = principalOf(res);
    if (!(await revokeToken(db, organizationId, userId, req.params.id))) {
      throw new AppError('not_found', `You have no token ${req.params.id}.`);
    }
    res.status(204).end();
  };

  return {
    listTokens: listTokensHandler,
    createToken,
    getToken,
    deleteToken,
  };
}
