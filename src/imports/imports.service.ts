import { createHash } from 'node:crypto';
import type { Principal } from '../auth/auth.service';
import type { Db } from '../db/database';
import type { AccountRow, ImportRow } from '../db/schema';
import { lockAccount } from '../accounts/accounts.repository';
import { AppError } from '../errors';
import type { Schemas } from '../http/contract';
import { newId } from '../ids';
import { insertResources, insertResourceVersions, type NewResource, type NewResourceVersion } from '../resources/resources.repository';
import { stableJson } from '../stable-json';
import { parseInventory, type CanonicalResource, type ImportProblem } from './import-parsers';
import { resourceLimitProblems } from './resource-limits';
import {
  findAccountResourceStates,
  insertImport,
  markResourcesSeen,
  markUnseenResourcesGone,
  recordAccountImport,
  updateResourcesContent,
} from './imports.repository';

const SHOWN_PROBLEMS = 100;
const WRITE_BATCH = 5000;

type Counts = Schemas['Import']['counts'];

/**
 * Imports an inventory file into an account, all or nothing: a file with any problem writes
 * nothing but a `failed` import record, and answers 422 with the first problems.
 */
export async function importInventory(
  db: Db,
  principal: Principal,
  account: AccountRow,
  input: { format: Schemas['ImportFormat']; mode: Schemas['ImportMode']; document: unknown },
): Promise<ImportRow> {
  const startedAt = new Date();
  const parsed = parseInventory(input.format, input.document);
  const resources = parsed.resources.filter((resource) => resource.provider === account.provider);
  const skipped = parsed.resources.length - resources.length;
  const problems = [...parsed.problems, ...duplicateProblems(resources), ...resourceLimitProblems(resources)];
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
    finished_at: new Date(),
  });

  if (problems.length > 0) {
    const rejected = new Set(problems.map((p) => p.item)).size;
    const shown = problems.slice(0, SHOWN_PROBLEMS);
    const failed = await insertImport(db, record('failed', { created: 0, updated: 0, unchanged: 0, gone: 0, skipped, rejected }, shown));
    throw new AppError(
      'invalid_import',
      `The ${input.format} file has ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was imported (import ${failed.id}).`,
      shown.map((p) => ({ field: 'body', issue: `${p.item}${p.field ? ` ${p.field}` : ''}: ${p.message}` })),
    );
  }

  return db.transaction().execute(async (trx) => {
    if (!(await lockAccount(trx, principal.organizationId, account.id))) {
      throw new AppError('not_found', `No account ${account.id} in this organization.`);
    }
    // Taken once the lock is held, so that imports queued on one account stamp in the order they apply.
    const seenAt = new Date();
    const counts = { ...(await applyResources(trx, principal.organizationId, account, resources, seenAt)), skipped };
    if (input.mode === 'full') counts.gone = await markUnseenResourcesGone(trx, account.id, seenAt);
    await recordAccountImport(trx, account.id, seenAt);
    return insertImport(trx, record('succeeded', counts, []));
  });
}

/** The one problem the parsers cannot see across items: a native id twice. */
function duplicateProblems(resources: CanonicalResource[]): ImportProblem[] {
  const problems: ImportProblem[] = [];
  const seen = new Set<string>();
  for (const resource of resources) {
    if (seen.has(resource.native_id)) {
      problems.push({ item: resource.source, field: 'native_id', message: `${resource.native_id} appears more than once in the file` });
    }
    seen.add(resource.native_id);
  }
  return problems;
}

function contentOf(resource: CanonicalResource) {
  return {
    type: resource.type,
    name: resource.name,
    region: resource.region,
    tags: resource.tags,
    attributes: resource.attributes,
    relationships: resource.relationships,
  };
}

/** SHA-256 of the canonical JSON of what an import can change about a resource. */
function contentHash(resource: CanonicalResource): string {
  return createHash('sha256').update(stableJson(contentOf(resource))).digest('hex');
}

async function applyResources(
  db: Db,
  organizationId: string,
  account: AccountRow,
  resources: CanonicalResource[],
  seenAt: Date,
): Promise<Counts> {
  const counts: Counts = { created: 0, updated: 0, unchanged: 0, gone: 0, skipped: 0, rejected: 0 };
  const existing = new Map((await findAccountResourceStates(db, account.id)).map((row) => [row.native_id, row]));
  const created: NewResource[] = [];
  const changed: Parameters<typeof updateResourcesContent>[1] = [];
  const versions: NewResourceVersion[] = [];
  const seenAgain: string[] = [];
  for (const resource of resources) {
    const current = existing.get(resource.native_id);
    const content = { ...contentOf(resource), content_hash: contentHash(resource), version: (current?.version ?? 0) + 1 };
    if (!current) {
      const id = newId('res');
      counts.created++;
      created.push({
        ...content,
        id,
        organization_id: organizationId,
        account_id: account.id,
        provider: resource.provider,
        native_id: resource.native_id,
        first_seen_at: seenAt,
        last_seen_at: seenAt,
        status: 'active',
      });
      versions.push({ ...content, resource_id: id, recorded_at: seenAt });
    } else if (current.content_hash !== content.content_hash) {
      counts.updated++;
      changed.push({ ...content, id: current.id, last_seen_at: seenAt });
      versions.push({ ...content, resource_id: current.id, recorded_at: seenAt });
    } else {
      if (current.status === 'gone') counts.updated++;
      else counts.unchanged++;
      seenAgain.push(current.id);
    }
  }
  for (let i = 0; i < created.length; i += WRITE_BATCH) await insertResources(db, created.slice(i, i + WRITE_BATCH));
  for (let i = 0; i < changed.length; i += WRITE_BATCH) await updateResourcesContent(db, changed.slice(i, i + WRITE_BATCH));
  for (let i = 0; i < versions.length; i += WRITE_BATCH) await insertResourceVersions(db, versions.slice(i, i + WRITE_BATCH));
  await markResourcesSeen(db, seenAgain, seenAt);
  return counts;
}
