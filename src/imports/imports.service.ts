import { setImmediate as yieldToIo } from 'node:timers/promises';
import type { OrganizationLimits } from '../config';
import type { Principal } from '../http/principal';
import type { Db, Trx } from '../db/database';
import type { AccountRow, ImportRow } from '../db/schema';
import { lockAccount, recordAccountImport } from '../accounts/accounts.service';
import { AppError } from '../errors';
import type { Schemas } from '../http/contract';
import { newId } from '../ids';
import {
  findAccountResourceStates,
  insertResourceContents,
  markResourcesBack,
  markResourcesSeen,
  markUnseenCoveredResourcesGone,
  markUnseenResourcesGone,
  updateResourcesContent,
  type ResourceContentRow,
} from '../resources/resources.service';
import type { CanonicalResource, ImportProblem } from './canonical-resource';
import { parseInventory } from './import-parsers';
import { contentHashOf, contentJson } from './resource-content';
import { documentDepthProblem, oversizedAttributes, resourceLimitProblems } from './resource-limits';
import { escapeUnstorable } from '../storable-text';
import { resolveFindingsOfGoneResources } from '../findings/findings.service';
import { QUEUES, type JobQueue } from '../jobs/job-queue';
import { assertQueuedJobQuota, assertResourceQuota, organizationLimits, quotaDetail, quotaExceeded } from '../quotas/quotas.service';
import {
  finishImport,
  insertImport,
  insertImportDocument,
  insertImportPayload,
  startQueuedImport,
  takeImportPayload,
  deleteImportPayload,
  findPendingImport,
  hasPendingImport,
  lockPendingImport,
  oldestPendingImport,
  type ImportPayload,
} from './imports.repository';

const SHOWN_PROBLEMS = 100;
const WRITE_BATCH = 5000;
const YIELD_EVERY = 500;

type Counts = Schemas['Import']['counts'];

export interface ImportSettings {
  jobs: JobQueue;
  /** Files with more resources than this are written by a worker (202) instead of in the request (201). */
  inlineMaxResources: number;
  /** The organizations' limits where a platform operator set none. */
  limits: OrganizationLimits;
}

const NO_COUNTS: Counts = { created: 0, updated: 0, unchanged: 0, gone: 0, skipped: 0, rejected: 0 };

/**
 * Imports an inventory file into an account, all or nothing: a file with any problem writes
 * nothing but a `failed` import record, and answers 422 with the first problems. A valid file is
 * written at once, or, when large, queued for a worker (`applyQueuedImport`) with its resources.
 */
