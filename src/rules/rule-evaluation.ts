import { parsePath, valueAtSteps, type PathStep } from './attribute-path';
import { runtimeErrorMessage, type CelEngine, type CompiledExpression } from './cel-engine';
import type { RuleDefinition } from './rule-definition';

/** A resource as rules see it: the canonical shape, with its inventory id when it has one. */
export interface RuleResource {
  id: string | null;
  type: string;
  provider: 'aws' | 'azure' | 'gcp';
  native_id: string;
  region: string | null;
  name: string | null;
  tags: Record<string, string>;
  attributes: Record<string, unknown>;
  relationships: readonly { type: string; resource_native_id: string; resource_types?: readonly string[] }[];
  /** Attributes known only after apply (`versioning[0].enabled`), absent from `attributes`; not used by evaluation yet. */
  unknown_paths?: readonly string[];
}

export interface EvaluationContext {
  /** The resources `resource.relationships` point at. */
  related: readonly RuleResource[];
  /** The resources whose relationships point at `resource`. */
  referencedBy: readonly RuleResource[];
  /** The audit's time: every age is measured from it. */
  now: Date;
}

export interface Evidence {
  path: string;
  value: unknown;
}

/** Conditions are true when the resource violates the rule: true → fail, false → pass. */
export type RuleOutcome =
  | { outcome: 'pass' }
  | { outcome: 'fail'; evidence: Evidence[]; monthly_usd: number | null }
  | { outcome: 'error'; message: string };

export interface CompiledRule {
  readonly rule: RuleDefinition;
  readonly condition: CompiledExpression;
  /** The monthly cost estimate of a failing resource (cost rules), else null. */
  readonly monthlyUsd: CompiledExpression | null;
  readonly evidence: readonly { path: string; steps: PathStep[] }[];
}

/** Compiles a rule's expressions once; throws InvalidExpressionError. */
export function compileRule(engine: CelEngine, rule: RuleDefinition): CompiledRule {
  return {
    rule,
    condition: engine.compileCondition(rule.condition),
    monthlyUsd: rule.cost === null ? null : engine.compileExpression(rule.cost.monthly_usd, 'double'),
    evidence: rule.evidence.map((path) => ({ path, steps: parsePath(path) })),
  };
}

/**
 * Evaluates one rule on one resource. Pure; never throws: a runtime error of the condition
 * (missing key, wrong type) is an `error` outcome for this resource only.
 */
export function evaluateRule(compiled: CompiledRule, resource: RuleResource, context: EvaluationContext): RuleOutcome {
  const variables = { resource: resource as unknown as Record<string, unknown>, related: context.related as unknown as Record<string, unknown>[], referenced_by: context.referencedBy as unknown as Record<string, unknown>[], now: context.now };
  let violated: unknown;
  try {
    violated = compiled.condition.run(variables);
  } catch (error) {
    return { outcome: 'error', message: runtimeErrorMessage(error) };
  }
  if (violated === false) return { outcome: 'pass' };
  if (violated !== true) return { outcome: 'error', message: `the condition evaluated to ${describe(violated)}, not a bool` };
  return {
    outcome: 'fail',
    evidence: compiled.evidence.map(({ path, steps }) => ({ path, value: valueAtSteps(resource, steps) ?? null })),
    monthly_usd: compiled.monthlyUsd === null ? null : estimate(compiled.monthlyUsd, variables),
  };
}

// A cost estimate that cannot be computed leaves the finding standing without a figure: the
// violation is what matters, and the catalogue tests require every cost rule's estimate to work.
/** The largest `cost_impact.monthly_usd` the API describes. */
const MAX_MONTHLY_USD = 1_000_000_000;

function estimate(expression: CompiledExpression, variables: Parameters<CompiledExpression['run']>[0]): number | null {
  try {
    const value = expression.run(variables);
    const amount = typeof value === 'bigint' ? Number(value) : value;
    // A figure outside what a saving can be (negative, absurdly large: odd attribute values) is no estimate.
    const plausible = typeof amount === 'number' && Number.isFinite(amount) && amount >= 0 && amount <= MAX_MONTHLY_USD;
    return plausible ? Math.round(amount * 100) / 100 : null;
  } catch {
    return null;
  }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  return typeof value === 'object' ? (Array.isArray(value) ? 'a list' : 'a map') : `a ${typeof value}`;
}
