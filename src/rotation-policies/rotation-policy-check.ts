import type { Logger } from 'pino';
import type { Db } from '../db/database';
import type { RotationPolicyRow } from '../db/schema';
import { organizationPlan, planRequired } from '../plans/plans.service';
import { planIncludes } from '../plans/plan-catalogue';
import { EXPIRY_SOURCES } from '../alerts/expiry';
import { AppError } from '../errors';
import { rotationCredential, vaultSecretUri, type RotationCredential } from '../rotations/rotation-targets';
import { rotationOfCredential, startPolicyRotation, type Normalized, type RotationSettings } from '../rotations/rotations.service';
import { nameMatches } from '../syncs/sync-runner';
import { activeResourcesOfTypes, enabledRotationPolicies, latestRotationOf, updateRotationPolicyRow } from './rotation-policies.repository';

/** Hourly: expiries are days away, an hour late is on time. */
export const ROTATION_POLICY_CRON = '23 * * * *';

const DAY_MS = 86_400_000;
/** A credential whose last rotation failed is tried again after this long, not at every check. */
const RETRY_AFTER_FAILURE_MS = DAY_MS;

/** What one check did with one credential a policy covers. */
export type PolicyOutcome =
  | { policy_id: string; resource_id: string; outcome: 'rotated' | 'rotation_failed'; rotation_id: string }
  | { policy_id: string; resource_id: string; outcome: 'rotation_in_progress' | 'already_rotated' | 'recently_failed' | 'no_store' | 'error'; detail?: string }
  | { policy_id: string; outcome: 'paused'; reason: string };

type Resource = Awaited<ReturnType<typeof activeResourcesOfTypes>>[number];

/** The credential kinds a policy rotates. */
const ROTATABLE_TYPES = ['azuread_application_password', 'aws_iam_access_key', 'google_service_account_key'] as const;

/** When each kind is due: an Entra ID password or a service-account key when it expires, an access key 90 days after creation. */
const DUE_AT: Record<(typeof ROTATABLE_TYPES)[number], (attributes: Record<string, unknown>) => Date | null> = {
  azuread_application_password: EXPIRY_SOURCES.secret_expiring.azuread_application_password!,
  aws_iam_access_key: EXPIRY_SOURCES.key_expiring.aws_iam_access_key!,
  google_service_account_key: EXPIRY_SOURCES.key_expiring.google_service_account_key!,
};

/** A credential of the inventory a policy may rotate, with when it is due; null for one that cannot be rotated or never expires. */
function dueCredential(resource: Resource): (RotationCredential & { expiresAt: Date }) | null {
  let credential: RotationCredential;
  try {
    credential = rotationCredential(resource);
  } catch {
    return null;
  }
  // Secrets Manager schedules its own rotation functions (rotation_rules).
  if (credential.type === 'aws_secretsmanager_secret') return null;
  const expiresAt = DUE_AT[credential.type](resource.attributes);
  return expiresAt === null || Number.isNaN(expiresAt.getTime()) ? null : { ...credential, expiresAt };
}

function covers(policy: RotationPolicyRow, resource: Resource): boolean {
  const { selector } = policy;
  const name = resource.name ?? resource.native_id;
  if (selector.resource_ids && !selector.resource_ids.includes(resource.id)) return false;
  if (selector.account_ids && !selector.account_ids.includes(resource.account_id)) return false;
  if (selector.tags && !Object.entries(selector.tags).every(([key, value]) => resource.tags[key] === value)) return false;
  if (selector.name_pattern && !nameMatches(selector.name_pattern, name)) return false;
  return !policy.exclusions.some((pattern) => nameMatches(pattern, name));
}

/**
 * The hourly check: each enabled policy rotates the credentials it covers that expire within its
 * `days_before_expiry`, into the Key Vault secrets of the inventory whose tag names the
 * credential's key id, one rotation per credential at a time. A credential whose rotation
 * succeeded (or waits to remove the old password) is not rotated again: the next scan shows the
 * new one. A policy whose organization's plan lost `automatic_rotation` is paused, saying why.
 */
