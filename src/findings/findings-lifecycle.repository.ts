import { sql, type RawBuilder } from 'kysely';
import type { Db, Trx } from '../db/database';
import type { FindingEventRow } from '../db/schema';
import type { CurrentFinding, FindingWrite, ObservedFindingWrite, ResolveReason } from './finding-lifecycle';

/**
 * The writes of the finding lifecycle: what audits and imports decide (see `finding-lifecycle.ts`)
 * and the locks they decide under. Reads and triage are in `findings.repository.ts`.
 */

// Rows a statement writes: large enough that round trips do not count, small enough to keep parameters a few MB.
const BATCH = 5000;

const CURRENT_COLUMNS = [
  ...(['id', 'fingerprint', 'rule_id', 'resource_id', 'resource_type', 'policy_id', 'status', 'status_reason', 'resolved_at', 'content_hash'] as const).map((column) => `findings.${column}` as const),
  'finding_sightings.updated_at',
] as const;

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
        .innerJoin('finding_sightings', 'finding_sightings.finding_id', 'findings.id')
        .select(CURRENT_COLUMNS)
        .where('findings.organization_id', '=', organizationId)
        .where('findings.resource_id', '=', sql<string>`any(${ids}::text[])`)
        .orderBy('findings.id')
        .forUpdate('findings')
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
    .innerJoin('finding_sightings', 'finding_sightings.finding_id', 'findings.id')
    .select(CURRENT_COLUMNS)
    .innerJoin('resources', 'resources.id', 'findings.resource_id')
    .where('findings.organization_id', '=', organizationId)
    .where('findings.status', '=', 'open')
    .where('resources.status', '=', 'gone');
  if (accountIds) query = query.where('findings.account_id', 'in', accountIds);
  if (goneBefore) {
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('resource_sightings')
          .select('resource_sightings.resource_id')
          .whereRef('resource_sightings.resource_id', '=', 'resources.id')
          .where('resource_sightings.last_seen_at', '<', goneBefore),
      ),
    );
  }
  return query.orderBy('findings.id').forUpdate('findings').execute();
}

// Batches travel as column arrays (`select … from unnest($1::text[], …)`), which PostgreSQL
// parses once per statement, rather than as a JSON document taken apart row by row; timestamps
// and JSON values as text, which both drivers pass through unchanged. A column every row of the
// batch holds the same value of (an audit's organization, its id, its clock, `open`, the nulls of
// a new finding: about half of a finding's columns and most of an event's) travels once, as one
// parameter, rather than as an array of copies for the driver to escape and the server to parse.
const timestamp = (value: Date | null): string | null => value?.toISOString() ?? null;
const jsonText = (value: unknown): string => JSON.stringify(value);

/** A column of a batch: its name, its SQL type, and its value in each row (as sent: text for timestamps and JSON). */
interface Column<T> {
  name: string;
  type: string;
  value: (row: T, index: number) => unknown;
  /** The column as selected from the value sent (`r.<name>` or the one parameter), when it is not the value itself. */
  select?: (value: RawBuilder<unknown>) => RawBuilder<unknown>;
}

/** A column most rows share (a rule's title, description, remediation, compliance mappings) of this batch (`rows`): see `shared`. */
function sharedColumn<T>(name: string, type: 'text' | 'jsonb', rows: readonly T[], value: (row: T) => unknown): Column<T> {
  const { values, index } = shared(rows, value, type === 'text' ? asText : jsonText);
  const array = type === 'text' ? sql`${values}::text[]` : sql`${values}::text[]::jsonb[]`;
  return { name, type: 'int', value: (_row, i) => index[i], select: (at) => sql`(${array})[${at}]` };
}

/**
 * `select <columns> from unnest(<the varying columns' arrays>) as r(<their names>)` over a
 * batch: each column under its name, a constant one as its one parameter.
 */
