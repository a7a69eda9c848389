import type { IncomingMessage } from 'node:http';
import { requireAccount } from '../accounts/accounts.service';
import type { Db } from '../db/database';
import { AppError } from '../errors';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate } from '../http/pagination';
import { toImport } from './imports.mapper';
import { findImport, listImports } from './imports.repository';
import { importInventory, type ImportSettings } from './imports.service';

const sentBodies = new WeakMap<IncomingMessage, Buffer>();

/**
 * For express.json's `verify` on import bodies: keeps the bytes of a UTF-8 body (a reference to
 * the buffer the parser reads, no copy), so that a queued import can store the file as it was sent.
 */
export function keepImportBody(req: IncomingMessage, _res: unknown, body: Buffer, encoding: string): void {
  if (encoding.toLowerCase() === 'utf-8' || encoding.toLowerCase() === 'utf8') sentBodies.set(req, body);
}

export function importHandlers(db: Db, settings: ImportSettings): HandlerTable<'createImport' | 'listAccountImports' | 'getImport'> {
  const createImport: OperationHandler<'createImport'> = async (req, res) => {
    const principal = principalOf(res);
    const account = await requireAccount(db, principal, req.params.id);
    const created = await importInventory(db, settings, principal, account, {
      format: req.query.format,
      mode: req.query.mode ?? 'incremental',
      document: req.body,
      sent: sentBodies.get(req),
    });
    res
      .status(created.status === 'queued' ? 202 : 201)
      .location(`/v1/imports/${created.id}`)
      .json(toImport(created));
  };

  const listAccountImports: OperationHandler<'listAccountImports'> = async (req, res) => {
    const principal = principalOf(res);
    const account = await requireAccount(db, principal, req.params.id);
    res.json(
      await paginate({
        query: req.query,
        binding: { list: 'imports', account: account.id },
        keyKinds: ['id'],
        fetch: (before, limitPlusOne) => listImports(db, principal.organizationId, account.id, limitPlusOne, before?.[0]),
        keysOf: (row) => [row.id],
        toItem: toImport,
      }),
    );
  };

  const getImport: OperationHandler<'getImport'> = async (req, res) => {
    const found = await findImport(db, principalOf(res).organizationId, req.params.id);
    if (!found) throw new AppError('not_found', `No import ${req.params.id} in this organization.`);
    res.json(toImport(found));
  };

  return {
    createImport,
    listAccountImports,
    getImport,
  };
}