export async function importInventory(
  db: Db,
  settings: ImportSettings,
  principal: Principal,
  account: AccountRow,
  input: {
    format: Schemas['ImportFormat'];
    mode: Schemas['ImportMode'];
    document: unknown;
    /** The UTF-8 JSON bytes `document` was parsed from, when at hand: what a queued import stores. */
    sent?: Buffer;
  },
): Promise<ImportRow> {
  const startedAt = new Date();
  // A file nested too deep is refused before the parsers (some of whose steps recurse) see it.
  const tooDeep = documentDepthProblem(input.document);
  const parsed = tooDeep ? { resources: [], problems: [tooDeep] } : parseInventory(input.format, input.document);
  const resources = parsed.resources.filter((resource) => resource.provider === account.provider);
  const skipped = parsed.resources.length - resources.length;
  const problems = [...parsed.problems, ...resourceLimitProblems(resources)].map(storableProblem);
  const record = (status: ImportRow['status'], counts: Counts, shown: ImportProblem[]) => ({
    id: newId('imp'),
    organization_id: principal.organizationId,
    account_id: account.id,
    format: input.format,
    mode: input.mode,
    status,
    counts: JSON.stringify(counts),
    problems: JSON.stringify(shown),
    created_by: principal.userId,
    created_at: startedAt,
    finished_at: status === 'queued' ? null : new Date(),
  });

  if (problems.length > 0) {
    const rejected = new Set(problems.map((p) => p.item)).size;
    const shown = problems.slice(0, SHOWN_PROBLEMS);
    const failed = await insertImport(db, record('failed', { ...NO_COUNTS, skipped, rejected }, shown));
    throw new AppError(
      'invalid_import',
      `The ${input.format} file has ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was imported (import ${failed.id}).`,
      shown.map((p) => ({ field: 'body', issue: `${p.item}${p.field ? ` ${p.field}` : ''}: ${p.message}` })),
    );
  }

  const maxAttributeBytes = (await organizationLimits(db, principal.organizationId, settings.limits)).resourceAttributeBytes;
  const oversized = oversizedAttributes(resources, maxAttributeBytes);
  if (oversized.length > 0) {
    const issue = (o: (typeof oversized)[number]) => `attributes take ${o.bytes} bytes, over the limit of ${maxAttributeBytes}`;
    const shown = oversized.slice(0, SHOWN_PROBLEMS);
    const failed = await insertImport(
      db,
      record('failed', { ...NO_COUNTS, skipped, rejected: oversized.length }, shown.map((o) => storableProblem({ item: o.item, field: 'attributes', message: issue(o) }))),
    );
    const first = escapeUnstorable(oversized[0]!.item);
    const more = oversized.length > 1 ? ` (and ${oversized.length - 1} more resources)` : '';
    throw quotaExceeded(
      'resource_attribute_bytes',
      maxAttributeBytes,
      oversized[0]!.bytes,
      `The attributes of ${first}${more} take more than this organization's resource_attribute_bytes limit of ${maxAttributeBytes} bytes; nothing was imported (import ${failed.id}).`,
      shown.map((o) => quotaDetail('resource_attribute_bytes', maxAttributeBytes, o.bytes, 'body', `${escapeUnstorable(o.item)}: ${issue(o)}`)),
    );
  }

  // Imports of one account apply in the order they were sent: behind a queued one, a small file queues too.
  if (resources.length > settings.inlineMaxResources || (await hasPendingImport(db, account.id))) {
    await settings.jobs.start();
    const queued = await db.transaction().execute(async (trx) => {
      // The account before the organization's limits, in the order a worker writing the account's
      // previous import takes them: the import row's foreign key waits for that worker anyway,
      // and holding the limits meanwhile deadlocked with it (PostgreSQL aborted one of the two).
      if (!(await lockAccount(trx, principal.organizationId, account.id))) {
        throw new AppError('not_found', `No account ${account.id} in this organization.`);
      }
      await assertQueuedJobQuota(trx, principal.organizationId, settings.limits);
      const row = await insertImport(trx, record('queued', { ...NO_COUNTS, skipped }, []));
      if (input.sent) await insertImportDocument(trx, row.id, input.sent);
      else await insertImportPayload(trx, row.id, resources);
      await settings.jobs.send(QUEUES.imports, { import_id: row.id } satisfies ImportJob, trx, principal.organizationId);
      return row;
    });
    holdPayload(queued.id, resources);
    settings.jobs.wake(QUEUES.imports);
    return queued;
  }

  return db.transaction().execute(async (trx) => {
    if (!(await lockAccount(trx, principal.organizationId, account.id))) {
      throw new AppError('not_found', `No account ${account.id} in this organization.`);
    }
    const counts = await writeResources(trx, account, input.mode, resources, settings.limits);
    return insertImport(trx, record('succeeded', { ...counts, skipped }, []));
  });
}

export interface ImportJob {
  import_id: string;
}

/**
 * The resources of imports this process queued, for its own worker to take as they are instead of
 * reading them back from `import_payloads` and parsing them again (their canonical content, made
 * for the checks, comes along). The table still holds them for a worker of another process, or a
 * retry after this one died; one not taken within `PAYLOAD_HELD_MS` is left to the table.
 */
const payloadsInHand = new Map<string, CanonicalResource[]>();
const PAYLOAD_HELD_MS = 5 * 60_000;

function holdPayload(importId: string, resources: CanonicalResource[]): void {
  payloadsInHand.set(importId, resources);
  setTimeout(() => payloadsInHand.delete(importId), PAYLOAD_HELD_MS).unref();
}

/**
 * Writes a queued import's resources, each import in one transaction, after any import of the
 * same account queued before it. A worker that dies, or an attempt that fails, leaves the import
 * `running` and its job to pg-boss's retry; after the last attempt the job's dead letter ends it
 * with `failAbandonedImport`.
 */
export async function applyQueuedImport(db: Db, importId: string, limits: OrganizationLimits): Promise<void> {
  const target = await findPendingImport(db, importId);
  if (!target) return; // finished by an earlier attempt (or another import's worker), or its account was deleted
  for (;;) {
    const next = await oldestPendingImport(db, target.account_id);
    if (!next || next.id > importId) return;
    await applyPendingImport(db, next.id, limits);
  }
}