function batchRows<T>(batch: readonly T[], columns: readonly Column<T>[]): RawBuilder<unknown> {
  const selected: RawBuilder<unknown>[] = [];
  const arrays: RawBuilder<unknown>[] = [];
  const names: RawBuilder<unknown>[] = [];
  for (const column of columns) {
    const values = batch.map((row, i) => column.value(row, i));
    const first = values[0];
    const constant = values.every((v) => v === first);
    let value: RawBuilder<unknown>;
    if (constant) {
      value = sql`${first ?? null}::${sql.raw(column.type)}`;
    } else {
      arrays.push(sql`${values}::${sql.raw(column.type)}[]`);
      names.push(sql.raw(column.name));
      value = sql.raw(`r.${column.name}`);
    }
    selected.push(sql`${column.select ? column.select(value) : value} as ${sql.raw(column.name)}`);
  }
  // A batch whose every column is constant still has one row per element: unnest one array of them.
  if (arrays.length === 0) {
    arrays.push(sql`${batch.map(() => 1)}::int[]`);
    names.push(sql.raw('one'));
  }
  return sql`select ${sql.join(selected)} from unnest(${sql.join(arrays)}) as r(${sql.join(names)})`;
}

/**
 * A column most rows share (a rule's title, description, remediation and compliance mappings,
 * the same for each of its findings): its distinct values, each serialized, escaped and parsed
 * once per statement (JSON values as JSON text), and each row's 1-based position among them.
 */
function shared<T>(rows: readonly T[], value: (row: T) => unknown, serialize: (v: unknown) => string | null): { values: (string | null)[]; index: number[] } {
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

/** What an audit writes of a finding's content, new or not: the columns of `ObservedFindingWrite` in `findings`. */
function observedColumns<T extends ObservedFindingWrite>(batch: readonly T[]): Column<T>[] {
  return [
    { name: 'id', type: 'text', value: (r) => r.id },
    { name: 'rule_version', type: 'int', value: (r) => r.rule_version },
    { name: 'region', type: 'text', value: (r) => r.region },
    sharedColumn('title', 'text', batch, (r) => r.title),
    sharedColumn('description', 'text', batch, (r) => r.description),
    { name: 'dimension', type: 'text', value: (r) => r.dimension },
    { name: 'severity', type: 'text', value: (r) => r.severity },
    { name: 'severity_rank', type: 'smallint', value: (r) => r.severity_rank },
    { name: 'status', type: 'text', value: (r) => r.status },
    { name: 'status_reason', type: 'text', value: (r) => r.status_reason },
    { name: 'evidence', type: 'text', value: (r) => jsonText(r.evidence), select: (v) => sql`${v}::jsonb` },
    sharedColumn('remediation', 'jsonb', batch, (r) => r.remediation),
    sharedColumn('compliance', 'jsonb', batch, (r) => r.compliance),
    { name: 'cost_monthly_usd', type: 'float8', value: (r) => r.cost_monthly_usd },
    { name: 'policy_id', type: 'text', value: (r) => r.policy_id },
    { name: 'policy_version', type: 'int', value: (r) => r.policy_version },
    { name: 'resolved_at', type: 'timestamptz', value: (r) => timestamp(r.resolved_at) },
    { name: 'content_hash', type: 'text', value: (r) => r.content_hash ?? null },
  ];
}

/** What an audit writes of a finding's sighting, new or not: the columns of `ObservedFindingWrite` in `finding_sightings`. */
const SIGHTING_COLUMNS: Column<ObservedFindingWrite>[] = [
  { name: 'finding_id', type: 'text', value: (r) => r.id },
  { name: 'last_seen_at', type: 'timestamptz', value: (r) => timestamp(r.last_seen_at) },
  { name: 'last_audit_id', type: 'text', value: (r) => r.last_audit_id },
  { name: 'updated_at', type: 'timestamptz', value: (r) => timestamp(r.updated_at) },
];

export async function insertFindings(db: Db, rows: FindingWrite[]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    const columns: Column<FindingWrite>[] = [
      ...observedColumns(batch),
      { name: 'organization_id', type: 'text', value: (r) => r.organization_id },
      { name: 'fingerprint', type: 'text', value: (r) => r.fingerprint },
      { name: 'rule_id', type: 'text', value: (r) => r.rule_id },
      { name: 'resource_id', type: 'text', value: (r) => r.resource_id },
      { name: 'account_id', type: 'text', value: (r) => r.account_id },
      { name: 'resource_type', type: 'text', value: (r) => r.resource_type },
      { name: 'expires_at', type: 'timestamptz', value: (r) => timestamp(r.expires_at) },
      { name: 'note', type: 'text', value: (r) => r.note },
      { name: 'first_seen_at', type: 'timestamptz', value: (r) => timestamp(r.first_seen_at) },
      { name: 'first_audit_id', type: 'text', value: (r) => r.first_audit_id },
    ];
    await sql`insert into findings (${sql.join(columns.map((c) => sql.raw(c.name)))}) ${batchRows(batch, columns)}`.execute(db);
    const sightings: Column<FindingWrite>[] = [...SIGHTING_COLUMNS, { name: 'organization_id', type: 'text', value: (r) => r.organization_id }];
    await sql`insert into finding_sightings (${sql.join(sightings.map((c) => sql.raw(c.name)))}) ${batchRows(batch, sightings)}`.execute(db);
  }
}

