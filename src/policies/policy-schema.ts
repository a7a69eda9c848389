import type { Schemas } from '../http/contract';
import type { Catalogue } from '../rules/catalogue';
import { EXPRESSION_LIMITS } from '../rules/cel-engine';
import { CEL_FUNCTIONS, CEL_VARIABLES } from '../rules/cel-functions';
import { knownResourceTypes } from './policies.service';
import { providerOfType } from '../providers';
import { POLICY_RUN_LIMITS } from '../rules/rule-set';

/** The dialect as `GET /v1/policies/schema` serves it: the engine's own lists, and what the catalogue reads per type. */
export function policySchema(catalogue: Catalogue): Schemas['PolicySchema'] {
  return {
    variables: CEL_VARIABLES.map(({ name, type, description }) => ({ name, type, description })),
    functions: CEL_FUNCTIONS.map(({ name, signature, description, example }) => ({ name, signature, description, example })),
    limits: {
      max_length: EXPRESSION_LIMITS.maxLength,
      max_ast_nodes: EXPRESSION_LIMITS.maxAstNodes,
      max_depth: EXPRESSION_LIMITS.maxDepth,
      max_comprehension_nesting: EXPRESSION_LIMITS.maxComprehensionNesting,
      max_estimated_cost: EXPRESSION_LIMITS.maxEstimatedCost,
      evaluation_time_limit_ms: POLICY_RUN_LIMITS.evaluationTimeLimitMs,
      policy_time_budget_ms: POLICY_RUN_LIMITS.policyTimeBudgetMs,
      policies_time_budget_ms: POLICY_RUN_LIMITS.policiesTimeBudgetMs,
    },
    resource_types: [...knownResourceTypes(catalogue)].sort().map((type) => {
      const rules = catalogue.rulesFor(type);
      const attributes = new Set<string>();
      for (const { rule } of rules) {
        for (const path of rule.evidence) attributes.add(path);
        // Literal paths given to attr() in conditions: what the rules read beyond their evidence.
        for (const match of rule.condition.matchAll(/attr\(resource, '([^']+)'/g)) attributes.add(match[1]!);
      }
      return { type, provider: providerOfType(type)!, attributes: [...attributes].sort(), rules: rules.map((r) => r.rule.id) };
    }),
  };
}
