/** The clouds fourfold audits. */
export type Provider = 'aws' | 'azure' | 'gcp';

export const PROVIDERS: readonly Provider[] = ['aws', 'azure', 'gcp'];

/** Every Terraform resource type of a provider starts with its prefix (`aws_s3_bucket`, `azurerm_…`, `google_…`). */
export const PROVIDER_TYPE_PREFIX: Readonly<Record<Provider, string>> = { aws: 'aws_', azure: 'azurerm_', gcp: 'google_' };

/** Azure's Entra ID objects carry the azuread provider's names (`azuread_application_password`). */
const OTHER_TYPE_PREFIXES: Readonly<Record<Provider, readonly string[]>> = { aws: [], azure: ['azuread_'], gcp: [] };

/** Whether a resource type is one of the provider's (`azurerm_…` and `azuread_…` are Azure's). */
export function isTypeOfProvider(type: string, provider: Provider): boolean {
  return type.startsWith(PROVIDER_TYPE_PREFIX[provider]) || OTHER_TYPE_PREFIXES[provider].some((prefix) => type.startsWith(prefix));
}

/** The provider of a resource type (`aws_s3_bucket` → aws), or undefined. */
export function providerOfType(type: string): Provider | undefined {
  return PROVIDERS.find((provider) => isTypeOfProvider(type, provider));
}