/** Rewrites what an audit observes of existing findings (content, sighting, and status where it changes). */
export async function updateObservedFindings(trx: Trx, rows: ObservedFindingWrite[]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    const columns = observedColumns(batch);
    const set = columns.filter((c) => c.name !== 'id').map((c) => sql`${sql.raw(c.name)} = r.${sql.raw(c.name)}`);
    await sql`update findings set ${sql.join(set)} from (${batchRows(batch, columns)}) as r where findings.id = r.id`.execute(trx);
    await sql`
      update finding_sightings set last_seen_at = r.last_seen_at, last_audit_id = r.last_audit_id, updated_at = r.updated_at
      from (${batchRows(batch, SIGHTING_COLUMNS)}) as r where finding_sightings.finding_id = r.finding_id`.execute(trx);
  }
}

/** Records that an audit saw these findings failing again, their content unchanged: their sighting only. */
export async function recordFindingSightings(trx: Trx, ids: string[], sighting: { lastSeenAt: Date; auditId: string; at: Date }): Promise<void> {
  for (let i = 0; i < ids.length; i += BATCH * 4) {
    await trx
      .updateTable('finding_sightings')
      .set({ last_seen_at: sighting.lastSeenAt, last_audit_id: sighting.auditId, updated_at: sighting.at })
      .where('finding_id', '=', sql<string>`any(${ids.slice(i, i + BATCH * 4)}::text[])`)
      .execute();
  }
}

/** Resolves open findings (their events are written by the caller). */
export async function resolveFindings(trx: Trx, ids: string[], change: { reason: ResolveReason; at: Date }): Promise<void> {
  for (let i = 0; i < ids.length; i += BATCH) {
    const batch = ids.slice(i, i + BATCH);
    await trx
      .updateTable('findings')
      .set({ status: 'resolved', status_reason: change.reason, resolved_at: change.at })
      .where('id', '=', sql<string>`any(${batch}::text[])`)
      .execute();
    await trx.updateTable('finding_sightings').set({ updated_at: change.at }).where('finding_id', '=', sql<string>`any(${batch}::text[])`).execute();
  }
}

/** Writes events in batches of column arrays (an audit can write hundreds of thousands). */
export async function insertFindingEvents(db: Db, rows: FindingEventRow[]): Promise<void> {
  const columns: Column<FindingEventRow>[] = [
    { name: 'id', type: 'text', value: (r) => r.id },
    { name: 'finding_id', type: 'text', value: (r) => r.finding_id },
    { name: 'type', type: 'text', value: (r) => r.type },
    { name: 'from_status', type: 'text', value: (r) => r.from_status },
    { name: 'to_status', type: 'text', value: (r) => r.to_status },
    { name: 'reason', type: 'text', value: (r) => r.reason },
    { name: 'actor_user_id', type: 'text', value: (r) => r.actor_user_id },
    { name: 'audit_id', type: 'text', value: (r) => r.audit_id },
    { name: 'created_at', type: 'timestamptz', value: (r) => timestamp(r.created_at) },
  ];
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    await sql`insert into finding_events (${sql.join(columns.map((c) => sql.raw(c.name)))}) ${batchRows(batch, columns)}`.execute(db);
  }
}
