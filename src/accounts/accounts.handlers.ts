import type { Db } from '../db/database';
import { AppError } from '../errors';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate } from '../http/pagination';
import { toAccount } from './accounts.mapper';
import { listAccounts, updateAccount } from './accounts.repository';
import { createAccount, removeAccount, requireAccount } from './accounts.service';

export function accountHandlers(db: Db): HandlerTable<'listAccounts' | 'createAccount' | 'getAccount' | 'updateAccount' | 'deleteAccount'> {
  const listAccountsHandler: OperationHandler<'listAccounts'> = async (req, res) => {
    const filter = { provider: req.query.provider };
    res.json(
      await paginate({
        query: req.query,
        binding: { list: 'accounts', ...filter },
        keyKinds: ['id'],
        fetch: (after, limitPlusOne) => listAccounts(db, principalOf(res).organizationId, filter, limitPlusOne, after?.[0]),
        keysOf: (row) => [row.id],
        toItem: toAccount,
      }),
    );
  };

  const createAccountHandler: OperationHandler<'createAccount'> = async (req, res) => {
    const account = await createAccount(db, principalOf(res), req.body);
    res.status(201).location(`/v1/accounts/${account.id}`).json(toAccount(account));
  };

  const getAccount: OperationHandler<'getAccount'> = async (req, res) => {
    res.json(toAccount(await requireAccount(db, principalOf(res), req.params.id)));
  };

  const updateAccountHandler: OperationHandler<'updateAccount'> = async (req, res) => {
    const updated = await updateAccount(db, principalOf(res).organizationId, req.params.id, {
      name: req.body.name?.trim(),
      labels: req.body.labels,
    });
    if (!updated) throw new AppError('not_found', `No account ${req.params.id} in this organization.`);
    res.json(toAccount(updated));
  };

  const deleteAccountHandler: OperationHandler<'deleteAccount'> = async (req, res) => {
    await removeAccount(db, principalOf(res), req.params.id, req.query.force ?? false);
    res.status(204).end();
  };

  return {
    listAccounts: listAccountsHandler,
    createAccount: createAccountHandler,
    getAccount,
    updateAccount: updateAccountHandler,
    deleteAccount: deleteAccountHandler,
  };
}
