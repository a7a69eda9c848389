/** Resource types that are credentials which expire or are due for rotation. */
export const CREDENTIAL_TYPES = ['azuread_application_password', 'azuread_application_certificate', 'aws_iam_access_key', 'google_service_account_key'] as const;

/** Resource types that are store entries a credential can be held in. */
export const STORE_TYPES = ['azurerm_key_vault_secret', 'aws_secretsmanager_secret', 'google_secret_manager_secret'] as const;

export function isCredentialType(type: string): boolean {
  return (CREDENTIAL_TYPES as readonly string[]).includes(type);
}

export function isStoreType(type: string): boolean {
  return (STORE_TYPES as readonly string[]).includes(type);
}
