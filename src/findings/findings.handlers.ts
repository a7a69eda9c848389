import type { Db } from '../db/database';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate, type CursorKeyKind } from '../http/pagination';
import { requireResource } from '../resources/resources.service';
import { toFinding, toFindingEvent } from './findings.mapper';
import { listFindingEvents, listFindings, sortKeyOf, type FindingFilter, type FindingSort, type FindingSortField } from './findings.repository';
import { findingListFilter, findingSort, resourceFindingFilter } from './findings.query';
import { findingExportPages, requireFinding, triageFinding, triageFindings, type TriageSettings } from './findings.service';
import { exportWriter } from './finding-export-formats';
import { loadCatalogue } from '../rules/catalogue';

const CURSOR_KEY_KINDS: Record<FindingSortField, CursorKeyKind> = {
  severity: 'integer',
  first_seen_at: 'timestamp',
  last_seen_at: 'timestamp',
  cost_impact: 'number',
};

export function findingHandlers(db: Db, settings: TriageSettings): HandlerTable<'listFindings' | 'exportFindings' | 'updateFindings' | 'getFinding' | 'updateFinding' | 'listFindingEvents' | 'listResourceFindings'> {
  /** A page of findings matching `filter` in `sort` order, its cursor bound to `binding` (the list), the filter and the sort. */
  const page = (organizationId: string, query: { limit?: number; cursor?: string }, filter: FindingFilter, sort: FindingSort, binding: object) =>
    paginate({
      query,
      binding: { ...binding, filter, sort },
      keyKinds: [CURSOR_KEY_KINDS[sort.field], 'id'],
      fetch: (after, limitPlusOne) => listFindings(db, organizationId, filter, sort, limitPlusOne, after),
      keysOf: (row) => [sortKeyOf(row, sort.field), row.id],
      toItem: toFinding,
    });

  const listFindingsHandler: OperationHandler<'listFindings'> = async (req, res) => {
    const { query } = req;
    res.json(await page(principalOf(res).organizationId, query, findingListFilter(query), findingSort(query.sort), { list: 'findings' }));
  };

  const exportFindings: OperationHandler<'exportFindings'> = async (req, res) => {
    const { query } = req;
    const filter = findingListFilter(query);
    const sort = findingSort(query.sort);
    const catalogue = await loadCatalogue();
    const writer = exportWriter(query.format, {
      rules: catalogue.rules.map(({ rule }) => rule),
      catalogueVersion: catalogue.version,
      awsRegion: query.aws_region ?? 'us-east-1',
    });
    const pages = findingExportPages(db, principalOf(res).organizationId, filter, sort);
    // The first page is read before the headers go out, so that a failing query still answers an error.
    const first = await pages.next();
    res.status(200);
    res.setHeader('Content-Type', writer.contentType);
    res.setHeader('Content-Disposition', `attachment; filename="${writer.fileName}"`);
    let closed = false;
    res.once('close', () => (closed = true));
    const send = async (text: string) => {
      if (text === '' || res.write(text) || closed) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done).off('close', done);
          resolve();
        };
        res.once('drain', done).once('close', done);
      });
    };
    await send(writer.start());
    if (!first.done) await send(writer.page(first.value));
    for await (const rows of pages) {
      if (closed) return;
      await send(writer.page(rows));
    }
    res.end(writer.end());
  };

  const listResourceFindingsHandler: OperationHandler<'listResourceFindings'> = async (req, res) => {
    const { query } = req;
    const { organizationId } = principalOf(res);
    const resource = await requireResource(db, organizationId, req.params.id);
    res.json(await page(organizationId, query, resourceFindingFilter(query, resource.id), findingSort(query.sort), { list: 'resource_findings' }));
  };

  const getFinding: OperationHandler<'getFinding'> = async (req, res) => {
    res.json(toFinding(await requireFinding(db, principalOf(res).organizationId, req.params.id)));
  };

  const updateFinding: OperationHandler<'updateFinding'> = async (req, res) => {
    res.json(toFinding(await triageFinding(db, principalOf(res), req.params.id, req.body, settings)));
  };

  const updateFindings: OperationHandler<'updateFindings'> = async (req, res) => {
    res.json({ results: await triageFindings(db, principalOf(res), req.body.ids, req.body.change, settings) });
  };

  const listFindingEventsHandler: OperationHandler<'listFindingEvents'> = async (req, res) => {
    const finding = await requireFinding(db, principalOf(res).organizationId, req.params.id);
    res.json(
      await paginate({
        query: req.query,
        binding: { list: 'finding_events', finding: finding.id },
        keyKinds: ['id'],
        fetch: (after, limitPlusOne) => listFindingEvents(db, finding.id, limitPlusOne, after?.[0]),
        keysOf: (row) => [row.id],
        toItem: toFindingEvent,
      }),
    );
  };

  return {
    listFindings: listFindingsHandler,
    exportFindings,
    updateFindings,
    getFinding,
    updateFinding,
    listFindingEvents: listFindingEventsHandler,
    listResourceFindings: listResourceFindingsHandler,
  };
}
