import request from 'supertest';
import { contentHashOf, decideAuditFindings, fingerprintOf, type AuditResults, type CurrentFinding, type FailedEvaluation } from '../src/findings/finding-lifecycle';
import { as, useTestApp } from './support/app';
import { runAuditThroughHttp } from './support/audits';

// An audit that sees a finding fail again with the content it already holds rewrites only its
// sighting (last_seen_at, last_audit_id, updated_at); a changed content or status is rewritten in full.
const STARTED = new Date('2026-11-26T10:00:00Z');
const SEEN = new Date('2026-11-26T10:00:01Z');
const NOW = new Date('2026-11-26T10:05:00Z');
const RULE = 'aws.ec2.ebs_volume_unencrypted';

function failure(evidence: unknown): FailedEvaluation {
  return {
    ruleId: RULE,
    resource: { id: 'res_1', account_id: 'acc_1', type: 'aws_ebs_volume', region: 'eu-west-1' },
    content: {
      rule_version: 1, policy_id: null, policy_version: null, title: 'Unencrypted volume', description: 'Its data is stored in clear.',
      dimension: 'security', severity: 'high', evidence, remediation: { text: 'Encrypt it.', terraform: null }, compliance: { soc2: ['CC6.1'] }, cost_monthly_usd: null,
    },
  };
}

function current(status: CurrentFinding['status'], contentHash: string | null): CurrentFinding {
  return {
    id: 'fnd_A', fingerprint: fingerprintOf(RULE, 'res_1'), rule_id: RULE, resource_id: 'res_1', resource_type: 'aws_ebs_volume', policy_id: null,
    status, status_reason: status === 'resolved' ? 'passed' : null, resolved_at: status === 'resolved' ? STARTED : null, updated_at: STARTED, content_hash: contentHash,
  };
}

function decide(failing: FailedEvaluation, finding: CurrentFinding) {
  const results: AuditResults = {
    audit: { id: 'aud_NEW', organization_id: 'org_A', mode: 'full', started_at: STARTED },
    seenAt: SEEN, now: NOW, failures: [failing], passed: new Set(), excepted: new Set(), findings: [finding],
    stillCurrent: new Set(['res_1']), goneFindings: [], ruleCovers: () => true, newId: (prefix) => `${prefix}_1`,
  };
  return decideAuditFindings(results);
}

describe('what an audit rewrites of a finding that fails again', () => {
  const evidence = [{ path: 'attributes.encrypted', value: false }];
  const same = contentHashOf(failure(evidence).content, 'eu-west-1');

  it('only its sighting when the content is the one it holds, in any status but resolved', () => {
    for (const status of ['open', 'suppressed', 'risk_accepted'] as const) {
      const changes = decide(failure(evidence), current(status, same));
      expect(changes.updated).toEqual([]);
      expect(changes.sighted).toEqual({ ids: ['fnd_A'], lastSeenAt: SEEN, auditId: 'aud_NEW', at: NOW });
      expect(changes.seen).toEqual(['fnd_A']);
      expect(changes.counts).toEqual({ new: 0, recurring: 1, resolved: 0 });
      expect(changes.events).toEqual([]);
    }
  });

  it('the whole content when any of it changed, or when the finding holds no hash yet', () => {
    for (const [failing, region] of [
      [failure([{ path: 'attributes.encrypted', value: null }]), 'eu-west-1'],
      [{ ...failure(evidence), content: { ...failure(evidence).content, severity: 'critical' as const } }, 'eu-west-1'],
      [failure(evidence), 'us-east-1'],
    ] as const) {
      const changes = decide({ ...failing, resource: { ...failing.resource, region } }, current('open', same));
      expect(changes.sighted).toBeUndefined();
      expect(changes.updated).toEqual([expect.objectContaining({ id: 'fnd_A', region, content_hash: contentHashOf(failing.content, region) })]);
      expect(changes.updated[0]!.content_hash).not.toBe(same);
    }
    expect(decide(failure(evidence), current('open', null)).updated).toEqual([expect.objectContaining({ id: 'fnd_A', content_hash: same })]);
  });

  it('reopens a resolved finding with the same content (its status changes)', () => {
    const changes = decide(failure(evidence), current('resolved', same));
    expect(changes.sighted).toBeUndefined();
    expect(changes.reopened).toEqual([expect.objectContaining({ id: 'fnd_A', status: 'open', content_hash: same })]);
    expect(changes.events).toEqual([expect.objectContaining({ type: 'reopened', finding_id: 'fnd_A' })]);
  });
});

