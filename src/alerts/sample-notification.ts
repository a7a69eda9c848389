import type { AlertRuleRow } from '../db/schema';
import type { NotificationItem, NotifiedFinding, NotifiedResource } from '../deliveries/notification';

const DAY_MS = 86_400_000;
const SAMPLE_ID = '01JD8X3N5W6Q2R4T7Y9ZSAMPLE';

/** A made-up item of the rule's type, so a test message looks like the real ones. */
export function sampleItem(rule: AlertRuleRow, now: Date): NotificationItem {
  const resource: NotifiedResource = {
    id: `res_${SAMPLE_ID}`,
    native_id: 'fourfold-sample',
    type: 'fourfold_sample',
    name: 'fourfold-sample',
    region: null,
    account: { id: `acc_${SAMPLE_ID}`, name: 'sample account', external_id: 'sample' },
  };
  const finding: NotifiedFinding = {
    id: `fnd_${SAMPLE_ID}`,
    title: `Sample finding (a test of the alert rule "${rule.name}")`,
    severity: rule.filters.min_severity ?? 'high',
    dimension: rule.filters.dimensions?.[0] ?? 'security',
    rule_id: null,
    policy_id: null,
    status: 'open',
  };
  const days = rule.threshold_days ?? 30;
  const ends = { expires_at: new Date(now.getTime() + days * DAY_MS).toISOString(), days_left: days, stage: `${days}d` };
  switch (rule.alert_type) {
    case 'secret_expiring':
    case 'certificate_expiring':
    case 'key_expiring':
      return { kind: 'expiry', resource, ...ends };
    case 'risk_acceptance_expiring':
      return { kind: 'risk_acceptance', finding: { ...finding, status: 'risk_accepted' }, resource, ...ends };
    case 'finding_opened':
    case 'finding_reopened':
      return { kind: 'finding', finding, resource };
    case 'audit_failed':
      return { kind: 'audit', audit: { id: `aud_${SAMPLE_ID}`, mode: 'full', status: 'failed', error_code: 'sample', error_message: 'A sample failure (a test of the alert rule).' } };
    case 'scan_completed':
    case 'scan_failed': {
      const failed = rule.alert_type === 'scan_failed';
      return {
        kind: 'scan',
        scan: {
          id: `scn_${SAMPLE_ID}`,
          mode: 'full',
          status: failed ? 'failed' : 'succeeded',
          error_code: failed ? 'sample' : null,
          error_message: failed ? 'A sample failure (a test of the alert rule).' : null,
          failures: 0,
          audit_id: null,
        },
        account: resource.account,
      };
    }
    case 'rotation_failed':
      return {
        kind: 'rotation',
        rotation: {
          id: `rot_${SAMPLE_ID}`,
          status: 'failed',
          application_id: '00000000-0000-0000-0000-000000000000',
          key_id: '00000000-0000-0000-0000-000000000000',
          failed_step: 'verify',
          error_message: 'A sample failure (a test of the alert rule).',
          policy_id: null,
        },
        account: resource.account,
      };
    case 'sync_failed':
    case 'sync_conflict': {
      const conflict = rule.alert_type === 'sync_conflict';
      return {
        kind: 'sync',
        sync: { id: `syn_${SAMPLE_ID}`, name: 'sample sync' },
        run: {
          id: `synr_${SAMPLE_ID}`,
          trigger: 'api',
          status: conflict ? 'succeeded' : 'failed',
          error_code: conflict ? null : 'sample',
          error_message: conflict ? null : 'A sample failure (a test of the alert rule).',
        },
        result: conflict
          ? { item_kind: 'secret', item_name: 'fourfold-sample', target_account_id: resource.account.id, target_service: 'aws_secrets_manager', target_name: 'fourfold-sample', error: 'A sample conflict.' }
          : null,
      };
    }
    case 'score_dropped': {
      const drop = rule.score_drop?.min_points ?? 10;
      const score = rule.score_drop?.framework !== undefined ? `framework:${rule.score_drop.framework}` : `dimension:${rule.score_drop?.dimension ?? 'security'}`;
      return { kind: 'score', audit_id: `aud_${SAMPLE_ID}`, previous_audit_id: `aud_${SAMPLE_ID}`, score, previous: 90, current: 90 - drop, drop };
    }
  }
}
