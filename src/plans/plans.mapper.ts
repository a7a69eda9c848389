import type { Schemas } from '../http/contract';
import type { entitlements } from './plans.service';

export function toEntitlements(value: Awaited<ReturnType<typeof entitlements>>): Schemas['Entitlements'] {
  const { plan } = value;
  return {
    plan: plan.plan,
    granted_plan: plan.grantedPlan,
    source: plan.source,
    expires_at: plan.expiresAt?.toISOString() ?? null,
    expired: plan.expired,
    notice: value.notice,
    features: Object.fromEntries(value.features.map((f) => [f.feature, { enabled: f.enabled, required_plan: f.requiredPlan }])) as Schemas['Entitlements']['features'],
    limits: Object.fromEntries(value.limits.map((l) => [l.name, { limit: l.limit, usage: l.usage }])) as Schemas['Entitlements']['limits'],
  };
}
