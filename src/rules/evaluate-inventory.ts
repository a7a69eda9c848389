import type { Catalogue } from './catalogue';
import { ResourceGraph } from './resource-graph';
import { evaluateRule, type CompiledRule, type RuleOutcome, type RuleResource } from './rule-evaluation';

export interface RuleResult {
  rule: CompiledRule;
  resource: RuleResource;
  outcome: RuleOutcome;
}

/** Every rule of the catalogue that applies to each resource, evaluated with the set's relationships. */
export function* evaluateInventory(catalogue: Catalogue, resources: readonly RuleResource[], now: Date): Generator<RuleResult> {
  const graph = new ResourceGraph(resources);
  for (const resource of resources) {
    const rules = catalogue.rulesFor(resource.type);
    if (rules.length === 0) continue;
    const context = graph.contextOf(resource, now);
    for (const rule of rules) yield { rule, resource, outcome: evaluateRule(rule, resource, context) };
  }
}