export async function checkRotationPolicies(db: Db, settings: RotationSettings, logger?: Pick<Logger, 'warn'>): Promise<PolicyOutcome[]> {
  const now = (settings.now ?? settings.plans.now ?? (() => new Date()))();
  const outcomes: PolicyOutcome[] = [];
  for (const policy of await enabledRotationPolicies(db)) {
    const plan = await organizationPlan(db, { ...settings.plans, now: () => now }, policy.organization_id);
    const paused = planIncludes(plan.plan, 'automatic_rotation') ? null : `Paused: ${planRequired('automatic_rotation', plan).message} Nothing was deleted; the policy rotates again once the plan includes it.`;
    await updateRotationPolicyRow(db, policy.organization_id, policy.id, { paused_reason: paused, last_checked_at: now });
    if (paused) {
      outcomes.push({ policy_id: policy.id, outcome: 'paused', reason: paused });
      continue;
    }
    const resources = await activeResourcesOfTypes(db, policy.organization_id, [...ROTATABLE_TYPES, 'azurerm_key_vault_secret']);
    const vaultSecrets = resources.filter((r) => r.type === 'azurerm_key_vault_secret');
    for (const resource of resources) {
      if (!(ROTATABLE_TYPES as readonly string[]).includes(resource.type) || !covers(policy, resource)) continue;
      const credential = dueCredential(resource);
      if (!credential || credential.expiresAt.getTime() - policy.days_before_expiry * DAY_MS > now.getTime()) continue;
      const base = { policy_id: policy.id, resource_id: resource.id };
      const latest = await latestRotationOf(db, policy.organization_id, credential.keyId);
      if (latest?.status === 'running') {
        outcomes.push({ ...base, outcome: 'rotation_in_progress' });
        continue;
      }
      if (latest && latest.status !== 'failed') {
        outcomes.push({ ...base, outcome: 'already_rotated' });
        continue;
      }
      if (latest && now.getTime() - latest.created_at.getTime() < RETRY_AFTER_FAILURE_MS) {
        outcomes.push({ ...base, outcome: 'recently_failed' });
        continue;
      }
      const timing = { lifetime_days: policy.lifetime_days, overlap_hours: policy.overlap_hours };
      let request: Normalized;
      try {
        request = await rotationOfCredential(db, policy.organization_id, resource, timing);
      } catch (error) {
        if (!(error instanceof AppError) || error.code !== 'no_confirmed_store') throw error;
        // An Entra ID password without confirmed links: the Key Vault secrets whose tag names its key id.
        const holders = resource.type === 'azuread_application_password' ? vaultSecrets.filter((secret) => Object.values(secret.tags).some((value) => value.toLowerCase() === credential.keyId)).flatMap((secret) => vaultSecretUri(secret) ?? []) : [];
        if (holders.length === 0) {
          outcomes.push({ ...base, outcome: 'no_store', detail: error instanceof Error ? error.message : String(error) });
          continue;
        }
        request = {
          credential_type: 'azuread_application_password',
          credential_resource_id: resource.id,
          account_id: resource.account_id,
          application_id: credential.owner,
          key_id: credential.keyId,
          stores: [...new Set(holders)].slice(0, 20).map((uri) => ({ type: 'azurerm_key_vault_secret' as const, resource_id: null, account_id: resource.account_id, target: uri })),
          ...timing,
        };
      }
      try {
        const rotation = await startPolicyRotation(db, settings, { organizationId: policy.organization_id, userId: null, policyId: policy.id }, request);
        outcomes.push({ ...base, outcome: rotation.status === 'failed' ? 'rotation_failed' : 'rotated', rotation_id: rotation.id });
      } catch (error) {
        // A 409 (another rotation started meanwhile), a missing connection: the next check tries again.
        const detail = error instanceof Error ? error.message : String(error);
        logger?.warn({ policy: policy.id, resource: resource.id, error: detail }, 'a rotation policy could not start a rotation');
        outcomes.push({ ...base, outcome: 'error', detail });
      }
    }
  }
  return outcomes;
}
