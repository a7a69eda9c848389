import type { Db } from '../db/database';
import type { AppliedPolicyVersion } from '../db/schema';

const AUDIT_COLUMNS = ['id', 'status', 'finished_at', 'catalogue_version', 'summary', 'policy_versions'] as const;

/**
 * The organization's succeeded full audit of every account that finished last: incremental,
 * account-scoped and reanalysis audits see only part of the estate, or a past one.
 */
export function findLatestSucceededAudit(db: Db, organizationId: string) {
  return db
    .selectFrom('audits')
    .select(AUDIT_COLUMNS)
    .where('organization_id', '=', organizationId)
    .where('status', '=', 'succeeded')
    .where('mode', '=', 'full')
    .where('account_ids', 'is', null)
    .orderBy('finished_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/**
 * Each (rule, resource) the audit saw failing, once, leaving out findings now `suppressed`
 * (declared false positives).
 */
export function listAuditFailures(db: Db, organizationId: string, auditId: string): Promise<{ rule_id: string; resource_id: string }[]> {
  return db
    .selectFrom('audit_findings')
    .innerJoin('findings', 'findings.id', 'audit_findings.finding_id')
    .select(['findings.rule_id', 'findings.resource_id'])
    .distinct()
    .where('audit_findings.audit_id', '=', auditId)
    .where('findings.organization_id', '=', organizationId)
    .where('findings.status', '<>', 'suppressed')
    .execute();
}

/** The custom rules among the policy versions an audit applied: overrides map no controls of their own. */
export async function listAppliedCustomRules(db: Db, organizationId: string, applied: readonly AppliedPolicyVersion[]) {
  if (applied.length === 0) return [];
  const rows = await db
    .selectFrom('policy_versions')
    .select(['policy_id', 'custom'])
    .where('organization_id', '=', organizationId)
    .where((eb) => eb.or(applied.map(({ policy_id, version }) => eb.and([eb('policy_id', '=', policy_id), eb('version', '=', version)]))))
    .where('custom', 'is not', null)
    .orderBy('policy_id')
    .execute();
  return rows.flatMap(({ policy_id, custom }) => (custom ? [{ id: policy_id, ...custom, compliance: custom.compliance ?? {} }] : []));
}
