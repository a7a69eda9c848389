import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { isPlan, PLAN_LIMITS, type Plan, type PlanLimit } from './plan-catalogue';

/**
 * A self-hosted installation's licence: `ffl1.<payload>.<signature>`, both base64url, the payload
 * JSON `{plan, expires_at, limits, licensee}` and the signature Ed25519 over `ffl1.<payload>`.
 * It is verified offline against the public key in FOURFOLD_LICENSE_PUBLIC_KEY.
 */
export interface License {
  plan: Plan;
  expiresAt: Date;
  /** Limits that replace the plan's defaults (null: none); those not named keep the plan's. */
  limits: Partial<Record<PlanLimit, number | null>>;
  licensee: string;
}

const PREFIX = 'ffl1';

export class LicenseError extends Error {}

/** Signs a licence with an Ed25519 private key (PEM). */
export function issueLicense(privateKeyPem: string, license: License): string {
  const payload = Buffer.from(
    JSON.stringify({ plan: license.plan, expires_at: license.expiresAt.toISOString(), limits: license.limits, licensee: license.licensee }),
  ).toString('base64url');
  const signed = `${PREFIX}.${payload}`;
  const signature = sign(null, Buffer.from(signed), keyOf(() => createPrivateKey(privateKeyPem), 'private'));
  return `${signed}.${signature.toString('base64url')}`;
}

/** The licence `token` holds, when `publicKey` (PEM, or base64 of its DER) signed it; throws a `LicenseError` otherwise. */
export function verifyLicense(token: string, publicKey: string): License {
  const key = keyOf(() => (publicKey.includes('BEGIN') ? createPublicKey(publicKey) : createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' })), 'public');
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) throw new LicenseError('is not a fourfold licence (ffl1.<payload>.<signature>)');
  if (!verify(null, Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2]!, 'base64url'))) {
    throw new LicenseError('is not signed by the key in FOURFOLD_LICENSE_PUBLIC_KEY');
  }
  let claims: { plan?: unknown; expires_at?: unknown; limits?: unknown; licensee?: unknown };
  try {
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as typeof claims;
  } catch {
    throw new LicenseError('has a payload that is not JSON');
  }
  const expiresAt = new Date(String(claims.expires_at));
  if (!isPlan(claims.plan) || Number.isNaN(expiresAt.getTime())) throw new LicenseError('names no valid plan and expiry');
  return { plan: claims.plan, expiresAt, limits: limitsOf(claims.limits), licensee: typeof claims.licensee === 'string' ? claims.licensee : '' };
}

function limitsOf(raw: unknown): License['limits'] {
  const limits: License['limits'] = {};
  if (!raw || typeof raw !== 'object') return limits;
  for (const name of PLAN_LIMITS) {
    const value = (raw as Record<string, unknown>)[name];
    if (value === null || (Number.isInteger(value) && (value as number) >= 0)) limits[name] = value as number | null;
  }
  return limits;
}

function keyOf(make: () => KeyObject, kind: string): KeyObject {
  let key: KeyObject;
  try {
    key = make();
  } catch {
    throw new LicenseError(`cannot be checked: the ${kind} key is not a valid key`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new LicenseError(`cannot be checked: the ${kind} key is not an Ed25519 key`);
  return key;
}
