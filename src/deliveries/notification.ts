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

export type NotificationItem = ExpiryItem;

/** What a delivery carries, whatever the method renders it as. */
export interface Notification {
  /** The event type (`secret_expiring`, …). */
  type: string;
  alert_rule: { id: string; name: string } | null;
  occurred_at: string;
  items: NotificationItem[];
}
