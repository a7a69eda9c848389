import type { Db } from '../db/database';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate } from '../http/pagination';
import { toAuditLogEntry } from './audit-log.mapper';
import { chainEntries, listAuditLogRows, type AuditLogFilter } from './audit-log.service';

const dateOf = (value: string | undefined) => (value === undefined ? undefined : new Date(value));

export function auditLogHandlers(db: Db): HandlerTable<'listAuditLogEntries' | 'exportAuditLog'> {
  const listEntries: OperationHandler<'listAuditLogEntries'> = async (req, res) => {
    const { query } = req;
    const filter: AuditLogFilter = { actor: query.actor, action: query.action, target: query.target, since: dateOf(query.since), until: dateOf(query.until) };
    res.json(
      await paginate({
        query,
        binding: { list: 'audit_log', filter: { actor: query.actor, action: query.action, target: query.target, since: query.since, until: query.until } },
        keyKinds: ['integer'],
        fetch: (before, limitPlusOne) => listAuditLogRows(db, principalOf(res).organizationId, filter, limitPlusOne, before?.[0]),
        keysOf: (row) => [Number(row.sequence)],
        toItem: toAuditLogEntry,
      }),
    );
  };

  const exportLog: OperationHandler<'exportAuditLog'> = async (req, res) => {
    const entries = chainEntries(db, principalOf(res).organizationId, { since: dateOf(req.query.since), until: dateOf(req.query.until) });
    res.status(200).type('application/x-ndjson');
    for await (const row of entries) {
      if (!res.write(`${JSON.stringify(toAuditLogEntry(row))}\n`)) await new Promise((resolve) => res.once('drain', resolve));
    }
    res.end();
  };

  return { listAuditLogEntries: listEntries, exportAuditLog: exportLog };
}
