/** The plans, the features each allows and the limits each has (issue 21). Pure data. */
export const PLANS = ['starter', 'pro', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];

export const FEATURES = ['inventory', 'audits', 'policies', 'reports', 'alerts', 'audit_log', 'rotation', 'automatic_rotation', 'sync'] as const;
export type Feature = (typeof FEATURES)[number];

export const PLAN_LIMITS = ['connected_accounts', 'rotations_per_month'] as const;
export type PlanLimit = (typeof PLAN_LIMITS)[number];

/** The lowest plan that includes each feature; `rotation` on `starter` is manual and counted by `rotations_per_month`. */
export const FEATURE_PLAN: Readonly<Record<Feature, Plan>> = {
  inventory: 'starter',
  audits: 'starter',
  policies: 'starter',
  reports: 'starter',
  alerts: 'starter',
  audit_log: 'starter',
  rotation: 'starter',
  automatic_rotation: 'pro',
  sync: 'pro',
};

/** Each plan's limits; null: none. */
export const DEFAULT_PLAN_LIMITS: Readonly<Record<Plan, Readonly<Record<PlanLimit, number | null>>>> = {
  starter: { connected_accounts: 4, rotations_per_month: 3 },
  pro: { connected_accounts: null, rotations_per_month: null },
  enterprise: { connected_accounts: null, rotations_per_month: null },
};

export function isPlan(value: unknown): value is Plan {
  return typeof value === 'string' && (PLANS as readonly string[]).includes(value);
}

export function planIncludes(plan: Plan, feature: Feature): boolean {
  return PLANS.indexOf(plan) >= PLANS.indexOf(FEATURE_PLAN[feature]);
}
