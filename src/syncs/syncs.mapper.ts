import type { SyncRow, SyncRunRow } from '../db/schema';
import type { Schemas } from '../http/contract';

export function toSync(row: SyncRow): Schemas['Sync'] {
  return {
    id: row.id,
    name: row.name,
    source: row.source,
    targets: row.targets,
    naming_template: row.naming_template,
    copy_tags: row.copy_tags,
    exclusions: row.exclusions,
    on_conflict: row.on_conflict,
    schedule: row.schedule,
    next_run_at: row.next_run_at?.toISOString() ?? null,
    schedule_paused_reason: row.schedule_paused_reason,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export function toSyncRun(row: SyncRunRow): Schemas['SyncRun'] {
  const counts = { created: 0, updated: 0, unchanged: 0, conflict: 0, skipped: 0, failed: 0 };
  for (const result of row.results) counts[result.outcome] += 1;
  return {
    id: row.id,
    sync_id: row.sync_id,
    trigger: row.trigger,
    rotation_id: row.rotation_id,
    only_items: row.only_items,
    status: row.status,
    counts,
    results: row.results,
    error: row.error_code ? { code: row.error_code as NonNullable<Schemas['SyncRun']['error']>['code'], message: row.error_message ?? '' } : null,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    started_at: row.started_at?.toISOString() ?? null,
    finished_at: row.finished_at?.toISOString() ?? null,
  };
}
