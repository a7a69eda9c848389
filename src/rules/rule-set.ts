import { providerOfType } from '../providers';
import type { AppliedPolicyVersion, CustomPolicyData, OverridePolicyData, PolicyKind } from '../db/schema';
import { EXPRESSION_LIMITS, type CelEngine, type CelVariables, type CompiledExpression } from './cel-engine';
import type { Catalogue } from './catalogue';
import { FRAMEWORK_IDS, type FrameworkId, type RuleDefinition, type Severity } from './rule-definition';
import { celVariables, compileRule, evaluateRule, runCondition, type CompiledRule, type EvaluationContext, type RuleOutcome, type RuleResource } from './rule-evaluation';

/** A policy as audits and dry runs apply it (one version of it). */
export interface PolicyDefinition {
  id: string;
  version: number;
  kind: PolicyKind;
  custom: CustomPolicyData | null;
  override: OverridePolicyData | null;
}

/** The bounds at run time (see the Policies tag in the spec); a dry run and an audit each get a fresh budget. */
export const POLICY_RUN_LIMITS = {
  /** One evaluation slower than this is an error on that resource (its result is dropped). */
  evaluationTimeLimitMs: 100,
  /** Once a policy has spent this in one run, its remaining evaluations are errors without running. */
  policyTimeBudgetMs: 10_000,
  /** The same for all the organization's policies together, however many there are. */
  policiesTimeBudgetMs: 60_000,
};

/** A resource as an audit or a dry run sees it: the rules' view with its account. */
export type PolicyResource = RuleResource & { id: string; account_id: string };

/** One rule as this organization applies it: a built-in rule (with its overrides) or a custom policy. */
export interface EffectiveRule {
  /** What findings.rule_id holds: the built-in rule's id, or the custom policy's id. */
  key: string;
  /** The rule with its effective severity. */
  compiled: CompiledRule;
  /** The custom policy behind it; null for built-in rules. */
  policy: AppliedPolicyVersion | null;
  overrides: readonly CompiledOverride[];
}

interface CompiledOverride {
  policyId: string;
  disabled: boolean;
  accounts: ReadonlySet<string> | null;
  types: ReadonlySet<string> | null;
  tags: readonly [string, string][];
  exceptions: readonly { selector: CompiledExpression; reason: string }[];
}

/** A rule's outcome on a resource, or `skipped`: an override keeps the rule off it. */
export type PolicyOutcome = RuleOutcome | { outcome: 'skipped'; reason: string };

export const EXCEPTED_BY_POLICY = 'excepted_by_policy';

/** A custom policy as a rule definition: its id is the policy's, its version the policy's. */
export function customRuleDefinition(policy: { id: string; version: number }, custom: CustomPolicyData): RuleDefinition {
  return {
    id: policy.id,
    version: policy.version,
    title: custom.title,
    description: custom.description,
    dimension: custom.dimension,
    severity: custom.severity,
    provider: providerOfType(custom.resource_types[0]!) ?? 'aws',
    resource_types: custom.resource_types,
    condition: custom.condition,
    evidence: custom.evidence ?? [],
    remediation: { text: custom.remediation.text, terraform: custom.remediation.terraform ?? null },
    references: [],
    compliance: { ...Object.fromEntries(FRAMEWORK_IDS.map((id) => [id, []])), ...custom.compliance } as Record<FrameworkId, string[]>,
    cost: custom.cost ?? null,
  };
}

/** Compiles an override's selectors; throws InvalidExpressionError (the policy was validated when written). */
function compileOverride(engine: CelEngine, policyId: string, override: OverridePolicyData): CompiledOverride {
  const scope = override.scope ?? null;
  return {
    policyId,
    disabled: override.disable_rule ?? false,
    accounts: scope?.account_ids?.length ? new Set(scope.account_ids) : null,
    types: scope?.resource_types?.length ? new Set(scope.resource_types) : null,
    tags: Object.entries(scope?.tags ?? {}),
    exceptions: (override.exceptions ?? []).map((e) => ({ selector: engine.compileCondition(e.selector), reason: e.reason })),
  };
}

function compiles(engine: CelEngine, policy: PolicyDefinition): boolean {
  try {
    if (policy.custom) compileRule(engine, customRuleDefinition(policy, policy.custom));
    if (policy.override) compileOverride(engine, policy.id, policy.override);
    return true;
  } catch {
    return false;
  }
}

/**
 * The built-in catalogue with an organization's policies layered on it: what audits and dry runs
 * evaluate. Several overrides of one rule combine (newest severity, any disable, every scope,
 * any exception). Policy-written expressions run under POLICY_RUN_LIMITS.
 */
export class RuleSet {
  readonly applied: AppliedPolicyVersion[];
  private readonly byType = new Map<string, EffectiveRule[]>();
  private readonly byKey = new Map<string, EffectiveRule>();
  private readonly spentMs = new Map<string, number>();
  private totalSpentMs = 0;

