/** Where something is, as a message names it. */
export interface NotifiedResource {
  id: string;
  native_id: string;
  type: string;
  name: string | null;
  region: string | null;
  account: { id: string; name: string; external_id: string };
}

/** An expiring (or expired) secret, certificate or key. */
export interface ExpiryItem {
  kind: 'expiry';
  resource: NotifiedResource;
  expires_at: string;
  /** Whole days left, rounded down; negative once expired. */
  days_left: number;
  /** `30d`, `7d`, … or `expired`. */
  stage: string;
}

export interface NotifiedFinding {
  id: string;
  title: string;
  severity: string;
  dimension: string;
  rule_id: string | null;
  policy_id: string | null;
  status: string;
}

/** A finding an audit opened or reopened. */
export interface FindingItem {
  kind: 'finding';
  finding: NotifiedFinding;
  resource: NotifiedResource;
}

/** A risk acceptance that ends (or ended). */
export interface RiskAcceptanceItem {
  kind: 'risk_acceptance';
  finding: NotifiedFinding;
  resource: NotifiedResource;
  expires_at: string;
  days_left: number;
  stage: string;
}

export interface AuditItem {
  kind: 'audit';
  audit: { id: string; mode: string; status: string; error_code: string | null; error_message: string | null };
}

/** A score that fell between two consecutive full audits. */
export interface ScoreItem {
  kind: 'score';
  audit_id: string;
  previous_audit_id: string;
  /** `dimension:security` or `framework:soc2`. */
  score: string;
  previous: number;
  current: number;
  drop: number;
}

/** A discovery scan that ended: succeeded, partially succeeded (`failures` > 0) or failed. */
export interface ScanItem {
  kind: 'scan';
  scan: {
    id: string;
    mode: string;
    status: string;
    error_code: string | null;
    error_message: string | null;
    /** How many services or regions could not be read. */
    failures: number;
    /** The audit that followed it, if one did. */
    audit_id: string | null;
  };
  account: { id: string; name: string; external_id: string };
}

/** A credential rotation that failed (its steps say what was rolled back). */
export interface RotationItem {
  kind: 'rotation';
  rotation: {
    id: string;
    status: string;
    application_id: string;
    key_id: string;
    /** The step that failed. */
    failed_step: string | null;
    error_message: string | null;
    /** The rotation policy that started it; null when a person did. */
    policy_id: string | null;
  };
  account: { id: string; name: string; external_id: string };
}

/** A sync run that failed, or one of its results that is a `conflict` (`result` set). */
export interface SyncItem {
  kind: 'sync';
  sync: { id: string; name: string };
  run: { id: string; trigger: string; status: string; error_code: string | null; error_message: string | null };
  result: { item_kind: string; item_name: string; target_account_id: string; target_service: string; target_name: string; error: string | null } | null;
}

export type NotificationItem = ExpiryItem | FindingItem | RiskAcceptanceItem | AuditItem | ScoreItem | ScanItem | RotationItem | SyncItem;

/** Messages list at most this many items; `total` says how many there were. */
export const MAX_NOTIFIED_ITEMS = 100;

/** What a delivery carries, whatever the method renders it as. */
export interface Notification {
  /** The event type (`secret_expiring`, `finding_opened`, …). */
  type: string;
  /** `resolve`: the items ended (a finding resolved); only PagerDuty is told, to close what it opened. Default `trigger`. */
  action?: 'trigger' | 'resolve';
  /** A daily summary: what the rule raised since `since`, in `events` notifications. */
  digest?: { since: string; events: number };
  alert_rule: { id: string; name: string } | null;
  occurred_at: string;
  /** How many items there were; `items` lists the first `MAX_NOTIFIED_ITEMS`. */
  total: number;
  items: NotificationItem[];
}
