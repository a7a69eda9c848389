import type { TokenSettings } from '../auth/login-tokens';
import { startSession, type SessionClient } from '../auth/sessions.service';
import type { Db } from '../db/database';
import { AppError } from '../errors';
import type { Schemas } from '../http/contract';
import { newId } from '../ids';
import { assertNotReservedForOperator, insertMember } from '../members/members.service';
import { insertOrganization } from '../organizations/organizations.service';
import { setOrganizationPlan } from '../plans/plans.service';
import { setOrganizationLimits } from '../quotas/quotas.service';
import { removeOrganizationReportFiles } from '../reports/report-storage';
import {
  deleteOrganizationAndMembers,
  findPlatformOrganization,
  isSlugTaken,
  lockOrganization,
  updatePlatformOrganization,
  type PlatformOrganizationRow,
} from './platform.repository';
// Queries other features use as they are.
export { listPlatformOrganizations, setPlatformAdmin } from './platform.repository';

/** Creates an organization and its first owner (with a password, or a one-time invitation) in one transaction. */
export async function createOrganization(db: Db, input: Schemas['PlatformOrganizationCreate']) {
  const organizationId = newId('org');
  const name = input.name.trim();
  return db
    .transaction()
    .execute(async (trx) => {
      if (await isSlugTaken(trx, input.slug)) throw slugTaken(input.slug);
      await insertOrganization(trx, { id: organizationId, name, slug: input.slug });
      const owner = await insertMember(trx, organizationId, { ...input.owner, role: 'owner' });
      return { organization: (await findPlatformOrganization(trx, organizationId)) as PlatformOrganizationRow, ...owner };
    })
    .catch((error: unknown) => {
      // Two concurrent creations of one slug: the unique index decides.
      if ((error as { code?: string; constraint?: string }).code === '23505' && String((error as Error).message).includes('slug')) {
        throw slugTaken(input.slug);
      }
      throw error;
    });
}

export async function requireOrganization(db: Db, id: string): Promise<PlatformOrganizationRow> {
  const row = await findPlatformOrganization(db, id);
  if (!row) throw new AppError('not_found', `No organization ${id}.`);
  return row;
}

/**
 * Renames, suspends or reinstates an organization, and sets its limits. An operator signed in to the API
 * (`operatorOrganizationId`) cannot suspend their own: their session would end with it, and only
 * the command line could reinstate it.
 */
export async function changeOrganization(db: Db, id: string, change: Schemas['PlatformOrganizationUpdate'], operatorOrganizationId?: string) {
  if (change.status === 'suspended' && id === operatorOrganizationId) {
    throw new AppError('conflict', 'You cannot suspend your own organization: your session would be refused with it. Another operator, or `fourfold org suspend`, can.');
  }
  return db.transaction().execute(async (trx) => {
    if (!(await lockOrganization(trx, id))) throw new AppError('not_found', `No organization ${id}.`);
    await updatePlatformOrganization(trx, id, { name: change.name?.trim(), status: change.status });
    if (change.limits) await setOrganizationLimits(trx, id, change.limits);
    if (change.plan) await setOrganizationPlan(trx, id, change.plan);
    return (await findPlatformOrganization(trx, id)) as PlatformOrganizationRow;
  });
}

/**
 * Deletes a suspended organization and all of its data in one transaction, then its report files
 * under REPORTS_DIR; an active one is refused.
 */
export async function deleteOrganization(db: Db, id: string, reportsDir: string | undefined): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const organization = await lockOrganization(trx, id);
    if (!organization) throw new AppError('not_found', `No organization ${id}.`);
    if (organization.status !== 'suspended') {
      throw new AppError(
        'organization_not_suspended',
        'Only a suspended organization can be deleted, so that no one is using it while it goes: suspend it first (PATCH status: suspended).',
      );
    }
    await deleteOrganizationAndMembers(trx, id);
  });
  await removeOrganizationReportFiles(reportsDir, id);
}

/** Self-service sign-up: an organization, its owner, and a login token for them. */
export async function signUp(db: Db, tokens: TokenSettings, input: Schemas['SignupRequest'], client: SessionClient) {
  assertNotReservedForOperator(tokens.platformAdmins, input.username);
  const { organization, member } = await createOrganization(db, {
    name: input.organization_name,
    slug: input.slug,
    owner: { username: input.username, password: input.password },
  });
  const session = await startSession(db, tokens, { userId: member.user_id, organizationId: organization.id }, client);
  return { organization, userId: member.user_id, ...session };
}

function slugTaken(slug: string): AppError {
  return new AppError('slug_taken', `The slug ${slug} is taken by another organization.`, [{ field: 'body.slug', issue: 'already taken' }]);
}
