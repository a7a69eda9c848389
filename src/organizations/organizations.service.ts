import type { Logger } from 'pino';
import type { Config } from '../config';
import type { Db } from '../db/database';
import { AppError } from '../errors';
import { newId } from '../ids';
import { generatePassword, hashPassword } from '../users/passwords';
import { hasAnyUser, insertUser } from '../users/users.service';
import { findOrganizationById, insertMembership, insertOrganization, lockFirstOwnerBootstrap, updateOrganization } from './organizations.repository';

// Queries other features use as they are.
export { findFirstMembershipOfUser, findOrganizationById, insertMembership, insertOrganization } from './organizations.repository';

/** The longest a risk may be accepted for in the organization, in days: its admins' setting, else `defaultDays`. */
export async function riskAcceptanceMaxDays(db: Db, organizationId: string, defaultDays: number): Promise<number> {
  return (await findOrganizationById(db, organizationId))?.risk_acceptance_max_days ?? defaultDays;
}

/** Renames the organization and/or changes its settings; answers it as it is now. */
export function changeOwnOrganization(db: Db, organizationId: string, change: { name?: string; risk_acceptance_max_days?: number }) {
  return updateOrganization(db, organizationId, {
    ...(change.name !== undefined ? { name: change.name.trim() } : {}),
    ...(change.risk_acceptance_max_days !== undefined ? { risk_acceptance_max_days: change.risk_acceptance_max_days } : {}),
  });
}

/** Creates an organization and its first owner. Run it inside a transaction: it writes three rows. */
export async function insertOrganizationWithOwner(
  trx: Db,
  input: { name: string; slug?: string; username: string; password: string },
): Promise<{ organizationId: string; userId: string }> {
  const organizationId = newId('org');
  const userId = newId('usr');
  await insertOrganization(trx, { id: organizationId, name: input.name, slug: input.slug ?? defaultSlug(organizationId) });
  await insertUser(trx, { id: userId, username: input.username, password_hash: await hashPassword(input.password) });
  await insertMembership(trx, { organization_id: organizationId, user_id: userId, role: 'owner' });
  return { organizationId, userId };
}

/**
 * On a database with no users, creates the first organization and its owner from
 * ADMIN_USERNAME/ADMIN_PASSWORD, or with a generated password printed once in the log.
 * Safe when several processes start at once: they serialize on an advisory lock.
 */
export async function bootstrapFirstOwner(db: Db, admin: Config['admin'], logger: Logger): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await lockFirstOwnerBootstrap(trx);
    if (await hasAnyUser(trx)) return;
    const password = admin.password ?? generatePassword();
    const { organizationId } = await insertOrganizationWithOwner(trx, {
      name: admin.organizationName,
      username: admin.username,
      password,
    });
    const context = { username: admin.username, organization_id: organizationId };
    if (admin.password) {
      logger.info(context, 'created the first owner from ADMIN_USERNAME and ADMIN_PASSWORD');
    } else {
      logger.warn(
        { ...context, password },
        'created the first owner with a generated password; it is shown only this once, so keep it now',
      );
    }
  });
}

/** Every credential of a suspended organization is refused, whatever its kind. */
export function assertOrganizationActive(status: 'active' | 'suspended'): void {
  if (status !== 'active') {
    throw new AppError('organization_suspended', 'This organization is suspended: its credentials are refused until a platform operator lifts the suspension.');
  }
}

/** The slug of an organization created without one (the first one, tests): its id, as a slug. */
export function defaultSlug(organizationId: string): string {
  return organizationId.toLowerCase().replace('_', '-');
}
