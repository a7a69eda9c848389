import type { Db } from '../../src/db/database';
import type { FindingStatus } from '../../src/db/schema';
import { insertAuditFindings } from '../../src/audits/audits.repository';
import { insertFindings } from '../../src/findings/findings-lifecycle.repository';
import { newId } from '../../src/ids';

/** A finding of `ruleId` on the resource, seen failing by each of `auditIds`; answers its id. */
export async function seedFinding(
  db: Db,
  organizationId: string,
  { ruleId, resourceId, status, auditIds }: { ruleId: string; resourceId: string; status: FindingStatus; auditIds: string[] },
): Promise<string> {
  const id = newId('fnd');
  const at = new Date();
  await insertFindings(db, [
    {
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
      evidence: [],
      remediation: { text: 'Fix it.', terraform: null },
      compliance: {},
      cost_monthly_usd: null,
      policy_id: null,
      policy_version: null,
      first_seen_at: at,
      last_seen_at: at,
      first_audit_id: auditIds[0]!,
      last_audit_id: auditIds.at(-1)!,
      resolved_at: status === 'resolved' ? at : null,
      updated_at: at,
    },
  ]);
  for (const auditId of auditIds) await insertAuditFindings(db, auditId, [id]);
  return id;
}
