import { sql } from 'kysely';
import type { Db, Trx } from '../db/database';
import type { FindingEventRow, FindingRow } from '../db/schema';
import type { FindingWrite, ObservedFindingWrite, ResolveReason } from './finding-lifecycle';

/**
 * The writes of the finding lifecycle: what audits and imports decide (see `finding-lifecycle.ts`)
 * and the locks they decide under. Reads and triage are in `findings.repository.ts`.
 */

const BATCH = 2000;

/**
 * The organization's findings on these resources (all statuses), locked for the rest of the
 * transaction so that triage and the expiry job wait rather than be overwritten.
 */
export async function lockFindingsOfResources(trx: Trx, organizationId: string, resourceIds: string[]): Promise<FindingRow[]> {
  const found: FindingRow[] = [];
  for (let i = 0; i < resourceIds.length; i += BATCH * 5) {
    const ids = resourceIds.slice(i, i + BATCH * 5);
    found.push(
      ...(await trx
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

/**
 * The open findings of the organization's resources that are gone, locked: of these accounts (or
 * all, `accountIds: null`), and, with `goneBefore`, only of resources last seen before it.
 */
export function lockOpenFindingsOfGoneResources(
  trx: Trx,
  organizationId: string,
  { accountIds, goneBefore }: { accountIds: string[] | null; goneBefore?: Date },
): Promise<FindingRow[]> {
  let query = trx
    .selectFrom('findings')
    .selectAll('findings')
    .innerJoin('resources', 'resources.id', 'findings.resource_id')
    .where('findings.organization_id', '=', organizationId)
    .where('findings.status', '=', 'open')
    .where('resources.status', '=', 'gone');
  if (accountIds) query = query.where('findings.account_id', 'in', accountIds);
  if (goneBefore) query = query.where('resources.last_seen_at', '<', goneBefore);
  return query.orderBy('findings.id').forUpdate('findings').execute();
}

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
export async function updateObservedFindings(trx: Trx, rows: ObservedFindingWrite[]): Promise<void> {
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
      where findings.id = r.id`.execute(trx);
  }
}

/** Resolves open findings (their events are written by the caller). */
export async function resolveFindings(trx: Trx, ids: string[], change: { reason: ResolveReason; at: Date }): Promise<void> {
  for (let i = 0; i < ids.length; i += BATCH) {
    const batch = ids.slice(i, i + BATCH);
    await trx
      .updateTable('findings')
      .set({ status: 'resolved', status_reason: change.reason, resolved_at: change.at, updated_at: change.at })
      .where('id', '=', sql<string>`any(${batch}::text[])`)
      .execute();
  }
}

/** Writes events in batches of one jsonb parameter each (an audit can write tens of thousands). */
export async function insertFindingEvents(db: Db, rows: FindingEventRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    await sql`
      insert into finding_events (id, finding_id, type, from_status, to_status, reason, actor_user_id, audit_id, created_at)
      select id, finding_id, type, from_status, to_status, reason, actor_user_id, audit_id, created_at
      from jsonb_to_recordset(${JSON.stringify(rows.slice(i, i + BATCH))}::jsonb) as r(
        id text, finding_id text, type text, from_status text, to_status text, reason text, actor_user_id text,
        audit_id text, created_at timestamptz)`.execute(db);
  }
}
