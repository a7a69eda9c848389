import { AppError } from '../errors';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate } from '../http/pagination';
import { loadCatalogue } from './catalogue';
import { toRule } from './rules.mapper';

export function ruleHandlers(): HandlerTable<'listRules' | 'getRule'> {
  const listRules: OperationHandler<'listRules'> = async (req, res) => {
    const { query } = req;
    const catalogue = await loadCatalogue();
    const filter = {
      dimension: query.dimension,
      severity: query.severity,
      provider: query.provider,
      resourceType: query.resource_type,
      framework: query.framework,
    };
    const matching = (after: string | undefined) =>
      catalogue.rules.filter(
        ({ rule }) =>
          (after === undefined || rule.id > after) &&
          (filter.dimension === undefined || rule.dimension === filter.dimension) &&
          (filter.severity === undefined || rule.severity === filter.severity) &&
          (filter.provider === undefined || rule.provider === filter.provider) &&
          (filter.resourceType === undefined || rule.resource_types.includes(filter.resourceType)) &&
          (filter.framework === undefined || rule.compliance[filter.framework].length > 0),
      );
    res.json(
      await paginate({
        query,
        binding: { list: 'rules', filter },
        keyKinds: ['text'],
        fetch: (after, limitPlusOne) => matching(after?.[0]).slice(0, limitPlusOne),
        keysOf: ({ rule }) => [rule.id],
        toItem: (rule) => toRule(rule, catalogue.version),
      }),
    );
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
