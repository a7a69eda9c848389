import { AppError } from '../errors';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { decodeCursor, DEFAULT_LIMIT, toPage } from '../http/pagination';
import { loadCatalogue } from './catalogue';
import { toRule } from './rules.mapper';

export function ruleHandlers(): HandlerTable<'listRules' | 'getRule'> {
  const listRules: OperationHandler<'listRules'> = async (req, res) => {
    const { query } = req;
    const catalogue = await loadCatalogue();
    const limit = query.limit ?? DEFAULT_LIMIT;
    const filter = {
      dimension: query.dimension,
      severity: query.severity,
      provider: query.provider,
      resourceType: query.resource_type,
      framework: query.framework,
    };
    const binding = { list: 'rules', filter };
    const after = query.cursor ? (decodeCursor(query.cursor, binding, ['text'])[0] as string) : undefined;
    const matching = catalogue.rules.filter(
      ({ rule }) =>
        (after === undefined || rule.id > after) &&
        (filter.dimension === undefined || rule.dimension === filter.dimension) &&
        (filter.severity === undefined || rule.severity === filter.severity) &&
        (filter.provider === undefined || rule.provider === filter.provider) &&
        (filter.resourceType === undefined || rule.resource_types.includes(filter.resourceType)) &&
        (filter.framework === undefined || rule.compliance[filter.framework].length > 0),
    );
    res.json(toPage(matching.slice(0, limit + 1), limit, binding, ({ rule }) => [rule.id], (rule) => toRule(rule, catalogue.version)));
  };

  const getRule: OperationHandler<'getRule'> = async (req, res) => {
    const catalogue = await loadCatalogue();
    const rule = catalogue.byId.get(req.params.id);
    if (!rule) throw new AppError('not_found', `No rule ${req.params.id} in the catalogue.`);
    res.json(toRule(rule, catalogue.version));
  };

  return {
    listRules,
    getRule,
  };
}