async function applyPendingImport(db: Db, importId: string, limits: OrganizationLimits): Promise<void> {
  if (!(await startQueuedImport(db, importId))) return;
  try {
    await writePendingImport(db, importId, limits);
  } catch (error) {
    if (!(error instanceof AppError && error.code === 'quota_exceeded')) throw error;
    // Over a limit is no reason to retry: the import ends failed, saying which limit.
    await db.transaction().execute(async (trx) => {
      if (!(await lockPendingImport(trx, importId))) return;
      await finishImport(trx, importId, 'failed', null, [{ item: '$', field: null, message: error.message }]);
      await deleteImportPayload(trx, importId);
    });
  }
}

async function writePendingImport(db: Db, importId: string, limits: OrganizationLimits): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const pending = await lockPendingImport(trx, importId);
    if (!pending) return; // another worker finished it, or its job was abandoned
    const account = await lockAccount(trx, pending.organization_id, pending.account_id);
    const inHand = payloadsInHand.get(importId);
    payloadsInHand.delete(importId); // a retry of a failed attempt reads the row its rollback kept
    const payload = inHand && (await deleteImportPayload(trx, importId)) ? { resources: inHand } : await takeImportPayload(trx, importId);
    if (!account || !payload) return;
    const resources = payloadResources(payload, pending.format, account.provider);
    const counts = await writeResources(trx, account, pending.mode, resources, limits);
    await finishImport(trx, importId, 'succeeded', { ...counts, skipped: pending.counts.skipped }, []);
  });
}

/**
 * The resources of a queued import's payload: a file stored as it was sent is parsed again, as
 * the request parsed it (the same parser, so the resources its checks passed), without the
 * resources of other providers it skipped.
 */
function payloadResources(payload: ImportPayload, format: Schemas['ImportFormat'], provider: AccountRow['provider']): CanonicalResource[] {
  if ('resources' in payload) return payload.resources;
  // A body may start with a byte order mark, which the request's parser skipped.
  const text = payload.document.toString('utf8');
  const document: unknown = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  return parseInventory(format, document).resources.filter((resource) => resource.provider === provider);
}

/** Ends an import whose job ran out of attempts as failed; its resources were never written. */
export async function failAbandonedImport(db: Db, importId: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    // Waits for an attempt still writing it: one that commits leaves nothing to fail.
    if (!(await lockPendingImport(trx, importId))) return;
    await finishImport(trx, importId, 'failed', null, [
      { item: '$', field: null, message: 'the import could not be written; nothing was imported. Send the file again.' },
    ]);
    await deleteImportPayload(trx, importId);
  });
}

/**
 * Applies canonical resources to an account whose lock `db` holds; answers the counts. Throws
 * `quota_exceeded` (so that the transaction rolls back) when the organization ends up with more
 * resources than its limit.
 */
async function writeResources(db: Trx, account: AccountRow, mode: Schemas['ImportMode'], resources: CanonicalResource[], limits: OrganizationLimits) {
  // Taken once the lock is held, so that imports of one account stamp in the order they apply.
  const seenAt = new Date();
  const counts = await applyResources(db, account.organization_id, account, resources, seenAt);
  if (mode === 'full') {
    counts.gone = await markUnseenResourcesGone(db, account.id, seenAt);
    await resolveFindingsOfGoneResources(db, account, seenAt);
  }
  await recordAccountImport(db, account.id, seenAt);
  await assertResourceQuota(db, account.organization_id, limits, counts.created + counts.updated);
  return counts;
}

/**
 * Writes what a scan read into an account whose lock `db` holds, through the same steps as an
 * import (versions, relationships, finding lifecycle). A full scan marks as gone only resources
 * of the types and regions it read completely (`coverage`); an incremental one marks nothing gone.
 */
export async function writeScannedResources(
  db: Trx,
  account: AccountRow,
  mode: 'full' | 'incremental',
  resources: CanonicalResource[],
  coverage: { types: string[]; region: string | null }[],
  limits: OrganizationLimits,
): Promise<Omit<Counts, 'skipped' | 'rejected'>> {
  const seenAt = new Date();
  const counts = await applyResources(db, account.organization_id, account, resources, seenAt);
  if (mode === 'full') {
    counts.gone = await markUnseenCoveredResourcesGone(db, account.id, seenAt, coverage);
    await resolveFindingsOfGoneResources(db, account, seenAt);
  }
  await recordAccountImport(db, account.id, seenAt);
  await assertResourceQuota(db, account.organization_id, limits, counts.created + counts.updated);
  return { created: counts.created, updated: counts.updated, unchanged: counts.unchanged, gone: counts.gone };
}

