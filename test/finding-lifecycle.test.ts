import type { FindingRow, FindingStatus } from '../src/db/schema';
import {
  decideAuditFindings,
  evaluationKey,
  expiredEvents,
  fingerprintOf,
  resolveGoneResourceFindings,
  settlesGoneResources,
  statusChangedEvent,
  type AuditResults,
  type FailedEvaluation,
  type IdMaker,
} from '../src/findings/finding-lifecycle';

// Pure: no database, no clock. Times are fixed; ids come from a counter.
const STARTED = new Date('2026-11-26T10:00:00Z');
const SEEN = new Date('2026-11-26T10:00:01Z');
const NOW = new Date('2026-11-26T10:05:00Z');
const BEFORE = new Date('2026-11-20T08:00:00Z');
const AUDIT = { id: 'aud_NEW', organization_id: 'org_A', mode: 'full' as const, started_at: STARTED };
const RULE = 'aws.s3.bucket_public_read';
const POLICY = 'pol_CUSTOM';

function counter(): IdMaker {
  let n = 0;
  return (prefix) => `${prefix}_${String(++n).padStart(4, '0')}`;
}

function failure(resourceId: string, ruleId = RULE, extra: Partial<FailedEvaluation['content']> = {}): FailedEvaluation {
  return {
    ruleId,
    resource: { id: resourceId, account_id: 'acc_1', type: 'aws_s3_bucket', region: 'eu-west-1' },
    content: {
      rule_version: 2,
      policy_id: null,
      policy_version: null,
      title: 'Bucket is publicly readable',
      description: 'Anyone can read it.',
      dimension: 'security',
      severity: 'high',
      evidence: [{ path: 'attributes.acl', value: 'public-read' }],
      remediation: { text: 'Make it private.', terraform: null },
      compliance: { soc2: ['CC6.1'] },
      cost_monthly_usd: null,
      ...extra,
    },
  };
}

function finding(id: string, resourceId: string, extra: Partial<FindingRow> & { status?: FindingStatus } = {}): FindingRow {
  const ruleId = extra.rule_id ?? RULE;
  const status = extra.status ?? 'open';
  return {
    id,
    organization_id: 'org_A',
    fingerprint: fingerprintOf(ruleId, resourceId),
    rule_id: ruleId,
    rule_version: 1,
    resource_id: resourceId,
    account_id: 'acc_1',
    resource_type: 'aws_s3_bucket',
    region: 'eu-west-1',
    title: 'Old title',
    description: 'Old description.',
    dimension: 'security',
    severity: 'medium',
    severity_rank: 2,
    status,
    status_reason: status === 'resolved' ? 'passed' : null,
    expires_at: null,
    note: null,
    evidence: [],
    remediation: { text: 'Old.', terraform: null },
    compliance: {},
    cost_monthly_usd: null,
    policy_id: null,
    policy_version: null,
    first_seen_at: BEFORE,
    last_seen_at: BEFORE,
    first_audit_id: 'aud_OLD',
    last_audit_id: 'aud_OLD',
    resolved_at: status === 'resolved' ? BEFORE : null,
    updated_at: BEFORE,
    ...extra,
  };
}

function results(extra: Partial<AuditResults> = {}): AuditResults {
  return {
    audit: AUDIT,
    seenAt: SEEN,
    now: NOW,
    failures: [],
    passed: new Set(),
    excepted: new Set(),
    findings: [],
    stillCurrent: new Set(['res_1', 'res_2', 'res_3']),
    goneFindings: [],
    ruleCovers: () => true,
    newId: counter(),
    ...extra,
  };
}

