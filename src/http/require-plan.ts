import type { RequestHandler } from 'express';

/** Throws `403 plan_required` when the organization's plan does not include `feature` (the plans feature makes it; `createApp` composes it). */
export type FeatureCheck = (organizationId: string, feature: string) => Promise<void>;

/** Refuses operations marked `x-required-plan` in the spec to organizations whose plan lacks their feature. */
export function requirePlan(check: FeatureCheck): RequestHandler {
  return (_req, res, next) => {
    const { operation, principal } = res.locals;
    if (!operation?.planFeature || !principal) return next();
    check(principal.organizationId, operation.planFeature).then(() => next(), next);
  };
}
