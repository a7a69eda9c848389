import { ulid } from 'ulidx';
import type { Db } from '../../src/db/database';
import type { AuditStatus, AuditSummaryData, FindingStatus } from '../../src/db/schema';

type RuleResults = AuditSummaryData['rule_results'];

const NO_FINDINGS = { info: 0, low: 0, medium: 0, high: 0, critical: 0 };

/**
 * Seeds an audit straight into the store, as the audit runner would leave it: `rule_results`
 * says how many resources each rule was evaluated and failed on. Answers its id.
 */
export async function seedAudit(
  db: Db,
  organizationId: string,
  { status = 'succeeded', finishedAt = new Date(), ruleResults = {} }: { status?: AuditStatus; finishedAt?: Date; ruleResults?: RuleResults },
): Promise<string> {
  const id = `aud_${ulid()}`;
  const finished = status === 'succeeded' || status === 'failed' || status === 'canceled';
  const summary: AuditSummaryData = {
    findings: { security: NO_FINDINGS, cost: NO_FINDINGS, architecture: NO_FINDINGS, compliance: NO_FINDINGS },
    new: 0,
    recurring: 0,
    resolved: 0,
    weights: { security: { evaluated: 0, failed: 0 }, cost: { evaluated: 0, failed: 0 }, architecture: { evaluated: 0, failed: 0 }, compliance: { evaluated: 0, failed: 0 } },
    coverage: { resources_evaluated: 0, rules_evaluated: Object.keys(ruleResults).length, evaluations: 0, evaluation_errors: 0 },
    rule_results: ruleResults,
    errors: [],
  };
  await db
    .insertInto('audits')
    .values({
      id,
      organization_id: organizationId,
      parent_audit_id: null,
      mode: 'full',
      account_ids: null,
      status,
      error_code: null,
      error_message: null,
      catalogue_version: finished ? 'abc123def456' : null,
      rule_versions: JSON.stringify(finished ? Object.fromEntries(Object.keys(ruleResults).map((rule) => [rule, 1])) : null),
      summary: JSON.stringify(status === 'succeeded' ? summary : null),
      created_by: 'usr_01JD8X3N5W6Q2R4T7Y9ZABCDEF',
      created_at: new Date(finishedAt.getTime() - 60_000),
      started_at: new Date(finishedAt.getTime() - 50_000),
      finished_at: finished ? finishedAt : null,
    })
    .execute();
  return id;
}

/** A finding of `ruleId` on the resource, seen failing by each of `auditIds`; answers its id. */
export async function seedFinding(
  db: Db,
  organizationId: string,
  { ruleId, resourceId, status, auditIds }: { ruleId: string; resourceId: string; status: FindingStatus; auditIds: string[] },
): Promise<string> {
  const id = `fnd_${ulid()}`;
  const at = new Date();
  await db
    .insertInto('findings')
    .values({
      id,
      organization_id: organizationId,
      fingerprint: `${ruleId}:${resourceId}`,
      rule_id: ruleId,
      rule_version: 1,
      resource_id: resourceId,
      account_id: 'acc_01JD8X3N5W6Q2R4T7Y9ZABCDEF',
      resource_type: 'aws_s3_bucket',
      region: 'eu-west-1',
      title: ruleId,
      description: ruleId,
      dimension: 'security',
      severity: 'high',
      severity_rank: 3,
      status,
      status_reason: null,
      expires_at: null,
      note: null,
      evidence: JSON.stringify([]),
      remediation: JSON.stringify({ text: 'Fix it.', terraform: null }),
      compliance: JSON.stringify({}),
      cost_monthly_usd: null,
      first_seen_at: at,
      last_seen_at: at,
      first_audit_id: auditIds[0]!,
      last_audit_id: auditIds.at(-1)!,
      resolved_at: status === 'resolved' ? at : null,
      updated_at: at,
    })
    .execute();
  await db.insertInto('audit_findings').values(auditIds.map((auditId) => ({ audit_id: auditId, finding_id: id }))).execute();
  return id;
}
