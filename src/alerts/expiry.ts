import type { Schemas } from '../http/contract';

export type ExpiryAlertType = Extract<Schemas['AlertType'], 'secret_expiring' | 'certificate_expiring' | 'key_expiring'>;

type Attributes = Record<string, unknown>;
const DAY_MS = 86_400_000;
/** IAM access keys have no expiry: they are due for rotation this long after creation. */
export const ACCESS_KEY_ROTATION_DAYS = 90;

/**
 * Where each resource type keeps the date it expires or is due for rotation, per alert type
 * (Terraform attribute names, and the cloud API's where an import carries those instead).
 */
export const EXPIRY_SOURCES: Record<ExpiryAlertType, Record<string, (attributes: Attributes) => Date | null>> = {
  secret_expiring: {
    // Secrets Manager: rotation overdue is what "expiring" means for a secret without an expiry.
    aws_secretsmanager_secret: (a) =>
      date(a.next_rotation_date) ??
      (a.rotation_enabled === true ? addDays(date(a.last_rotated_date), number(first(a.rotation_rules)?.automatically_after_days)) : null),
    azurerm_key_vault_secret: (a) => date(a.expiration_date),
    google_secret_manager_secret: (a) => date(a.expire_time) ?? date(first(a.rotation)?.next_rotation_time),
    azuread_application_password: (a) => date(a.end_date),
  },
  certificate_expiring: {
    aws_acm_certificate: (a) => date(a.not_after),
    aws_iam_server_certificate: (a) => date(a.expiration),
    azurerm_key_vault_certificate: (a) => date(first(a.certificate_attribute)?.expires) ?? date(a.expiration_date),
    azurerm_app_service_certificate: (a) => date(a.expiration_date),
    google_compute_ssl_certificate: (a) => date(a.expire_time),
    google_compute_managed_ssl_certificate: (a) => date(a.expire_time),
    azuread_application_certificate: (a) => date(a.end_date),
  },
  key_expiring: {
    azurerm_key_vault_key: (a) => date(a.expiration_date),
    aws_iam_access_key: (a) => ((a.status ?? 'Active') === 'Active' ? addDays(date(a.create_date), ACCESS_KEY_ROTATION_DAYS) : null),
    // Google-managed keys rotate themselves; a user-managed key without an end says 9999-12-31.
    google_service_account_key: (a) => (a.key_type === 'USER_MANAGED' && a.disabled !== true ? date(a.valid_before) : null),
  },
};

/**
 * The stages (days left) at which the organization's feed, and the webhook endpoints subscribed
 * to it, record an expiry or a risk acceptance's end when no rule is involved; `expired` too.
 */
export const FEED_STAGES: readonly number[] = [30, 7, 1];

/** The stages of a rule: its threshold, then its other stages, most days first. */
export function stagesOf(thresholdDays: number, stages: readonly number[]): number[] {
  return [...new Set([thresholdDays, ...stages])].sort((a, b) => b - a);
}

/**
 * The stage an expiry is at: `expired` once past, else the smallest stage (days left) it is
 * within, e.g. `7d` for 5 days left with stages 30, 7, 1; null while it is beyond the first.
 */
export function stageAt(expiresAt: Date, now: Date, stages: readonly number[]): string | null {
  const daysLeft = (expiresAt.getTime() - now.getTime()) / DAY_MS;
  if (daysLeft <= 0) return 'expired';
  const within = stages.filter((s) => daysLeft <= s);
  return within.length === 0 ? null : `${Math.min(...within)}d`;
}

export function daysLeft(expiresAt: Date, now: Date): number {
  return Math.floor((expiresAt.getTime() - now.getTime()) / DAY_MS);
}

function date(value: unknown): Date | null {
  if (typeof value !== 'string' || value === '') return null;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? null : parsed;
}

function number(value: unknown): number | null {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}

function first(value: unknown): Attributes | undefined {
  const item = Array.isArray(value) ? value[0] : value;
  return item !== null && typeof item === 'object' ? (item as Attributes) : undefined;
}

function addDays(start: Date | null, days: number | null): Date | null {
  return start && days !== null ? new Date(start.getTime() + days * DAY_MS) : null;
}
