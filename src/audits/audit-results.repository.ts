import { sql } from 'kysely';
import type { Db } from '../db/database';
import type { FindingRow, FindingsTable } from '../db/schema';
import { insertFindingEvents } from '../findings/findings.repository';
import { newId } from '../ids';

const BATCH = 2000;

/**
 * The organization's findings on these resources (all statuses), locked for the rest of the
 * transaction so that triage and the expiry job wait rather than be overwritten.
 */
export async function lockFindingsOfResources(db: Db, organizationId: string, resourceIds: string[]): Promise<FindingRow[]> {
  const found: FindingRow[] = [];
  for (let i = 0; i < resourceIds.length; i += BATCH * 5) {
    const ids = resourceIds.slice(i, i + BATCH * 5);
    found.push(
      ...(await db
        .selectFrom('findings')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .where('resource_id', '=', sql<string>`any(${ids}::text[])`)
        .orderBy('id')
        .forUpdate()
        .execute()),
    );
  }
  return found;
}

/** A finding row as written: JSON columns as values, serialized once per batch. */
export type FindingWrite = Omit<FindingsTable, 'evidence' | 'remediation' | 'compliance'> & {
  evidence: unknown;
  remediation: unknown;
  compliance: unknown;
};

export async function insertFindings(db: Db, rows: FindingWrite[]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    await sql`
      insert into findings (id, organization_id, fingerprint, rule_id, rule_version, resource_id, account_id, resource_type, region,
        title, description, dimension, severity, severity_rank, status, status_reason, expires_at, note, evidence, remediation,
        compliance, cost_monthly_usd, policy_id, policy_version, first_seen_at, last_seen_at, first_audit_id, last_audit_id, resolved_at, updated_at)
      select id, organization_id, fingerprint, rule_id, rule_version, resource_id, account_id, resource_type, region,
        title, description, dimension, severity, severity_rank, status, status_reason, expires_at, note, evidence, remediation,
        compliance, cost_monthly_usd, policy_id, policy_version, first_seen_at, last_seen_at, first_audit_id, last_audit_id, resolved_at, updated_at
      from jsonb_to_recordset(${JSON.stringify(rows.slice(i, i + BATCH))}::jsonb) as r(
        id text, organization_id text, fingerprint text, rule_id text, rule_version integer, resource_id text, account_id text,
        resource_type text, region text, title text, description text, dimension text, severity text, severity_rank smallint,
        status text, status_reason text, expires_at timestamptz, note text, evidence jsonb, remediation jsonb, compliance jsonb,
        cost_monthly_usd double precision, policy_id text, policy_version integer, first_seen_at timestamptz,
        last_seen_at timestamptz, first_audit_id text, last_audit_id text, resolved_at timestamptz, updated_at timestamptz)`.execute(db);
  }
}

/** Rewrites what an audit observes of existing findings (content, sighting, and status where it changes). */
export async function updateObservedFindings(
  db: Db,
  rows: Pick<
    FindingWrite,
    | 'id' | 'rule_version' | 'region' | 'title' | 'description' | 'dimension' | 'severity' | 'severity_rank' | 'status' | 'status_reason'
    | 'evidence' | 'remediation' | 'compliance' | 'cost_monthly_usd' | 'policy_id' | 'policy_version' | 'last_seen_at' | 'last_audit_id' | 'resolved_at' | 'updated_at'
  >[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    await sql`
      update findings set rule_version = r.rule_version, region = r.region, title = r.title, description = r.description,
        dimension = r.dimension, severity = r.severity, severity_rank = r.severity_rank, status = r.status,
        status_reason = r.status_reason, evidence = r.evidence, remediation = r.remediation, compliance = r.compliance,
        cost_monthly_usd = r.cost_monthly_usd, policy_id = r.policy_id, policy_version = r.policy_version, last_seen_at = r.last_seen_at, last_audit_id = r.last_audit_id,
        resolved_at = r.resolved_at, updated_at = r.updated_at
      from jsonb_to_recordset(${JSON.stringify(rows.slice(i, i + BATCH))}::jsonb) as r(
        id text, rule_version integer, region text, title text, description text, dimension text, severity text,
        severity_rank smallint, status text, status_reason text, evidence jsonb, remediation jsonb, compliance jsonb,
        cost_monthly_usd double precision, policy_id text, policy_version integer, last_seen_at timestamptz, last_audit_id text,
        resolved_at timestamptz, updated_at timestamptz)
      where findings.id = r.id`.execute(db);
  }
}

/** Why an audit resolves a finding (its `status_reason`). */
export type ResolveReason = 'passed' | 'resource_gone' | 'excepted_by_policy' | 'policy_disabled';

/** Resolves open findings (their events are written by the caller). */
export async function resolveFindings(db: Db, ids: string[], change: { reason: ResolveReason; at: Date }): Promise<void> {
  for (let i = 0; i < ids.length; i += BATCH) {
    const batch = ids.slice(i, i + BATCH);
    await db
      .updateTable('findings')
      .set({ status: 'resolved', status_reason: change.reason, resolved_at: change.at, updated_at: change.at })
      .where('id', '=', sql<string>`any(${batch}::text[])`)
      .execute();
  }
}

export async function insertAuditFindings(db: Db, auditId: string, findingIds: string[]): Promise<void> {
  for (let i = 0; i < findingIds.length; i += BATCH * 5) {
    await sql`
      insert into audit_findings (audit_id, finding_id)
      select ${auditId}, unnest(${findingIds.slice(i, i + BATCH * 5)}::text[])`.execute(db);
  }
}

/**
 * The open findings of the organization's resources that are gone (of these accounts, or all),
 * locked: left open by anything that reopened them after their resource went (the expiry job).
 */
export function lockOpenFindingsOfGoneResources(db: Db, organizationId: string, accountIds: string[] | null): Promise<FindingRow[]> {
  let query = db
    .selectFrom('findings')
    .selectAll('findings')
    .innerJoin('resources', 'resources.id', 'findings.resource_id')
    .where('findings.organization_id', '=', organizationId)
    .where('findings.status', '=', 'open')
    .where('resources.status', '=', 'gone');
  if (accountIds) query = query.where('findings.account_id', 'in', accountIds);
  return query.orderBy('findings.id').forUpdate('findings').execute();
}

/**
 * Resolves the open findings of the account's resources that a full import just marked gone
 * (not seen since `seenAt`), each with a `resolved` event.
 */
export async function resolveFindingsOfGoneResources(db: Db, accountId: string, seenAt: Date): Promise<number> {
  const rows = await sql<{ id: string }>`
    with resolved as (
      update findings set status = 'resolved', status_reason = 'resource_gone', resolved_at = ${seenAt}, updated_at = ${seenAt}
      where status = 'open' and resource_id in (
        select id from resources where account_id = ${accountId} and status = 'gone' and last_seen_at < ${seenAt})
      returning id)
    select id from resolved`.execute(db);
  await insertFindingEvents(
    db,
    rows.rows.map(({ id }) => ({
      id: newId('fev'), finding_id: id, type: 'resolved', from_status: 'open', to_status: 'resolved', reason: 'resource_gone',
      actor_user_id: null, audit_id: null, created_at: seenAt,
    })),
  );
  return rows.rows.length;
}
