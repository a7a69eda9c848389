import type { Principal } from '../http/principal';
import type { Db, Trx } from '../db/database';
import type { FindingEventRow, FindingStatus } from '../db/schema';
import { AppError } from '../errors';
import type { Schemas } from '../http/contract';
import { newId } from '../ids';
import { riskAcceptanceMaxDays } from '../organizations/organizations.service';
import { expiredEvents, resolveGoneResourceFindings, statusChangedEvent, type CurrentFinding, type FindingChanges, type ResolveReason } from './finding-lifecycle';
import * as lifecycle from './findings-lifecycle.repository';
import { findFinding, listFindingsForExport, lockFinding, reopenExpiredBatch, sortKeyOf, updateFindingTriage, type ExportedFindingRow, type FindingFilter, type FindingSort, type FindingWithResource } from './findings.repository';

export type FindingChange = Schemas['FindingUpdate'];
export type BatchResult = Schemas['FindingBatchUpdateResult']['results'][number];

export interface TriageSettings {
  /** The longest risk acceptance of an organization whose admins set none, in days. */
  riskAcceptanceMaxDays: number;
  /**
   * Told, in the change's transaction, of a finding a person took out of `open` (to `suppressed`
   * or `risk_accepted`), so that what was raised for it can end with it (PagerDuty alerts);
   * answers what to do once the change has committed.
   */
  onTakenOutOfOpen?: (trx: Trx, organizationId: string, findingId: string, now: Date) => Promise<(() => void) | undefined>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The status changes people may make; `resolved` is the audits' to set and to leave. */
const TRANSITIONS: Record<FindingStatus, readonly FindingStatus[]> = {
  open: ['suppressed', 'risk_accepted'],
  suppressed: ['open'],
  risk_accepted: ['open'],
  resolved: [],
};

/** `status_reason` of findings reopened because their risk acceptance ended. */
export const RISK_ACCEPTANCE_EXPIRED = 'risk_acceptance_expired';

export async function requireFinding(db: Db, organizationId: string, id: string): Promise<FindingWithResource> {
  const finding = await findFinding(db, organizationId, id);
  if (!finding) throw notFound(id);
  return finding;
}

/** Applies `change` to one finding (see `applyChange`) and answers the finding as it is now. */
export async function triageFinding(
  db: Db,
  principal: Principal,
  id: string,
  change: FindingChange,
  settings: TriageSettings,
  now = new Date(),
): Promise<FindingWithResource> {
  await checkChange(db, principal, change, settings, now);
  const committed = await db.transaction().execute((trx) => applyChange(trx, principal, id, change, settings, now));
  committed?.();
  return requireFinding(db, principal.organizationId, id);
}

/** Applies `change` to each finding in its own transaction, so one that cannot take it blocks none of the others. */
export async function triageFindings(
  db: Db,
  principal: Principal,
  ids: string[],
  change: FindingChange,
  settings: TriageSettings,
  now = new Date(),
): Promise<BatchResult[]> {
  await checkChange(db, principal, change, settings, now);
  const results: BatchResult[] = [];
  for (const id of ids) {
    try {
      const committed = await db.transaction().execute((trx) => applyChange(trx, principal, id, change, settings, now));
      committed?.();
      results.push({ id, result: 'updated', message: null });
    } catch (error) {
      if (!(error instanceof AppError) || (error.code !== 'not_found' && error.code !== 'invalid_transition')) throw error;
      results.push({ id, result: error.code, message: error.message });
    }
  }
  return results;
}

/**
 * Reopens every risk-accepted finding whose `expires_at` is at or before `now`, with an `expired`
 * event by the system; answers how many. Works in batches, each its own transaction, so a large
 * backlog holds no long locks.
 */
export async function reopenExpiredRiskAcceptances(db: Db, now: Date): Promise<number> {
  const batchSize = 500;
  let reopened = 0;
  for (;;) {
    const ids = await db.transaction().execute(async (trx) => {
      const batch = await reopenExpiredBatch(trx, now, batchSize, RISK_ACCEPTANCE_EXPIRED);
      await recordFindingEvents(trx, expiredEvents(newId, batch, RISK_ACCEPTANCE_EXPIRED, now));
      return batch;
    });
    reopened += ids.length;
    if (ids.length < batchSize) return reopened;
  }
}

/**
 * What is wrong with `change` whatever the finding's status: 422 before anything is touched. An
 * `expires_at` further than the organization's `risk_acceptance_max_days` is
 * `risk_acceptance_too_long` (every acceptance has an expiry: `expires_at` is required).
 */
async function checkChange(db: Db, principal: Principal, change: FindingChange, settings: TriageSettings, now: Date): Promise<void> {
  const invalid = (field: string, issue: string) => new AppError('validation_failed', `${field} ${issue}.`, [{ field: `body.${field}`, issue }]);
  if ((change.status === 'suppressed' || change.status === 'risk_accepted') && change.reason === undefined) {
    throw invalid('reason', `is required to make a finding ${change.status}`);
  }
  if (change.status === 'risk_accepted' && change.expires_at === undefined) throw invalid('expires_at', 'is required to accept a risk');
  if (change.expires_at !== undefined) {
    if (change.status !== undefined && change.status !== 'risk_accepted') throw invalid('expires_at', 'applies only to risk_accepted findings');
    const expiresAt = new Date(change.expires_at);
    if (expiresAt <= now) throw invalid('expires_at', 'must be in the future');
    const maxDays = await riskAcceptanceMaxDays(db, principal.organizationId, settings.riskAcceptanceMaxDays);
    if (expiresAt.getTime() - now.getTime() > maxDays * DAY_MS) {
      const days = Math.ceil((expiresAt.getTime() - now.getTime()) / DAY_MS);
      throw new AppError(
        'risk_acceptance_too_long',
        `expires_at is ${days} days away; this organization accepts risks for at most ${maxDays} days (risk_acceptance_max_days).`,
        [{ field: 'body.expires_at', issue: `at most ${maxDays} days from now (risk_acceptance_max_days)`, quota: 'risk_acceptance_max_days', limit: maxDays, usage: days }],
      );
    }
  }
}

/**
 * Changes one finding under a row lock, recording a change of status as an event in the same
 * transaction; answers what to do once it has committed.
 */
async function applyChange(trx: Trx, principal: Principal, id: string, change: FindingChange, settings: TriageSettings, now: Date): Promise<(() => void) | undefined> {
  const current = await lockFinding(trx, principal.organizationId, id);
  if (!current) throw notFound(id);
  const from = current.status;
  const to = change.status ?? from;
  if (to !== from && !TRANSITIONS[from].includes(to)) {
    const why = from === 'resolved' ? 'only audits reopen resolved findings' : `allowed from ${from}: ${TRANSITIONS[from].join(', ')}`;
    throw new AppError('invalid_transition', `A finding cannot go from ${from} to ${to}: ${why}.`, [{ field: 'body.status', issue: `${from} → ${to} is not allowed` }]);
  }
  if (to === from) {
    // Without a change of status, reason and expiry are those of the current status, which must have them.
    if (change.reason !== undefined && from !== 'suppressed' && from !== 'risk_accepted') {
      throw new AppError('invalid_transition', `The finding is ${from}: it has no reason to change; reasons belong to suppressed and risk_accepted findings.`, [
        { field: 'body.reason', issue: `not applicable to a finding that is ${from}` },
      ]);
    }
    if (change.expires_at !== undefined && from !== 'risk_accepted') {
      throw new AppError('invalid_transition', `The finding is ${from}: it has no expiry to change; only risk_accepted findings expire.`, [
        { field: 'body.expires_at', issue: `not applicable to a finding that is ${from}` },
      ]);
    }
  }
  await updateFindingTriage(trx, id, {
    status: to,
    status_reason: to === from ? (change.reason ?? current.status_reason) : (change.reason ?? null),
    expires_at: to !== 'risk_accepted' ? null : change.expires_at !== undefined ? new Date(change.expires_at) : current.expires_at,
    note: change.note === undefined ? current.note : change.note,
    updated_at: now,
  });
  if (to !== from) {
    await recordFindingEvents(trx, [
      statusChangedEvent(newId, { findingId: id, from, to, reason: change.reason ?? null, actorUserId: principal.userId, at: now }),
    ]);
    if (from === 'open') return settings.onTakenOutOfOpen?.(trx, principal.organizationId, id, now);
  }
  return undefined;
}

/**
 * The findings of these resources (all statuses), locked until `trx` ends, so that triage and
 * the expiry job wait rather than be overwritten by what an audit decides from them.
 */
export function lockFindingsOfResources(trx: Trx, organizationId: string, resourceIds: string[]): Promise<CurrentFinding[]> {
  return lifecycle.lockFindingsOfResources(trx, organizationId, resourceIds);
}

/**
 * The open findings of the organization's gone resources (of these accounts, or all), locked:
 * left open by anything that reopened them after their resource went (the expiry job).
 */
export function lockOpenFindingsOfGoneResources(trx: Trx, organizationId: string, accountIds: string[] | null): Promise<CurrentFinding[]> {
  return lifecycle.lockOpenFindingsOfGoneResources(trx, organizationId, { accountIds });
}

/**
 * Resolves the open findings of the account's resources that a full import just marked gone (not
 * seen since `seenAt`), each with a `resolved` event; answers how many.
 */
export async function resolveFindingsOfGoneResources(trx: Trx, account: { organization_id: string; id: string }, seenAt: Date): Promise<number> {
  const gone = await lifecycle.lockOpenFindingsOfGoneResources(trx, account.organization_id, { accountIds: [account.id], goneBefore: seenAt });
  await applyFindingChanges(trx, resolveGoneResourceFindings(gone, seenAt, newId));
  return gone.length;
}

/** Writes what the finding lifecycle decided (`finding-lifecycle.ts`): the findings, then their events. */
export async function applyFindingChanges(trx: Trx, changes: FindingChanges): Promise<void> {
  await lifecycle.insertFindings(trx, changes.opened);
  await lifecycle.updateObservedFindings(trx, [...changes.reopened, ...changes.updated]);
  if (changes.sighted) await lifecycle.recordFindingSightings(trx, changes.sighted.ids, changes.sighted);
  const byReason = new Map<ResolveReason, string[]>();
  for (const { id, reason } of changes.resolved) {
    const ids = byReason.get(reason) ?? [];
    ids.push(id);
    byReason.set(reason, ids);
  }
  for (const [reason, ids] of byReason) await lifecycle.resolveFindings(trx, ids, { reason, at: changes.resolvedAt });
  await recordFindingEvents(trx, changes.events);
}

/**
 * Records finding events: every event of the lifecycle (audits, imports, triage, expiry) is made
 * in `finding-lifecycle.ts` and written here, in the transaction of the change it records.
 */
async function recordFindingEvents(trx: Trx, events: FindingEventRow[]): Promise<void> {
  await lifecycle.insertFindingEvents(trx, events);
}

function notFound(id: string): AppError {
  return new AppError('not_found', `No finding ${id} in this organization.`);
}

/** How many findings an export reads from the database at once. */
export const EXPORT_PAGE_SIZE = 1000;

/**
 * The organization's findings matching `filter`, in `sort` order, page after page by keyset, so
 * that an export of any size holds one page in memory at a time.
 */
export async function* findingExportPages(db: Db, organizationId: string, filter: FindingFilter, sort: FindingSort, pageSize = EXPORT_PAGE_SIZE): AsyncGenerator<ExportedFindingRow[]> {
  let after: [string | number, string] | undefined;
  for (;;) {
    const rows = await listFindingsForExport(db, organizationId, filter, sort, pageSize, after);
    if (rows.length > 0) yield rows;
    if (rows.length < pageSize) return;
    const last = rows[rows.length - 1]!;
    after = [sortKeyOf(last, sort.field), last.id];
  }
}