describe('decideAuditFindings', () => {
  it('opens a finding for a failure never seen before, with an opened event', () => {
    const changes = decideAuditFindings(results({ failures: [failure('res_1')] }));

    expect(changes.opened).toEqual([
      expect.objectContaining({
        id: 'fnd_0001',
        organization_id: 'org_A',
        fingerprint: fingerprintOf(RULE, 'res_1'),
        rule_id: RULE,
        rule_version: 2,
        resource_id: 'res_1',
        account_id: 'acc_1',
        resource_type: 'aws_s3_bucket',
        region: 'eu-west-1',
        title: 'Bucket is publicly readable',
        severity: 'high',
        severity_rank: 3,
        status: 'open',
        status_reason: null,
        resolved_at: null,
        first_seen_at: SEEN,
        last_seen_at: SEEN,
        first_audit_id: 'aud_NEW',
        last_audit_id: 'aud_NEW',
        updated_at: NOW,
      }),
    ]);
    expect(changes.events).toEqual([
      {
        id: 'fev_0002', finding_id: 'fnd_0001', type: 'opened', from_status: null, to_status: 'open', reason: null,
        actor_user_id: null, audit_id: 'aud_NEW', created_at: NOW,
      },
    ]);
    expect(changes.seen).toEqual(['fnd_0001']);
    expect(changes.counts).toEqual({ new: 1, recurring: 0, resolved: 0 });
    expect(changes.reopened).toEqual([]);
    expect(changes.updated).toEqual([]);
    expect(changes.resolved).toEqual([]);
  });

  it('refreshes an open finding that fails again, with no event (recurring)', () => {
    const changes = decideAuditFindings(results({ failures: [failure('res_1')], findings: [finding('fnd_A', 'res_1')] }));

    expect(changes.opened).toEqual([]);
    expect(changes.updated).toEqual([
      expect.objectContaining({
        id: 'fnd_A', status: 'open', status_reason: null, resolved_at: null, rule_version: 2, title: 'Bucket is publicly readable',
        severity: 'high', severity_rank: 3, last_seen_at: SEEN, last_audit_id: 'aud_NEW', updated_at: NOW,
      }),
    ]);
    expect(changes.updated[0]).not.toHaveProperty('first_seen_at');
    expect(changes.events).toEqual([]);
    expect(changes.seen).toEqual(['fnd_A']);
    expect(changes.counts).toEqual({ new: 0, recurring: 1, resolved: 0 });
  });

  it('reopens a resolved finding that fails again (recurrence), with a reopened event', () => {
    const changes = decideAuditFindings(results({ failures: [failure('res_1')], findings: [finding('fnd_A', 'res_1', { status: 'resolved' })] }));

    expect(changes.reopened).toEqual([expect.objectContaining({ id: 'fnd_A', status: 'open', status_reason: null, resolved_at: null, last_seen_at: SEEN })]);
    expect(changes.updated).toEqual([]);
    expect(changes.events).toEqual([
      expect.objectContaining({ finding_id: 'fnd_A', type: 'reopened', from_status: 'resolved', to_status: 'open', reason: 'failed again', audit_id: 'aud_NEW' }),
    ]);
    expect(changes.counts).toEqual({ new: 0, recurring: 1, resolved: 0 });
  });

  it('keeps suppressed and risk-accepted findings as they are when they fail again, and never resolves them', () => {
    const suppressed = finding('fnd_S', 'res_1', { status: 'suppressed', status_reason: 'known', note: 'n' });
    const accepted = finding('fnd_R', 'res_2', { status: 'risk_accepted', status_reason: 'accepted', expires_at: new Date('2027-01-01T00:00:00Z') });
    const failing = decideAuditFindings(results({ failures: [failure('res_1'), failure('res_2')], findings: [suppressed, accepted] }));

    expect(failing.updated).toEqual([
      expect.objectContaining({ id: 'fnd_S', status: 'suppressed', status_reason: 'known', last_seen_at: SEEN }),
      expect.objectContaining({ id: 'fnd_R', status: 'risk_accepted', status_reason: 'accepted' }),
    ]);
    expect(failing.events).toEqual([]);
    expect(failing.counts.recurring).toBe(2);

    const passing = decideAuditFindings(
      results({ passed: new Set([evaluationKey(RULE, 'res_1')]), excepted: new Set([evaluationKey(RULE, 'res_2')]), findings: [suppressed, accepted] }),
    );
    expect(passing.resolved).toEqual([]);
    expect(passing.events).toEqual([]);
  });

  it('resolves an open finding whose rule passed, with a resolved event at now', () => {
    const changes = decideAuditFindings(
      results({ passed: new Set([evaluationKey(RULE, 'res_1')]), findings: [finding('fnd_A', 'res_1'), finding('fnd_B', 'res_2')] }),
    );

    expect(changes.resolved).toEqual([{ id: 'fnd_A', reason: 'passed' }]);
    expect(changes.resolvedAt).toEqual(NOW);
    expect(changes.events).toEqual([
      {
        id: 'fev_0001', finding_id: 'fnd_A', type: 'resolved', from_status: 'open', to_status: 'resolved', reason: 'passed',
        actor_user_id: null, audit_id: 'aud_NEW', created_at: NOW,
      },
    ]);
    expect(changes.counts).toEqual({ new: 0, recurring: 0, resolved: 1 });
    expect(changes.seen).toEqual([]);
  });

  it('treats an unknown result like no evaluation: an open finding whose rule is now unknown stays open, untouched, and nothing opens', () => {
    // The audit passes neither failures nor passes for an unknown (rule, resource): res_1's rule is unknown, res_2's passed.
    const changes = decideAuditFindings(
      results({ passed: new Set([evaluationKey(RULE, 'res_2')]), findings: [finding('fnd_A', 'res_1'), finding('fnd_B', 'res_2')] }),
    );
    expect(changes.resolved).toEqual([{ id: 'fnd_B', reason: 'passed' }]);
    expect([...changes.opened, ...changes.reopened, ...changes.updated]).toEqual([]);
    expect(changes.events.map((e) => e.finding_id)).toEqual(['fnd_B']);
    expect(changes.seen).toEqual([]);
  });

  it('resolves as excepted_by_policy an open finding whose evaluation an override skipped', () => {
    const changes = decideAuditFindings(results({ excepted: new Set([evaluationKey(RULE, 'res_1')]), findings: [finding('fnd_A', 'res_1')] }));

    expect(changes.resolved).toEqual([{ id: 'fnd_A', reason: 'excepted_by_policy' }]);
    expect(changes.events.map((e) => e.reason)).toEqual(['excepted_by_policy']);
  });

  it('a pass wins over an exception for the same evaluation key', () => {
    const key = evaluationKey(RULE, 'res_1');
    const changes = decideAuditFindings(results({ passed: new Set([key]), excepted: new Set([key]), findings: [finding('fnd_A', 'res_1')] }));

    expect(changes.resolved).toEqual([{ id: 'fnd_A', reason: 'passed' }]);
  });

  it('resolves as policy_disabled an open custom-policy finding whose policy no longer covers the resource type; built-in findings are not', () => {
    const custom = finding('fnd_C', 'res_1', { rule_id: POLICY, policy_id: POLICY, policy_version: 1 });
    const stillCovered = finding('fnd_D', 'res_2', { rule_id: 'pol_OTHER', policy_id: 'pol_OTHER', policy_version: 3 });
    const builtIn = finding('fnd_E', 'res_3');
    const covers: string[] = [];
    const changes = decideAuditFindings(
      results({
        findings: [custom, stillCovered, builtIn],
        ruleCovers: (ruleId, type) => {
          covers.push(`${ruleId}:${type}`);
          return ruleId === 'pol_OTHER';
        },
      }),
    );

    expect(changes.resolved).toEqual([{ id: 'fnd_C', reason: 'policy_disabled' }]);
    expect(changes.events).toEqual([expect.objectContaining({ finding_id: 'fnd_C', type: 'resolved', reason: 'policy_disabled' })]);
    expect(covers).toEqual([`${POLICY}:aws_s3_bucket`, 'pol_OTHER:aws_s3_bucket']);
  });

  it('opens a custom-policy finding with its policy and version', () => {
    const changes = decideAuditFindings(results({ failures: [failure('res_1', POLICY, { policy_id: POLICY, policy_version: 4 })] }));

    expect(changes.opened).toEqual([expect.objectContaining({ rule_id: POLICY, policy_id: POLICY, policy_version: 4, fingerprint: fingerprintOf(POLICY, 'res_1') })]);
  });

  it('a full audit resolves open findings of gone resources as resource_gone; an incremental audit leaves them', () => {
    const gone = [finding('fnd_G', 'res_9')];
    const full = decideAuditFindings(results({ goneFindings: gone, passed: new Set([evaluationKey(RULE, 'res_1')]), findings: [finding('fnd_A', 'res_1')] }));

    expect(full.resolved).toEqual([
      { id: 'fnd_A', reason: 'passed' },
      { id: 'fnd_G', reason: 'resource_gone' },
    ]);
    expect(full.events.map((e) => [e.finding_id, e.reason, e.audit_id])).toEqual([
      ['fnd_A', 'passed', 'aud_NEW'],
      ['fnd_G', 'resource_gone', 'aud_NEW'],
    ]);
    expect(full.counts.resolved).toBe(2);

    const incremental = decideAuditFindings(results({ audit: { ...AUDIT, mode: 'incremental' }, goneFindings: gone }));
    expect(incremental.resolved).toEqual([]);
    expect(incremental.events).toEqual([]);
    expect(settlesGoneResources('full')).toBe(true);
    expect(settlesGoneResources('incremental')).toBe(false);
    expect(settlesGoneResources('reanalysis')).toBe(false);
  });

  it('leaves to the next audit a resource changed or gone since it was read: no open, no recurrence, no resolution', () => {
    const changes = decideAuditFindings(
      results({
        stillCurrent: new Set(['res_2']),
        failures: [failure('res_1'), failure('res_3')],
        passed: new Set([evaluationKey(RULE, 'res_4')]),
        findings: [finding('fnd_A', 'res_1', { status: 'resolved' }), finding('fnd_D', 'res_4')],
      }),
    );

    expect(changes.opened).toEqual([]);
    expect(changes.reopened).toEqual([]);
    expect(changes.resolved).toEqual([]);
    expect(changes.events).toEqual([]);
    expect(changes.seen).toEqual([]);
    expect(changes.counts).toEqual({ new: 0, recurring: 0, resolved: 0 });
  });

  it('leaves alone a finding changed since the audit started (triage, expiry, a newer audit): counted and seen, not rewritten', () => {
    const touched = new Date(STARTED.getTime() + 1);
    const reopenedByTriage = finding('fnd_A', 'res_1', { status: 'resolved', updated_at: touched });
    const triaged = finding('fnd_B', 'res_2', { updated_at: touched });
    const untouched = finding('fnd_C', 'res_3', { updated_at: STARTED });
    const changes = decideAuditFindings(
      results({
        failures: [failure('res_1')],
        passed: new Set([evaluationKey(RULE, 'res_2'), evaluationKey(RULE, 'res_3')]),
        findings: [reopenedByTriage, triaged, untouched],
      }),
    );

    expect(changes.reopened).toEqual([]);
    expect(changes.updated).toEqual([]);
    expect(changes.seen).toEqual(['fnd_A']);
    expect(changes.counts).toEqual({ new: 0, recurring: 1, resolved: 1 });
    // Updated exactly when the audit started is not "since": it is resolved.
    expect(changes.resolved).toEqual([{ id: 'fnd_C', reason: 'passed' }]);
  });

  it('a reanalysis opens findings never seen before but changes no existing finding', () => {
    const changes = decideAuditFindings(
      results({
        audit: { ...AUDIT, mode: 'reanalysis' },
        stillCurrent: null,
        failures: [failure('res_1'), failure('res_2'), failure('res_7')],
        passed: new Set([evaluationKey(RULE, 'res_3')]),
        findings: [finding('fnd_A', 'res_1', { status: 'resolved' }), finding('fnd_B', 'res_2'), finding('fnd_C', 'res_3')],
        goneFindings: [finding('fnd_G', 'res_9')],
      }),
    );

    expect(changes.opened.map((f) => f.resource_id)).toEqual(['res_7']);
    expect(changes.reopened).toEqual([]);
    expect(changes.updated).toEqual([]);
    expect(changes.resolved).toEqual([]);
    expect(changes.events.map((e) => e.type)).toEqual(['opened']);
    expect(changes.seen).toEqual(['fnd_A', 'fnd_B', changes.opened[0]!.id]);
    expect(changes.counts).toEqual({ new: 1, recurring: 2, resolved: 0 });
  });

  it('makes the events in the order of the changes: failures first, then resolutions, then gone resources', () => {
    const changes = decideAuditFindings(
      results({
        failures: [failure('res_1'), failure('res_2')],
        passed: new Set([evaluationKey(RULE, 'res_3')]),
        findings: [finding('fnd_B', 'res_2', { status: 'resolved' }), finding('fnd_C', 'res_3')],
        goneFindings: [finding('fnd_G', 'res_9')],
      }),
    );

    expect(changes.events.map((e) => [e.id, e.type, e.finding_id])).toEqual([
      ['fev_0002', 'opened', 'fnd_0001'],
      ['fev_0003', 'reopened', 'fnd_B'],
      ['fev_0004', 'resolved', 'fnd_C'],
      ['fev_0005', 'resolved', 'fnd_G'],
    ]);
    expect(changes.counts).toEqual({ new: 1, recurring: 1, resolved: 2 });
  });

  it('matches findings by fingerprint of rule and resource: another rule on the same resource is a new finding', () => {
    expect(fingerprintOf(RULE, 'res_1')).toBe(fingerprintOf(RULE, 'res_1'));
    expect(fingerprintOf(RULE, 'res_1')).not.toBe(fingerprintOf('aws.s3.versioning_disabled', 'res_1'));
    expect(fingerprintOf(RULE, 'res_1')).toMatch(/^[0-9a-f]{32}$/);

    const changes = decideAuditFindings(results({ failures: [failure('res_1', 'aws.s3.versioning_disabled')], findings: [finding('fnd_A', 'res_1')] }));
    expect(changes.opened.map((f) => f.rule_id)).toEqual(['aws.s3.versioning_disabled']);
    expect(changes.updated).toEqual([]);
  });
});

