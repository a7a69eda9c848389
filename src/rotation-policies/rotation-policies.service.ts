import type { Db } from '../db/database';
import type { RotationPolicyRow, RotationPolicySelectorData } from '../db/schema';
import { existingAccountIds } from '../accounts/accounts.service';
import { AppError, unknownIdDetails, type ErrorDetail } from '../errors';
import type { Schemas } from '../http/contract';
import type { Principal } from '../http/principal';
import { newId } from '../ids';
import { existingResourceIds } from '../resources/resources.service';
import { deleteRotationPolicyRow, findRotationPolicy, insertRotationPolicy, updateRotationPolicyRow } from './rotation-policies.repository';

type SelectorInput = Schemas['RotationPolicySelector'];

/** The selector, checked: at least one part, and the resources and accounts it names exist in the organization (a typo would match nothing, silently). */
async function selectorOf(db: Db, organizationId: string, input: SelectorInput): Promise<RotationPolicySelectorData> {
  const selector = { resource_ids: input.resource_ids ?? null, account_ids: input.account_ids ?? null, tags: input.tags ?? null, name_pattern: input.name_pattern ?? null };
  if (Object.values(selector).every((part) => part === null)) {
    throw new AppError('validation_failed', 'The selector names no credentials: give resource_ids, account_ids, tags or name_pattern.', [{ field: 'body.selector', issue: 'at least one part must be given' }]);
  }
  const problems: ErrorDetail[] = [];
  for (const [name, existing, noun] of [['resource_ids', existingResourceIds, 'resource'], ['account_ids', existingAccountIds, 'account']] as const) {
    const ids = selector[name] ?? [];
    if (ids.length === 0) continue;
    problems.push(...unknownIdDetails(ids, await existing(db, organizationId, ids), `body.selector.${name}`, noun));
  }
  if (problems.length > 0) throw new AppError('validation_failed', `The selector names what does not exist: ${problems.map((p) => p.issue).join('; ')}.`, problems);
  return selector;
}

export async function requireRotationPolicy(db: Db, principal: Principal, id: string): Promise<RotationPolicyRow> {
  const row = await findRotationPolicy(db, principal.organizationId, id);
  if (!row) throw new AppError('not_found', `No rotation policy ${id} in this organization.`);
  return row;
}

export async function createRotationPolicy(db: Db, principal: Principal, input: Schemas['RotationPolicyCreate']): Promise<RotationPolicyRow> {
  const now = new Date();
  const selector = await selectorOf(db, principal.organizationId, input.selector);
  return insertRotationPolicy(db, {
    id: newId('rpol'),
    organization_id: principal.organizationId,
    name: input.name,
    selector: JSON.stringify(selector),
    exclusions: JSON.stringify(input.exclusions ?? []),
    days_before_expiry: input.days_before_expiry,
    lifetime_days: input.lifetime_days ?? 180,
    overlap_hours: input.overlap_hours ?? 24,
    enabled: input.enabled ?? true,
    created_by: principal.userId,
    created_at: now,
    updated_at: now,
  });
}

export async function updateRotationPolicy(db: Db, principal: Principal, id: string, input: Schemas['RotationPolicyUpdate']): Promise<RotationPolicyRow> {
  const selector = input.selector === undefined ? undefined : await selectorOf(db, principal.organizationId, input.selector);
  const updated = await updateRotationPolicyRow(db, principal.organizationId, id, {
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(selector !== undefined ? { selector: JSON.stringify(selector) } : {}),
    ...(input.exclusions !== undefined ? { exclusions: JSON.stringify(input.exclusions) } : {}),
    ...(input.days_before_expiry !== undefined ? { days_before_expiry: input.days_before_expiry } : {}),
    ...(input.lifetime_days !== undefined ? { lifetime_days: input.lifetime_days } : {}),
    ...(input.overlap_hours !== undefined ? { overlap_hours: input.overlap_hours } : {}),
    ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
    updated_at: new Date(),
  });
  if (!updated) throw new AppError('not_found', `No rotation policy ${id} in this organization.`);
  return updated;
}

export async function deleteRotationPolicy(db: Db, principal: Principal, id: string): Promise<void> {
  if (!(await deleteRotationPolicyRow(db, principal.organizationId, id))) throw new AppError('not_found', `No rotation policy ${id} in this organization.`);
}
