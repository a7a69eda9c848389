import type { RotationCredentialType, RotationStoreData } from '../db/schema';
import { AppError } from '../errors';

/**
 * What a rotation reads off the inventory: a credential resource as the owner and key it
 * rotates, a store resource as the entry it writes. Attribute names are discovery's (and
 * Terraform's, for imported state).
 */

/** The columns of a resource these read. */
export interface TargetResource {
  id: string;
  account_id: string;
  type: string;
  native_id: string;
  name: string | null;
  attributes: Record<string, unknown>;
}

export interface RotationCredential {
  type: RotationCredentialType;
  /** The application's object id, the IAM user's name, the service account's email. */
  owner: string;
  keyId: string;
}

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/** An Entra ID application password (Terraform's `azuread_application_password`, provider 2 and 3 attribute names). */
export function entraPassword(resource: Pick<TargetResource, 'attributes'>): { applicationId: string; keyId: string; expiresAt: Date } | null {
  const a = resource.attributes;
  const application = GUID.exec(String(a.application_object_id ?? a.application_id ?? ''))?.[0];
  const keyId = GUID.exec(String(a.key_id ?? ''))?.[0];
  const expiresAt = typeof a.end_date === 'string' ? new Date(a.end_date) : null;
  if (!application || !keyId || !expiresAt || Number.isNaN(expiresAt.getTime())) return null;
  return { applicationId: application.toLowerCase(), keyId: keyId.toLowerCase(), expiresAt };
}

function notRotatable(resource: TargetResource, why: string): AppError {
  return new AppError('credential_not_rotatable', `Resource ${resource.id} (${resource.type}) cannot be rotated: ${why}.`, [{ field: 'body.credential_id', issue: why }]);
}

/** The credential a resource is; 422 `credential_not_rotatable` for any other resource. */
export function rotationCredential(resource: TargetResource): RotationCredential {
  const a = resource.attributes;
  switch (resource.type) {
    case 'azuread_application_password': {
      const password = entraPassword(resource);
      if (!password) throw notRotatable(resource, 'its application object id, key id or end date is unknown');
      return { type: 'azuread_application_password', owner: password.applicationId, keyId: password.keyId };
    }
    case 'aws_iam_access_key': {
      const keyId = typeof a.id === 'string' ? a.id : '';
      const user = typeof a.user === 'string' ? a.user : '';
      if (user === '' || user === '<root_account>') throw notRotatable(resource, 'only an IAM user\'s access keys are rotated, not the root user\'s');
      if (!/^[A-Z0-9]{16,128}$/.test(keyId)) throw notRotatable(resource, 'its access key id is unknown');
      return { type: 'aws_iam_access_key', owner: user, keyId };
    }
    case 'google_service_account_key': {
      const email = typeof a.service_account_id === 'string' ? a.service_account_id : '';
      const keyId = typeof a.key_id === 'string' ? a.key_id : '';
      if (a.key_type !== undefined && a.key_type !== null && a.key_type !== 'USER_MANAGED') throw notRotatable(resource, 'Google manages this key itself (not USER_MANAGED)');
      if (!email.includes('@') || !/^[0-9a-f]{8,64}$/i.test(keyId)) throw notRotatable(resource, 'its service account or key id is unknown');
      return { type: 'google_service_account_key', owner: email, keyId };
    }
    case 'aws_secretsmanager_secret': {
      const arn = String(a.arn ?? resource.native_id);
      if (!/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+/.test(arn)) throw notRotatable(resource, 'its ARN is unknown');
      if (a.rotation_enabled !== true) throw notRotatable(resource, 'its rotation is not enabled in Secrets Manager (no rotation function to run)');
      return { type: 'aws_secretsmanager_secret', owner: arn, keyId: arn };
    }
    case 'azuread_application_certificate':
      throw notRotatable(resource, 'Entra ID certificates are not rotated by fourfold (only passwords, access keys and service-account keys)');
    default:
      throw notRotatable(resource, 'it is not a credential: one of azuread_application_password, aws_iam_access_key, google_service_account_key, aws_secretsmanager_secret (with rotation enabled)');
  }
}

/** The provider whose connection rotates a credential kind. */
export const CREDENTIAL_PROVIDER: Record<RotationCredentialType, 'azure' | 'aws' | 'gcp'> = {
  azuread_application_password: 'azure',
  aws_iam_access_key: 'aws',
  google_service_account_key: 'gcp',
  aws_secretsmanager_secret: 'aws',
};

/** A Key Vault secret as the URI a rotation writes (no version). */
export function vaultSecretUri(resource: Pick<TargetResource, 'attributes' | 'native_id'>): string | null {
  const a = resource.attributes;
  const uri = String(a.versionless_id ?? a.id ?? resource.native_id);
  const match = /^(https:\/\/[^/]+\/secrets\/[0-9A-Za-z-]{1,127})(\/|$)/.exec(uri);
  return match ? match[1]! : null;
}

/** A store entry a rotation writes, or null when the resource does not say where it is. */
export function rotationStore(resource: TargetResource): RotationStoreData | null {
  const a = resource.attributes;
  const base = { resource_id: resource.id, account_id: resource.account_id };
  switch (resource.type) {
    case 'azurerm_key_vault_secret': {
      const uri = vaultSecretUri(resource);
      return uri === null ? null : { type: 'azurerm_key_vault_secret', target: uri, ...base };
    }
    case 'aws_secretsmanager_secret': {
      const arn = String(a.arn ?? resource.native_id);
      return /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+/.test(arn) ? { type: 'aws_secretsmanager_secret', target: arn, ...base } : null;
    }
    case 'google_secret_manager_secret': {
      const name = /projects\/[^/]+\/secrets\/[A-Za-z0-9_-]+/.exec(`${resource.native_id} ${String(a.id ?? '')}`)?.[0];
      return name === undefined ? null : { type: 'google_secret_manager_secret', target: name, ...base };
    }
    default:
      return null;
  }
}