  constructor(
    readonly catalogue: Catalogue,
    engine: CelEngine,
    policies: readonly PolicyDefinition[],
    private readonly limits = POLICY_RUN_LIMITS,
  ) {
    // Policies are validated when written; one the engine no longer compiles (its bounds changed
    // since) is left out, and so not listed as applied, rather than failing every audit.
    const ordered = [...policies].sort((a, b) => (a.id < b.id ? -1 : 1)).filter((policy) => compiles(engine, policy));
    this.applied = ordered.map(({ id, version }) => ({ policy_id: id, version }));
    const overridesOf = new Map<string, { severity: Severity | null; compiled: CompiledOverride[] }>();
    for (const policy of ordered) {
      if (policy.kind !== 'override' || !policy.override) continue;
      const entry = overridesOf.get(policy.override.rule_id) ?? { severity: null, compiled: [] };
      entry.severity = policy.override.severity ?? entry.severity;
      entry.compiled.push(compileOverride(engine, policy.id, policy.override));
      overridesOf.set(policy.override.rule_id, entry);
    }
    const rules: EffectiveRule[] = catalogue.rules.map((compiled) => {
      const adjusted = overridesOf.get(compiled.rule.id);
      if (!adjusted) return { key: compiled.rule.id, compiled, policy: null, overrides: [] };
      const severity = adjusted.severity ?? compiled.rule.severity;
      return { key: compiled.rule.id, compiled: { ...compiled, rule: { ...compiled.rule, severity } }, policy: null, overrides: adjusted.compiled };
    });
    for (const policy of ordered) {
      if (policy.kind !== 'custom' || !policy.custom) continue;
      const compiled = compileRule(engine, customRuleDefinition(policy, policy.custom));
      rules.push({ key: policy.id, compiled, policy: { policy_id: policy.id, version: policy.version }, overrides: [] });
    }
    for (const rule of rules) {
      this.byKey.set(rule.key, rule);
      for (const type of rule.compiled.rule.resource_types) this.byType.set(type, [...(this.byType.get(type) ?? []), rule]);
    }
  }

  /** The rule findings group under `key` (a built-in rule id, or a custom policy's id). */
  rule(key: string): EffectiveRule | undefined {
    return this.byKey.get(key);
  }

  /** The rules that apply to resources of a type, disabled and scoped ones included (they skip). */
  rulesFor(type: string): readonly EffectiveRule[] {
    return this.byType.get(type) ?? [];
  }

  /** Evaluates one rule on one resource. Never throws. */
  evaluate(rule: EffectiveRule, resource: PolicyResource, context: EvaluationContext): PolicyOutcome {
    if (rule.overrides.length === 0 && rule.policy === null) return evaluateRule(rule.compiled, resource, context);
    const variables = celVariables(resource, context);
    for (const override of rule.overrides) {
      const selectors = override.exceptions.map((e) => e.selector);
      const skipped = this.bounded(override.policyId, selectors, variables, () => this.skips(override, resource, variables));
      if (skipped.outcome !== 'pass') return skipped;
    }
    if (rule.policy === null) return evaluateRule(rule.compiled, resource, context);
    const { condition, monthlyUsd } = rule.compiled;
    return this.bounded(rule.policy.policy_id, monthlyUsd ? [condition, monthlyUsd] : [condition], variables, () => evaluateRule(rule.compiled, resource, context));
  }

  /** `skipped` when the override keeps the rule off the resource, `pass` when it does not. */
  private skips(override: CompiledOverride, resource: PolicyResource, variables: CelVariables): PolicyOutcome {
    const skipped = { outcome: 'skipped', reason: EXCEPTED_BY_POLICY } as const;
    if (override.disabled) return skipped;
    if (override.accounts && !override.accounts.has(resource.account_id)) return skipped;
    if (override.types && !override.types.has(resource.type)) return skipped;
    if (override.tags.some(([key, value]) => resource.tags[key] !== value)) return skipped;
    for (const { selector } of override.exceptions) {
      // An exception that depends on an unknown value leaves the rule's result unknown.
      const run = runCondition(selector, variables);
      if (!('value' in run)) {
        return run.outcome === 'unknown' ? run : { outcome: 'error', message: `exception selector of policy ${override.policyId}: ${run.message}` };
      }
      const selected = run.value;
      if (selected === true) return skipped;
      if (selected !== false) return { outcome: 'error', message: `exception selector of policy ${override.policyId} did not evaluate to a bool` };
    }
    return { outcome: 'pass' };
  }

  /**
   * Runs a policy's expressions under the run-time bounds. One evaluation cannot be interrupted
   * (the CEL library has no cost meter), so it does not start when its estimated cost on this
   * resource's lists and maps is over the bound; the time limits bound what a slow policy can
   * take from the whole run.
   */
  private bounded(policyId: string, expressions: readonly CompiledExpression[], variables: CelVariables, run: () => PolicyOutcome): PolicyOutcome {
    const cost = Math.max(0, ...expressions.map((e) => e.costOn(variables)));
    if (cost > EXPRESSION_LIMITS.maxEstimatedCost) {
      return { outcome: 'error', message: `not evaluated: policy ${policyId} would cost an estimated ${cost} steps on this resource's lists, over the ${EXPRESSION_LIMITS.maxEstimatedCost} limit` };
    }
    const spent = this.spentMs.get(policyId) ?? 0;
    if (spent >= this.limits.policyTimeBudgetMs) {
      return { outcome: 'error', message: `not evaluated: policy ${policyId} has used its ${this.limits.policyTimeBudgetMs} ms evaluation budget in this run` };
    }
    if (this.totalSpentMs >= this.limits.policiesTimeBudgetMs) {
      return { outcome: 'error', message: `not evaluated: the organization's policies have used their ${this.limits.policiesTimeBudgetMs} ms evaluation budget in this run` };
    }
    const start = performance.now();
    const outcome = run();
    const took = performance.now() - start;
    this.spentMs.set(policyId, spent + took);
    this.totalSpentMs += took;
    if (took > this.limits.evaluationTimeLimitMs) {
      return { outcome: 'error', message: `policy ${policyId} took ${Math.round(took)} ms on this resource, over the ${this.limits.evaluationTimeLimitMs} ms limit` };
    }
    return outcome;
  }
}
