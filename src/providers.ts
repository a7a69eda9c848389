/** The clouds fourfold audits. */
export type Provider = 'aws' | 'azure' | 'gcp';

export const PROVIDERS: readonly Provider[] = ['aws', 'azure', 'gcp'];

/** Every Terraform resource type of a provider starts with its prefix (`aws_s3_bucket`, `azurerm_…`, `google_…`). */
export const PROVIDER_TYPE_PREFIX: Readonly<Record<Provider, string>> = { aws: 'aws_', azure: 'azurerm_', gcp: 'google_' };

/** The provider of a resource type (`aws_s3_bucket` → aws), or undefined. */
export function providerOfType(type: string): Provider | undefined {
  return PROVIDERS.find((provider) => type.startsWith(PROVIDER_TYPE_PREFIX[provider]));
}
