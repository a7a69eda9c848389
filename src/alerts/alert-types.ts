import type { Schemas } from '../http/contract';

export type AlertType = Schemas['AlertType'];
export type AlertFilterName = keyof Schemas['AlertFilters'];

const FINDING_FILTERS: readonly AlertFilterName[] = ['min_severity', 'dimensions', 'rule_ids', 'policy_ids', 'account_ids', 'resource_types'];

/**
 * Every alert type is an event type plus the filters it takes: `staged` ones are things that
 * end (notified at `threshold_days` and each stage, once each), the others events that happen
 * once. A new kind of event adds a line here and a source in `alert-runner.ts`.
 */
export const ALERT_TYPES: Record<AlertType, { staged: boolean; filters: readonly AlertFilterName[]; scoreDrop: boolean }> = {
  secret_expiring: { staged: true, filters: ['account_ids', 'resource_types'], scoreDrop: false },
  certificate_expiring: { staged: true, filters: ['account_ids', 'resource_types'], scoreDrop: false },
  key_expiring: { staged: true, filters: ['account_ids', 'resource_types'], scoreDrop: false },
  risk_acceptance_expiring: { staged: true, filters: FINDING_FILTERS, scoreDrop: false },
  finding_opened: { staged: false, filters: FINDING_FILTERS, scoreDrop: false },
  finding_reopened: { staged: false, filters: FINDING_FILTERS, scoreDrop: false },
  audit_failed: { staged: false, filters: [], scoreDrop: false },
  score_dropped: { staged: false, filters: [], scoreDrop: true },
  scan_completed: { staged: false, filters: ['account_ids'], scoreDrop: false },
  scan_failed: { staged: false, filters: ['account_ids'], scoreDrop: false },
  rotation_failed: { staged: false, filters: ['account_ids'], scoreDrop: false },
  sync_failed: { staged: false, filters: ['account_ids'], scoreDrop: false },
  sync_conflict: { staged: false, filters: ['account_ids'], scoreDrop: false },
};

export const STAGED_ALERT_TYPES = (Object.keys(ALERT_TYPES) as AlertType[]).filter((type) => ALERT_TYPES[type].staged);
/** Raised when a discovery scan ends, not by audits. */
export const SCAN_ALERT_TYPES: readonly AlertType[] = ['scan_completed', 'scan_failed'];
/** Raised when a credential rotation fails. */
export const ROTATION_ALERT_TYPES: readonly AlertType[] = ['rotation_failed'];
/** Raised when a sync run ends. */
export const SYNC_ALERT_TYPES: readonly AlertType[] = ['sync_failed', 'sync_conflict'];
/** Raised after each audit. */
export const AUDIT_ALERT_TYPES = (Object.keys(ALERT_TYPES) as AlertType[]).filter(
  (type) => !SCAN_ALERT_TYPES.includes(type) && !ROTATION_ALERT_TYPES.includes(type) && !SYNC_ALERT_TYPES.includes(type),
);