/** Native ids are unique per account and type (a bucket and its split policy share one): the key of a resource. */
function identityOf(resource: { type: string; native_id: string }): string {
  return `${resource.type}\u0000${resource.native_id}`;
}

/** A problem that can be stored and shown: the file's own text in it (addresses, ids) with any NUL or lone surrogate escaped. */
function storableProblem(problem: ImportProblem): ImportProblem {
  return {
    item: escapeUnstorable(problem.item),
    field: problem.field === null ? null : escapeUnstorable(problem.field),
    message: escapeUnstorable(problem.message),
  };
}

async function applyResources(
  db: Db,
  organizationId: string,
  account: AccountRow,
  resources: CanonicalResource[],
  seenAt: Date,
): Promise<Counts> {
  const counts: Counts = { created: 0, updated: 0, unchanged: 0, gone: 0, skipped: 0, rejected: 0 };
  const existing = new Map((await findAccountResourceStates(db, account.id)).map((row) => [identityOf(row), row]));
  const owner = { organizationId, accountId: account.id, provider: account.provider };
  // Each full batch is written while the next ones are hashed: the database and this process
  // work at the same time instead of in turn.
  const writes = new WriteQueue();
  let created: ResourceContentRow[] = [];
  let changed: ResourceContentRow[] = [];
  let seenAgain: string[] = [];
  let back: string[] = [];
  const flush = (all: boolean) => {
    if (created.length >= (all ? 1 : WRITE_BATCH)) {
      const batch = created;
      writes.push(() => insertResourceContents(db, owner, batch, seenAt));
      created = [];
    }
    if (changed.length >= (all ? 1 : WRITE_BATCH)) {
      const batch = changed;
      writes.push(() => updateResourcesContent(db, batch, seenAt));
      changed = [];
    }
    if (seenAgain.length >= (all ? 1 : WRITE_BATCH)) {
      const batch = seenAgain;
      writes.push(() => markResourcesSeen(db, batch, seenAt));
      seenAgain = [];
    }
    if (back.length >= (all ? 1 : WRITE_BATCH)) {
      const batch = back;
      writes.push(() => markResourcesBack(db, batch, seenAt));
      back = [];
    }
  };
  try {
    for (let i = 0; i < resources.length; i++) {
      const resource = resources[i]!;
      const current = existing.get(identityOf(resource));
      const content = contentJson(resource);
      const hash = contentHashOf(content);
      if (!current) {
        counts.created++;
        created.push({ id: newId('res'), native_id: resource.native_id, content_hash: hash, version: 1, content });
      } else if (current.content_hash !== hash) {
        counts.updated++;
        changed.push({ id: current.id, native_id: resource.native_id, content_hash: hash, version: current.version + 1, content });
      } else {
        // Unchanged: only the sighting is written, and the status of one that had gone.
        if (current.status === 'gone') {
          counts.updated++;
          back.push(current.id);
        } else {
          counts.unchanged++;
          seenAgain.push(current.id);
        }
      }
      if (i % YIELD_EVERY === YIELD_EVERY - 1) {
        flush(false);
        await yieldToIo(); // lets the connection send and receive while the loop goes on
      }
    }
    flush(true);
  } catch (error) {
    writes.fail(error); // no write may start once the caller gives up on the transaction
  }
  await writes.drained();
  return counts;
}

/** Runs writes one after another, in order, without the caller waiting for each; the first failure stops the rest. */
class WriteQueue {
  private tail: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;

  push(write: () => Promise<void>): void {
    this.tail = this.tail.then(async () => {
      if (this.failure) return;
      try {
        await write();
      } catch (error) {
        this.failure ??= { error };
      }
    });
  }

  /** Starts no more writes; `drained` rejects with `error` unless a write failed first. */
  fail(error: unknown): void {
    this.failure ??= { error };
  }

  /** Resolves once every write is done; rejects with the first failure. */
  async drained(): Promise<void> {
    await this.tail;
    if (this.failure) throw this.failure.error;
  }
}
