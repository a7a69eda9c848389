import { ACCOUNT_WIDE_TYPES } from './account-defaults';
import { parsePath, valueAtSteps, type PathStep } from './attribute-path';
import { runtimeErrorMessage, type CelEngine, type CelVariables, type CompiledExpression } from './cel-engine';
import type { RuleDefinition } from './rule-definition';
import { collectingUnknownReads, UnknownValueError } from './unknown-values';

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
  /**
   * Attribute paths (relative to `attributes`, in the `attr()` syntax) whose values are unknown
   * until apply or were not carried by the import; absent or [] when every value is known.
   */
  unknown_paths?: readonly string[];
  /** The account it belongs to: what `account_defaults` is drawn from (none outside an audit). */
  account_id?: string;
}

/** Account-wide type → the resources of that type in the resource's account (see account-defaults.ts). */
export type AccountDefaults = Readonly<Record<string, readonly RuleResource[]>>;

export interface EvaluationContext {
  /** The resources `resource.relationships` point at. */
  related: readonly RuleResource[];
  /** The resources whose relationships point at `resource`. */
  referencedBy: readonly RuleResource[];
  /** The audit's time: every age is measured from it. */
  now: Date;
  /** The account-wide settings of the resource's account; every account-wide type is present (default: none). */
  accountDefaults?: AccountDefaults;
}

export interface Evidence {
  path: string;
  value: unknown;
}

/**
 * Conditions are true when the resource violates the rule: true → fail, false → pass. A condition
 * that a value unknown until apply leaves undecided is `unknown` (with the unknown paths it read:
 * the resource's own as written in `unknown_paths`, another resource's as `type[native_id].path`);
 * one that cannot be evaluated is `error`.
 */
export type RuleOutcome =
  | { outcome: 'pass' }
  | { outcome: 'fail'; evidence: Evidence[]; monthly_usd: number | null }
  | { outcome: 'unknown'; unknown_paths: string[] }
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

// Most evaluations pass: one outcome object serves them all (frozen, as it is shared).
const PASS: RuleOutcome = Object.freeze({ outcome: 'pass' });

/**
 * Evaluates one rule on one resource. Pure; never throws: a runtime error of the condition
 * (missing key, wrong type) is an `error` outcome for this resource only.
 */
export function evaluateRule(compiled: CompiledRule, resource: RuleResource, context: EvaluationContext): RuleOutcome {
  const variables = celVariables(resource, context);
  const run = runCondition(compiled.condition, variables);
  if ('outcome' in run) return run;
  const violated = run.value;
  if (violated === false) return PASS;
  if (violated !== true) return { outcome: 'error', message: `the condition evaluated to ${describe(violated)}, not a bool` };
  return {
    outcome: 'fail',
    evidence: compiled.evidence.map(({ path, steps }) => ({ path, value: valueAtSteps(resource, steps) ?? null })),
    monthly_usd: compiled.monthlyUsd === null ? null : estimate(compiled.monthlyUsd, variables),
  };
}

/** Every account-wide type with no resource: what a resource outside an account sees. */
export const NO_ACCOUNT_DEFAULTS: AccountDefaults = Object.freeze(Object.fromEntries(ACCOUNT_WIDE_TYPES.map((type) => [type, []])));

// The variables of the last resource and context asked for: an audit evaluates every rule of a
// resource in a row, so they are built once per resource rather than once per evaluation.
let lastVariables: { resource: RuleResource; context: EvaluationContext; variables: CelVariables } | null = null;

/** The variables an expression sees for a resource in a context. */
export function celVariables(resource: RuleResource, context: EvaluationContext): CelVariables {
  if (lastVariables !== null && lastVariables.resource === resource && lastVariables.context === context) return lastVariables.variables;
  const variables = {
    resource: resource as unknown as Record<string, unknown>,
    related: context.related as unknown as Record<string, unknown>[],
    referenced_by: context.referencedBy as unknown as Record<string, unknown>[],
    account_defaults: (context.accountDefaults ?? NO_ACCOUNT_DEFAULTS) as unknown as Record<string, unknown>,
    now: context.now,
  };
  lastVariables = { resource, context, variables };
  return variables;
}

/**
 * Runs a condition (or a selector) on these variables: its value, or the `unknown` / `error`
 * outcome it ends in. The library absorbs errors in `||` and `&&` when the other side decides
 * (`true || e` is true, `false && e` is false, in either order), so a value read as unknown but
 * not needed leaves a decided result; a run that throws after reading an unknown value is
 * `unknown` (unknown wins over error, as in CEL's own unknowns).
 */
export function runCondition(expression: CompiledExpression, variables: CelVariables): { value: unknown } | Extract<RuleOutcome, { outcome: 'unknown' | 'error' }> {
  const run = collectingUnknownReads(variables.resource, expression.run, variables);
  if ('value' in run) return run;
  if (run.reads.length > 0) return { outcome: 'unknown', unknown_paths: [...run.reads].sort() };
  if (run.error instanceof UnknownValueError) return { outcome: 'unknown', unknown_paths: [...run.error.paths] };
  return { outcome: 'error', message: runtimeErrorMessage(run.error) };
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