describe('audits of an unchanged estate, through HTTP', () => {
  const t = useTestApp({}, { workers: true });
  let owner: string;
  let account: string;

  const volume = (i: number, kmsKeyId: string | null) => {
    const id = `vol-${String(i).padStart(17, '0')}`;
    const native_id = `arn:aws:ec2:us-west-2:345678901234:volume/${id}`;
    return {
      type: 'aws_ebs_volume', native_id, provider: 'aws', region: 'us-west-2', name: `data-${i}`, tags: { env: 'dev' },
      attributes: { arn: native_id, id, availability_zone: 'us-west-2b', encrypted: false, kms_key_id: kmsKeyId, size: 10, type: 'gp3' },
      relationships: [],
    };
  };
  const importVolumes = (resources: ReturnType<typeof volume>[]) =>
    request(t.app).post(`/v1/accounts/${account}/imports?format=native&mode=full`).set(as(owner)).send({ resources }).expect(201);
  const findingsOf = () =>
    t.db
      .selectFrom('findings as f')
      .innerJoin('finding_sightings as s', 's.finding_id', 'f.id')
      .innerJoin('resources as r', 'r.id', 'f.resource_id')
      .select(['f.id', 'r.name', 'f.evidence', 'f.title', 's.last_audit_id', 's.last_seen_at', 's.updated_at', 'f.content_hash', 'f.status'])
      .where('f.rule_id', '=', RULE)
      .orderBy('r.name')
      .execute();

  beforeAll(async () => {
    owner = await t.ownerToken();
    account = (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: '345678901234', name: 'rewrites' }).expect(201)).body.id;
  });

  it('records the sighting of unchanged findings and rewrites the content of changed ones', async () => {
    await importVolumes([volume(0, null), volume(1, null)]);
    const first = await runAuditThroughHttp(t.app, owner);
    expect(first.status).toBe('succeeded');
    const before = await findingsOf();
    expect(before.map((f) => [f.name, f.last_audit_id, f.status])).toEqual([['data-0', first.id, 'open'], ['data-1', first.id, 'open']]);
    expect(before.every((f) => typeof f.content_hash === 'string')).toBe(true);

    const second = await runAuditThroughHttp(t.app, owner);
    expect(second.summary).toMatchObject({ new: 0, resolved: 0 });
    const unchanged = await findingsOf();
    expect(unchanged.map((f) => [f.id, f.last_audit_id, f.content_hash, f.evidence])).toEqual(before.map((f) => [f.id, second.id, f.content_hash, f.evidence]));
    for (const [i, f] of unchanged.entries()) {
      expect(f.last_seen_at.getTime()).toBeGreaterThan(before[i]!.last_seen_at.getTime());
      expect(f.updated_at.getTime()).toBeGreaterThan(before[i]!.updated_at.getTime());
    }
    const listed = await request(t.app).get(`/v1/findings?audit_id=${second.id}&rule_id=${RULE}&sort=-last_seen_at`).set(as(owner)).expect(200);
    expect(listed.body.data.map((f: { id: string }) => f.id).sort()).toEqual(before.map((f) => f.id).sort());
    // The API shows the sighting the second audit recorded, as it stored it.
    const shown = (f: { id: string; last_audit_id: string; last_seen_at: string; updated_at: string }) => [f.id, f.last_audit_id, f.last_seen_at, f.updated_at];
    expect(listed.body.data.map(shown).sort()).toEqual(unchanged.map((f) => [f.id, second.id, f.last_seen_at.toISOString(), f.updated_at.toISOString()]).sort());

    // A key set on data-1 changes its evidence (still unencrypted: it keeps failing).
    await importVolumes([volume(0, null), volume(1, 'arn:aws:kms:us-west-2:345678901234:key/1234')]);
    const third = await runAuditThroughHttp(t.app, owner);
    const after = await findingsOf();
    expect(after.map((f) => f.last_audit_id)).toEqual([third.id, third.id]);
    expect(after[0]).toMatchObject({ evidence: unchanged[0]!.evidence, content_hash: unchanged[0]!.content_hash });
    expect(after[1]!.evidence).toEqual(expect.arrayContaining([{ path: 'attributes.kms_key_id', value: 'arn:aws:kms:us-west-2:345678901234:key/1234' }]));
    expect(after[1]!.content_hash).not.toBe(unchanged[1]!.content_hash);
  });
});
