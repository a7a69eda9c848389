/**
 * Account-wide settings: resource types that configure a whole account (subscription, project)
 * rather than one resource. Rules see the ones in the evaluated resource's account through the
 * `account_defaults` variable: a map from each of these types to the list of resources of that
 * type in the same account (an empty list when there are none), e.g.
 * `account_defaults.aws_s3_account_public_access_block.exists(b, attr(b, 'attributes.block_public_acls', false))`.
 *
 * This is the one list; add a type here (and say so in the rule that needs it) to make it visible.
 * "Absence" checks ("this account has no GuardDuty detector") are not findings of their own:
 * no resource stands for the account in an inventory, so such a check is written on the resources
 * whose protection depends on the setting (see src/rules/README.md, Account-wide defaults).
 */
export const ACCOUNT_WIDE_TYPES: readonly string[] = [
  'aws_s3_account_public_access_block',
  'aws_ebs_encryption_by_default',
  'aws_ebs_default_kms_key',
  'aws_ec2_instance_metadata_defaults',
  'aws_ebs_snapshot_block_public_access',
  'aws_ec2_image_block_public_access',
  'aws_iam_account_password_policy',
  'aws_securityhub_account',
  'aws_guardduty_detector',
  'aws_config_configuration_recorder',
  'aws_config_configuration_recorder_status',
  'aws_cloudtrail',
  'aws_accessanalyzer_analyzer',
  'aws_macie2_account',
  'azurerm_security_center_subscription_pricing',
  'azurerm_security_center_contact',
  'azurerm_security_center_auto_provisioning',
  'azurerm_monitor_log_profile',
  'google_project',
  'google_project_iam_audit_config',
  'google_compute_project_metadata',
  'google_compute_project_metadata_item',
];

const ACCOUNT_WIDE = new Set(ACCOUNT_WIDE_TYPES);

export function isAccountWideType(type: string): boolean {
  return ACCOUNT_WIDE.has(type);
}
