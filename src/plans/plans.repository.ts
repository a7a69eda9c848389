import { sql } from 'kysely';
import type { Db, Trx } from '../db/database';
import type { Plan, PlanLimit } from './plan-catalogue';

export function findOrganizationPlan(db: Db, organizationId: string) {
  return db.selectFrom('organizations').select(['plan', 'plan_expires_at']).where('id', '=', organizationId).executeTakeFirst();
}

/**
 * The same, with the organization's row locked until the transaction ends, so that its requests
 * checking one plan limit at once do so one after the other (`no key update`: inserts
 * referencing the organization are not blocked).
 */
export function lockOrganizationPlan(trx: Trx, organizationId: string) {
  return trx.selectFrom('organizations').select(['plan', 'plan_expires_at']).where('id', '=', organizationId).forNoKeyUpdate().executeTakeFirst();
}

export async function updateOrganizationPlan(db: Db, organizationId: string, plan: Plan, expiresAt: Date | null): Promise<void> {
  await db.updateTable('organizations').set({ plan, plan_expires_at: expiresAt, updated_at: new Date() }).where('id', '=', organizationId).execute();
}

/** How much of each plan limit the organization uses: its cloud connections, and the rotations it started in the calendar month (UTC) of `now`. */
export const PLAN_USAGE: Readonly<Record<PlanLimit, (db: Db, organizationId: string, now: Date) => Promise<number>>> = {
  connected_accounts: async (db, organizationId) => {
    const row = await db
      .selectFrom('account_connections')
      .select(sql<string>`count(*)`.as('count'))
      .where('organization_id', '=', organizationId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  },
  rotations_per_month: async (db, organizationId, now) => {
    const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
    const row = await db
      .selectFrom('rotations')
      .select(sql<string>`count(*)`.as('count'))
      .where('organization_id', '=', organizationId)
      .where('created_at', '>=', start)
      .where('created_at', '<', end)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  },
};
