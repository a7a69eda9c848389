import type { Db, Trx } from '../db/database';
import { AppError } from '../errors';
import type { License } from './license';
import { DEFAULT_PLAN_LIMITS, FEATURE_PLAN, FEATURES, PLAN_LIMITS, planIncludes, type Feature, type Plan, type PlanLimit } from './plan-catalogue';
import { findOrganizationPlan, lockOrganizationPlan, PLAN_USAGE, updateOrganizationPlan } from './plans.repository';

/** Where plans come from: a licence gives every organization its plan; else each organization's own (set by platform operators). */
export interface PlanSettings {
  license: License | undefined;
  /** The clock plans expire by (tests move it). */
  now?: () => Date;
}

/** The plan an organization has now. */
export interface PlanInForce {
  /** The plan in force: the granted one, or `starter` once it has expired. */
  plan: Plan;
  /** The plan the licence or a platform operator granted. */
  grantedPlan: Plan;
  source: 'license' | 'organization';
  expiresAt: Date | null;
  expired: boolean;
  limits: Record<PlanLimit, number | null>;
}

type PlanRow = NonNullable<Awaited<ReturnType<typeof findOrganizationPlan>>>;

export function planInForce(row: PlanRow | undefined, settings: PlanSettings): PlanInForce {
  const now = settings.now?.() ?? new Date();
  const { license } = settings;
  const grantedPlan = license?.plan ?? row?.plan ?? 'starter';
  const expiresAt = license ? license.expiresAt : (row?.plan_expires_at ?? null);
  const expired = expiresAt !== null && expiresAt.getTime() <= now.getTime();
  const plan: Plan = expired ? 'starter' : grantedPlan;
  const limits = { ...DEFAULT_PLAN_LIMITS[plan], ...(license && !expired ? license.limits : {}) };
  return { plan, grantedPlan, source: license ? 'license' : 'organization', expiresAt, expired, limits };
}

export async function organizationPlan(db: Db, settings: PlanSettings, organizationId: string): Promise<PlanInForce> {
  return planInForce(await findOrganizationPlan(db, organizationId), settings);
}

/** Why the plan in force is not the one granted, for people; null when it is. */
export function planNotice(plan: PlanInForce): string | null {
  if (!plan.expired) return null;
  const what = plan.source === 'license' ? "This installation's licence" : "This organization's plan";
  return `${what} (${plan.grantedPlan}) expired at ${plan.expiresAt!.toISOString()}: the starter plan is in force until it is renewed. Nothing was deleted; features of higher plans are paused.`;
}

/**
 * Refuses, with `403 plan_required`, a feature the organization's plan does not include. Call it
 * first in a gated service function, or mark the operation `x-required-plan` in the spec.
 */
export async function requireFeature(db: Db, settings: PlanSettings, organizationId: string, feature: Feature): Promise<void> {
  const plan = await organizationPlan(db, settings, organizationId);
  if (planIncludes(plan.plan, feature)) return;
  throw planRequired(feature, plan);
}

export function planRequired(feature: Feature, plan: PlanInForce): AppError {
  const required = FEATURE_PLAN[feature];
  return new AppError(
    'plan_required',
    `The ${feature} feature needs the ${required} plan; this organization is on ${plan.plan}${plan.expired ? ` (its ${plan.grantedPlan} plan expired)` : ''}.`,
    [{ field: null, issue: `${feature} needs the ${required} plan`, feature, required_plan: required, current_plan: plan.plan }],
  );
}

/**
 * Refuses, with `403 plan_limit_reached`, what would take the organization past a limit of its
 * plan (`adding` more of it). Call it in the transaction that creates the counted thing: the
 * organization's row stays locked until it commits, so concurrent requests cannot all pass on
 * one free place.
 */
export async function assertPlanLimit(trx: Trx, settings: PlanSettings, organizationId: string, limitName: PlanLimit, adding = 1): Promise<void> {
  const plan = planInForce(await lockOrganizationPlan(trx, organizationId), settings);
  const limit = plan.limits[limitName];
  if (limit === null) return;
  const usage = await PLAN_USAGE[limitName](trx, organizationId, settings.now?.() ?? new Date());
  if (usage + adding <= limit) return;
  throw new AppError(
    'plan_limit_reached',
    `This organization's ${plan.plan} plan allows ${limit} ${limitName.replace(/_/g, ' ')}, and ${usage} are used; a higher plan lifts the limit.`,
    [{ field: null, issue: `${usage} of at most ${limit}`, plan_limit: limitName, limit, usage, current_plan: plan.plan }],
  );
}

/** The plan, each feature on or off and each limit with its usage. */
export async function entitlements(db: Db, settings: PlanSettings, organizationId: string) {
  const plan = await organizationPlan(db, settings, organizationId);
  const now = settings.now?.() ?? new Date();
  const usage = await Promise.all(PLAN_LIMITS.map((name) => PLAN_USAGE[name](db, organizationId, now)));
  return {
    plan,
    notice: planNotice(plan),
    features: FEATURES.map((feature) => ({ feature, enabled: planIncludes(plan.plan, feature), requiredPlan: FEATURE_PLAN[feature] })),
    limits: PLAN_LIMITS.map((name, index) => ({ name, limit: plan.limits[name], usage: usage[index]! })),
  };
}

/** A platform operator's change of an organization's plan; the data of features it loses stays. */
export async function setOrganizationPlan(trx: Trx, organizationId: string, change: { name: Plan; expires_at?: string | null }): Promise<void> {
  await updateOrganizationPlan(trx, organizationId, change.name, change.expires_at ? new Date(change.expires_at) : null);
}
