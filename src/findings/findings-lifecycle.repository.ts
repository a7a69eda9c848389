import { sql } from 'kysely';
import type { Db, Trx } from '../db/database';
import type { FindingEventRow } from '../db/schema';
import type { CurrentFinding, FindingWrite, ObservedFindingWrite, ResolveReason } from './finding-lifecycle';

/**
 * The writes of the finding lifecycle: what audits and imports decide (see `finding-lifecycle.ts`)
 * and the locks they decide under. Reads and triage are in `findings.repository.ts`.
 */

// Rows a statement writes: large enough that round trips do not count, small enough to keep parameters a few MB.
const BATCH = 5000;

const CURRENT_COLUMNS = ['id', 'fingerprint', 'rule_id', 'resource_id', 'resource_type', 'policy_id', 'status', 'status_reason', 'resolved_at', 'updated_at', 'content_hash'] as const;

/**
 * The organization's findings on these resources (all statuses, what the lifecycle reads of
 * them), locked for the rest of the transaction so that triage and the expiry job wait rather
 * than be overwritten.
 */
export async function lockFindingsOfResources(trx: Trx, organizationId: string, resourceIds: string[]): Promise<CurrentFinding[]> {
  const found: CurrentFinding[] = [];
  for (let i = 0; i < resourceIds.length; i += BATCH * 5) {
    const ids = resourceIds.slice(i, i + BATCH * 5);
    found.push(
      ...(await trx
        .selectFrom('findings')
        .select(CURRENT_COLUMNS)
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
): Promise<CurrentFinding[]> {
  let query = trx
    .selectFrom('findings')
    .select(CURRENT_COLUMNS.map((column) => `findings.${column}` as const))
    .innerJoin('resources', 'resources.id', 'findings.resource_id')
    .where('findings.organization_id', '=', organizationId)
    .where('findings.status', '=', 'open')
    .where('resources.status', '=', 'gone');
  if (accountIds) query = query.where('findings.account_id', 'in', accountIds);
  if (goneBefore) query = query.where('resources.last_seen_at', '<', goneBefore);
  return query.orderBy('findings.id').forUpdate('findings').execute();
}

// Batches travel as column arrays (`insert … select … from unnest($1::text[], …)`), which
// PostgreSQL parses once per statement, rather than as a JSON document taken apart row by row;
// timestamps and JSON values as text, which both drivers pass through unchanged.
const timestamps = <T>(rows: readonly T[], value: (row: T) => Date | null): (string | null)[] => rows.map((row) => value(row)?.toISOString() ?? null);
const json = <T>(rows: readonly T[], value: (row: T) => unknown): string[] => rows.map((row) => JSON.stringify(value(row)));

/**
 * A column most rows share (a rule's title, description, remediation and compliance mappings,
 * the same for each of its findings): its distinct values, each serialized, escaped and parsed
 * once per statement (JSON values as JSON text), and each row's 1-based position among them.
 */
function shared<T>(rows: readonly T[], value: (row: T) => unknown, serialize: (v: unknown) => string | null = (v) => JSON.stringify(v)): { values: (string | null)[]; index: number[] } {
  const positions = new Map<unknown, number>();
  const values: (string | null)[] = [];
  const index = rows.map((row) => {
    const v = value(row);
    let at = positions.get(v);
    if (at === undefined) {
      at = values.push(serialize(v));
      positions.set(v, at);
    }
    return at;
  });
  return { values, index };
}

const asText = (v: unknown) => v as string;

export async function insertFindings(db: Db, rows: FindingWrite[]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    const remediation = shared(batch, (r) => r.remediation);
    const compliance = shared(batch, (r) => r.compliance);
    const title = shared(batch, (r) => r.title, asText);
    const description = shared(batch, (r) => r.description, asText);
    await sql`
      insert into findings (id, organization_id, fingerprint, rule_id, rule_version, resource_id, account_id, resource_type, region,
        title, description, dimension, severity, severity_rank, status, status_reason, expires_at, note, evidence, remediation,
        compliance, cost_monthly_usd, policy_id, policy_version, first_seen_at, last_seen_at, first_audit_id, last_audit_id, resolved_at, updated_at, content_hash)
      select id, organization_id, fingerprint, rule_id, rule_version, resource_id, account_id, resource_type, region,
        (${title.values}::text[])[title], (${description.values}::text[])[description], dimension, severity, severity_rank, status, status_reason, expires_at, note, evidence::jsonb,
        (${remediation.values}::text[]::jsonb[])[remediation], (${compliance.values}::text[]::jsonb[])[compliance],
        cost_monthly_usd, policy_id, policy_version, first_seen_at, last_seen_at, first_audit_id, last_audit_id, resolved_at, updated_at, content_hash
      from unnest(
        ${batch.map((r) => r.id)}::text[], ${batch.map((r) => r.organization_id)}::text[], ${batch.map((r) => r.fingerprint)}::text[],
        ${batch.map((r) => r.rule_id)}::text[], ${batch.map((r) => r.rule_version)}::int[], ${batch.map((r) => r.resource_id)}::text[],
        ${batch.map((r) => r.account_id)}::text[], ${batch.map((r) => r.resource_type)}::text[], ${batch.map((r) => r.region)}::text[],
        ${title.index}::int[], ${description.index}::int[], ${batch.map((r) => r.dimension)}::text[],
        ${batch.map((r) => r.severity)}::text[], ${batch.map((r) => r.severity_rank)}::smallint[], ${batch.map((r) => r.status)}::text[],
        ${batch.map((r) => r.status_reason)}::text[], ${timestamps(batch, (r) => r.expires_at)}::timestamptz[], ${batch.map((r) => r.note)}::text[],
        ${json(batch, (r) => r.evidence)}::text[], ${remediation.index}::int[], ${compliance.index}::int[],
        ${batch.map((r) => r.cost_monthly_usd)}::float8[], ${batch.map((r) => r.policy_id)}::text[], ${batch.map((r) => r.policy_version)}::int[],
        ${timestamps(batch, (r) => r.first_seen_at)}::timestamptz[], ${timestamps(batch, (r) => r.last_seen_at)}::timestamptz[],
        ${batch.map((r) => r.first_audit_id)}::text[], ${batch.map((r) => r.last_audit_id)}::text[],
        ${timestamps(batch, (r) => r.resolved_at)}::timestamptz[], ${timestamps(batch, (r) => r.updated_at)}::timestamptz[],
        ${batch.map((r) => r.content_hash ?? null)}::text[]
      ) as r(id, organization_id, fingerprint, rule_id, rule_version, resource_id, account_id, resource_type, region,
        title, description, dimension, severity, severity_rank, status, status_reason, expires_at, note, evidence, remediation,
        compliance, cost_monthly_usd, policy_id, policy_version, first_seen_at, last_seen_at, first_audit_id, last_audit_id, resolved_at, updated_at,
        content_hash)`.execute(db);
  }
}

/** Rewrites what an audit observes of existing findings (content, sighting, and status where it changes). */
export async function updateObservedFindings(trx: Trx, rows: ObservedFindingWrite[]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    const remediation = shared(batch, (r) => r.remediation);
    const compliance = shared(batch, (r) => r.compliance);
    const title = shared(batch, (r) => r.title, asText);
    const description = shared(batch, (r) => r.description, asText);
    await sql`
      update findings set rule_version = r.rule_version, region = r.region,
        title = (${title.values}::text[])[r.title], description = (${description.values}::text[])[r.description],
        dimension = r.dimension, severity = r.severity, severity_rank = r.severity_rank, status = r.status,
        status_reason = r.status_reason, evidence = r.evidence::jsonb,
        remediation = (${remediation.values}::text[]::jsonb[])[r.remediation], compliance = (${compliance.values}::text[]::jsonb[])[r.compliance],
        cost_monthly_usd = r.cost_monthly_usd, policy_id = r.policy_id, policy_version = r.policy_version, last_seen_at = r.last_seen_at,
        last_audit_id = r.last_audit_id, resolved_at = r.resolved_at, updated_at = r.updated_at, content_hash = r.content_hash
      from unnest(
        ${batch.map((r) => r.id)}::text[], ${batch.map((r) => r.rule_version)}::int[], ${batch.map((r) => r.region)}::text[],
        ${title.index}::int[], ${description.index}::int[], ${batch.map((r) => r.dimension)}::text[],
        ${batch.map((r) => r.severity)}::text[], ${batch.map((r) => r.severity_rank)}::smallint[], ${batch.map((r) => r.status)}::text[],
        ${batch.map((r) => r.status_reason)}::text[], ${json(batch, (r) => r.evidence)}::text[], ${remediation.index}::int[],
        ${compliance.index}::int[], ${batch.map((r) => r.cost_monthly_usd)}::float8[], ${batch.map((r) => r.policy_id)}::text[],
        ${batch.map((r) => r.policy_version)}::int[], ${timestamps(batch, (r) => r.last_seen_at)}::timestamptz[],
        ${batch.map((r) => r.last_audit_id)}::text[], ${timestamps(batch, (r) => r.resolved_at)}::timestamptz[],
        ${timestamps(batch, (r) => r.updated_at)}::timestamptz[], ${batch.map((r) => r.content_hash ?? null)}::text[]
      ) as r(id, rule_version, region, title, description, dimension, severity, severity_rank, status, status_reason, evidence,
        remediation, compliance, cost_monthly_usd, policy_id, policy_version, last_seen_at, last_audit_id, resolved_at, updated_at, content_hash)
      where findings.id = r.id`.execute(trx);
  }
}

/** Records that an audit saw these findings failing again, their content unchanged: their sighting only. */
export async function recordFindingSightings(trx: Trx, ids: string[], sighting: { lastSeenAt: Date; auditId: string; at: Date }): Promise<void> {
  for (let i = 0; i < ids.length; i += BATCH * 4) {
    await trx
      .updateTable('findings')
      .set({ last_seen_at: sighting.lastSeenAt, last_audit_id: sighting.auditId, updated_at: sighting.at })
      .where('id', '=', sql<string>`any(${ids.slice(i, i + BATCH * 4)}::text[])`)
      .execute();
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

/** Writes events in batches of column arrays (an audit can write hundreds of thousands). */
export async function insertFindingEvents(db: Db, rows: FindingEventRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    await sql`
      insert into finding_events (id, finding_id, type, from_status, to_status, reason, actor_user_id, audit_id, created_at)
      select * from unnest(
        ${batch.map((r) => r.id)}::text[], ${batch.map((r) => r.finding_id)}::text[], ${batch.map((r) => r.type)}::text[],
        ${batch.map((r) => r.from_status)}::text[], ${batch.map((r) => r.to_status)}::text[], ${batch.map((r) => r.reason)}::text[],
        ${batch.map((r) => r.actor_user_id)}::text[], ${batch.map((r) => r.audit_id)}::text[], ${timestamps(batch, (r) => r.created_at)}::timestamptz[])`.execute(db);
  }
}
