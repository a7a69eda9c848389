import { createHash } from 'node:crypto';
import type { Db } from '../../src/db/database';
import type { FindingStatus } from '../../src/db/schema';
import { insertAuditFindings } from '../../src/audits/audits.repository';
import type { FindingWrite } from '../../src/findings/finding-lifecycle';
import { insertFindings } from '../../src/findings/findings-lifecycle.repository';
import { newId } from '../../src/ids';
import { SEVERITIES, type Dimension, type Severity } from '../../src/rules/rule-definition';
import { seedAudit } from './audits';
import { seedResources } from './inventory';

export interface FindingSeed {
  /** The seeded resource (see `seedFindings`' resources) the finding is on, by index. */
  resource: number;
  ruleId?: string;
  title?: string;
  dimension?: Dimension;
  severity?: Severity;
  status?: FindingStatus;
  statusReason?: string | null;
  expiresAt?: Date | null;
  compliance?: Record<string, string[]>;
  costMonthlyUsd?: number | null;
  firstSeenAt?: Date;
  lastSeenAt?: Date;
  /** Whether the seeded audit saw it failing (an `audit_findings` row); default true. */
  inAudit?: boolean;
}

/**
 * Seeds, straight into the store, resources of `accountId`, one succeeded audit, and findings on
 * those resources as an audit would have written them; answers the ids.
 */
export async function seedFindings(
  db: Db,
  organizationId: string,
  accountId: string,
  resources: Parameters<typeof seedResources>[3],
  findings: FindingSeed[],
): Promise<{ auditId: string; resourceIds: string[]; findingIds: string[] }> {
  const resourceIds = await seedResources(db, organizationId, accountId, resources);
  const at = new Date(Date.UTC(2026, 10, 22, 8));
  const auditId = await seedAudit(db, organizationId, { finishedAt: at });
  const rows = findings.map((seed, i): FindingWrite => {
    const resource = resources[seed.resource]!;
    const resourceId = resourceIds[seed.resource]!;
    const ruleId = seed.ruleId ?? `aws.test.rule_${i}`;
    const severity = seed.severity ?? 'medium';
    const status = seed.status ?? 'open';
    const firstSeenAt = seed.firstSeenAt ?? new Date(Date.UTC(2026, 10, 1) + i * 3_600_000);
    return {
      id: newId('fnd'),
      organization_id: organizationId,
      fingerprint: createHash('sha256').update(`${ruleId}|${resourceId}`).digest('hex'),
      rule_id: ruleId,
      rule_version: 1,
      resource_id: resourceId,
      account_id: accountId,
      resource_type: resource.type,
      region: resource.region ?? 'eu-west-1',
      title: seed.title ?? `Finding ${i}`,
      description: `What finding ${i} means.`,
      dimension: seed.dimension ?? 'security',
      severity,
      severity_rank: SEVERITIES.indexOf(severity),
      status,
      status_reason: seed.statusReason ?? (status === 'resolved' ? 'passed' : null),
      expires_at: seed.expiresAt ?? null,
      note: null,
      evidence: [{ path: 'attributes.acl', value: 'public-read' }],
      remediation: { text: 'Make it private.', terraform: null },
      compliance: seed.compliance ?? { cis_aws_foundations: [], soc2: [], pci_dss: [] },
      cost_monthly_usd: seed.costMonthlyUsd ?? null,
      policy_id: null,
      policy_version: null,
      first_seen_at: firstSeenAt,
      last_seen_at: seed.lastSeenAt ?? at,
      first_audit_id: auditId,
      last_audit_id: auditId,
      resolved_at: status === 'resolved' ? at : null,
      updated_at: at,
    };
  });
  await insertFindings(db, rows);
  await insertAuditFindings(db, auditId, rows.filter((_, i) => findings[i]!.inAudit !== false).map((row) => row.id));
  return { auditId, resourceIds, findingIds: rows.map((row) => row.id) };
}
