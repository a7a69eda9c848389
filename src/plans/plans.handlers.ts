import type { Db } from '../db/database';
import { principalOf } from '../http/authenticate';
import type { HandlerTable } from '../http/contract';
import { toEntitlements } from './plans.mapper';
import { entitlements, type PlanSettings } from './plans.service';

export function planHandlers(db: Db, settings: PlanSettings): HandlerTable<'getOrganizationEntitlements'> {
  return {
    getOrganizationEntitlements: async (_req, res) => {
      res.json(toEntitlements(await entitlements(db, settings, principalOf(res).organizationId)));
    },
  };
}