describe('the other lifecycle events', () => {
  it('an import resolves the findings of gone resources as resource_gone at its time, with events of no audit', () => {
    const at = new Date('2026-11-27T00:00:00Z');
    const changes = resolveGoneResourceFindings([{ id: 'fnd_A' }, { id: 'fnd_B' }], at, counter());

    expect(changes.resolved).toEqual([
      { id: 'fnd_A', reason: 'resource_gone' },
      { id: 'fnd_B', reason: 'resource_gone' },
    ]);
    expect(changes.resolvedAt).toEqual(at);
    expect(changes.opened).toEqual([]);
    expect(changes.events).toEqual([
      { id: 'fev_0001', finding_id: 'fnd_A', type: 'resolved', from_status: 'open', to_status: 'resolved', reason: 'resource_gone', actor_user_id: null, audit_id: null, created_at: at },
      { id: 'fev_0002', finding_id: 'fnd_B', type: 'resolved', from_status: 'open', to_status: 'resolved', reason: 'resource_gone', actor_user_id: null, audit_id: null, created_at: at },
    ]);
  });

  it('triage is a status_changed event by its user; an ended risk acceptance is an expired event by the system', () => {
    expect(statusChangedEvent(counter(), { findingId: 'fnd_A', from: 'open', to: 'suppressed', reason: 'test data', actorUserId: 'usr_1', at: NOW })).toEqual({
      id: 'fev_0001', finding_id: 'fnd_A', type: 'status_changed', from_status: 'open', to_status: 'suppressed', reason: 'test data',
      actor_user_id: 'usr_1', audit_id: null, created_at: NOW,
    });
    expect(expiredEvents(counter(), ['fnd_A'], 'risk_acceptance_expired', NOW)).toEqual([
      { id: 'fev_0001', finding_id: 'fnd_A', type: 'expired', from_status: 'risk_accepted', to_status: 'open', reason: 'risk_acceptance_expired', actor_user_id: null, audit_id: null, created_at: NOW },
    ]);
  });
});
