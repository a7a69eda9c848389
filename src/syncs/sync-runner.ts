import type { Logger } from 'pino';
import type { Db } from '../db/database';
import type { SyncItemKind, SyncOutcome, SyncResultData, SyncRow, SyncTargetData } from '../db/schema';
import type { CloudEndpoints } from '../discovery/collector';
import type { SecretsKeyring } from '../discovery/connection-secrets';
import { connectionCredentials, findConnection, type ConnectionCredentials } from '../discovery/connections.service';
import { acmWriter, errorText, gcpCertificateManagerWriter, gcpSecretManagerWriter, readKeyVault, secretsManagerWriter, ssmParameterWriter, type SourceItem, type TargetWriter } from './sync-clouds';
import { finishSyncRunRow, findOrganizationAccount, findSyncById, findSyncRunById, recordWrittenTarget, startSyncRunRow, writtenTargets } from './syncs.repository';

export interface SyncRunSettings {
  keyring: SecretsKeyring;
  endpoints: CloudEndpoints;
}

/** `*` any run of characters, `?` one; case-insensitive, whole name. */
export function nameMatches(pattern: string, name: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${regex}$`, 'i').test(name);
}

export function targetName(template: string, vault: string, item: { kind: SyncItemKind; name: string }): string {
  return template.replaceAll('{name}', item.name).replaceAll('{vault}', vault).replaceAll('{kind}', item.kind);
}

/**
 * Runs one sync run: reads the current version of each selected Key Vault item, then for each
 * target decides and records one outcome. What fourfold wrote (source version, target version
 * id or import time) is recorded per target as soon as it is written, so that the next run can
 * tell `unchanged` from a change made outside fourfold (`conflict`). Values stay in memory.
 */
export async function runSync(db: Db, runId: string, settings: SyncRunSettings, logger: Logger): Promise<void> {
  const run = await startSyncRunRow(db, runId);
  if (!run) return;
  const fail = async (code: string, message: string) => {
    await finishSyncRunRow(db, run.id, { status: 'failed', error_code: code, error_message: message.slice(0, 2000) });
    logger.info({ sync_run: run.id, code }, 'sync run failed');
  };
  const sync = await findSyncById(db, run.sync_id);
  if (!sync) return fail('not_connected', 'The sync no longer exists.');
  const source = await credentialsOf(db, settings, sync.organization_id, sync.source.account_id);
  if ('error' in source) return fail(source.error.code, source.error.message);
  if (source.credentials.provider !== 'azure') return fail('not_connected', `The source account ${sync.source.account_id} is not an Azure account.`);

  const only = run.only_items === null ? null : new Set(run.only_items.map((name) => name.toLowerCase()));
  let items: SourceItem[];
  try {
    items = await readKeyVault(source.credentials.azure, settings.endpoints, {
      vaultName: sync.source.vault_name,
      kinds: only === null ? sync.source.kinds : sync.source.kinds.filter((kind) => kind === 'secret'),
      // A rotation's run: only the secrets it wrote, still through the sync's own selection.
      wanted: (name, tags) => wanted(sync, name, tags) && (only === null || only.has(name.toLowerCase())),
    });
  } catch (error) {
    return fail('source_unreadable', `Key Vault ${sync.source.vault_name} could not be read: ${errorText(error)}`);
  }

  const written = new Map((await writtenTargets(db, sync.id)).map((row) => [stateKey(row.item_kind, row.item_name, row.target_account_id, row.target_service), row]));
  const results: SyncResultData[] = [];
  for (const target of sync.targets) {
    const opened = await openTarget(db, settings, sync.organization_id, target);
    for (const item of items) {
      const name = targetName(sync.naming_template, sync.source.vault_name, item);
      const result = (outcome: SyncOutcome, extra: { target_name?: string; target_version?: string | null; error?: string | null } = {}): SyncResultData => ({
        item_kind: item.kind,
        item_name: item.name,
        source_version: item.version,
        target_account_id: target.account_id,
        target_service: target.service,
        target_name: extra.target_name ?? name,
        outcome,
        target_version: extra.target_version ?? null,
        error: extra.error ?? null,
      });
      if ('error' in opened) {
        results.push(result('failed', { error: opened.error.message }));
        continue;
      }
      const certificateService = CERTIFICATE_SERVICES[target.service];
      if (certificateService !== undefined && item.kind !== 'certificate') {
        results.push(result('skipped', { error: `${certificateService} takes certificates only.` }));
        continue;
      }
      if (certificateService !== undefined && item.pem === null) {
        results.push(result('skipped', { error: `The certificate's secret could not be read as PEM or PFX (PKCS#12 without a password, RSA key) with a private key and a certificate; ${certificateService} needs both.` }));
        continue;
      }
      const previous = written.get(stateKey(item.kind, item.name, target.account_id, target.service));
      const knownArn = target.service === 'aws_acm' ? (previous?.target_name ?? null) : null;
      try {
        const current = await opened.writer.current(name, knownArn);
        let create = !current.exists;
        if (current.exists) {
          const changedOutside = previous === undefined || previous.target_version !== current.version;
          if (changedOutside && sync.on_conflict === 'skip') {
            const why = previous === undefined
              ? 'The target exists and fourfold did not write it'
              : `The target's current version (${current.version}) is not the one fourfold wrote (${previous.target_version})`;
            results.push(result('conflict', { target_name: knownArn ?? name, target_version: current.version, error: `${why}; left untouched (on_conflict: skip).` }));
            continue;
          }
          if (!changedOutside && previous.source_version === item.version) {
            results.push(result('unchanged', { target_name: knownArn ?? name, target_version: current.version }));
            continue;
          }
          create = false;
        }
        const tags = sync.copy_tags ? item.tags : null;
        const wrote = await opened.writer.write({ name, item, tags, previousArn: current.exists ? knownArn : null, create });
        await recordWrittenTarget(db, {
          sync_id: sync.id,
          item_kind: item.kind,
          item_name: item.name,
          target_account_id: target.account_id,
          target_service: target.service,
          target_name: wrote.name,
          source_version: item.version,
          target_version: wrote.version,
          written_at: new Date(),
        });
        results.push(result(create ? 'created' : 'updated', { target_name: wrote.name, target_version: wrote.version }));
      } catch (error) {
        results.push(result('failed', { error: errorText(error) }));
      }
    }
    if (!('error' in opened)) opened.writer.close();
  }
  const failed = results.filter((r) => r.outcome === 'failed').length;
  const ended = await finishSyncRunRow(db, run.id, { status: failed > 0 ? 'partially_succeeded' : 'succeeded', results });
  if (ended) {
    const counts: Record<string, number> = {};
    for (const r of results) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
    logger.info({ sync_run: run.id, sync: sync.id, trigger: run.trigger, status: ended.status, items: items.length, counts }, 'sync run finished');
  }
}

/** Ends a run whose job ran out of attempts as failed. */
export async function failAbandonedSyncRun(db: Db, runId: string): Promise<void> {
  const run = await findSyncRunById(db, runId);
  if (!run) return;
  await finishSyncRunRow(db, run.id, { status: 'failed', error_code: 'worker_lost', error_message: 'The run did not finish after several attempts.' });
}

export function wanted(sync: Pick<SyncRow, 'source' | 'exclusions'>, name: string, tags: Record<string, string>): boolean {
  if (sync.source.name_pattern !== null && !nameMatches(sync.source.name_pattern, name)) return false;
  if (sync.exclusions.some((pattern) => nameMatches(pattern, name))) return false;
  if (sync.source.tag_filter !== null && !Object.entries(sync.source.tag_filter).every(([key, value]) => tags[key] === value)) return false;
  return true;
}

/** The targets that take certificates only, by their name in messages. */
const CERTIFICATE_SERVICES: Partial<Record<SyncTargetData['service'], string>> = { aws_acm: 'ACM', gcp_certificate_manager: 'Certificate Manager' };

function stateKey(kind: string, name: string, accountId: string, service: string): string {
  return [kind, name, accountId, service].join('\u0000');
}

type Opened = { writer: TargetWriter } | { error: { code: string; message: string } };

type Found = { account: NonNullable<Awaited<ReturnType<typeof findOrganizationAccount>>>; credentials: ConnectionCredentials } | { error: { code: string; message: string } };

async function credentialsOf(db: Db, settings: SyncRunSettings, organizationId: string, accountId: string): Promise<Found> {
  const account = await findOrganizationAccount(db, organizationId, accountId);
  const connection = account && (await findConnection(db, organizationId, accountId));
  if (!account || !connection) return { error: { code: 'not_connected', message: `Account ${accountId} has no connection any more.` } };
  try {
    return { account, credentials: await connectionCredentials(db, settings.keyring, account, connection) };
  } catch (error) {
    return { error: { code: 'invalid_credentials', message: (error as Error).message } };
  }
}

async function openTarget(db: Db, settings: SyncRunSettings, organizationId: string, target: SyncTargetData): Promise<Opened> {
  const found = await credentialsOf(db, settings, organizationId, target.account_id);
  if ('error' in found) return found;
  const { credentials, account } = found;
  try {
    if (credentials.provider === 'aws' && target.service === 'aws_secrets_manager') return { writer: await secretsManagerWriter(credentials.aws, settings.endpoints, target.region ?? 'us-east-1') };
    if (credentials.provider === 'aws' && target.service === 'aws_ssm_parameter_store') return { writer: await ssmParameterWriter(credentials.aws, settings.endpoints, target.region ?? 'us-east-1') };
    if (credentials.provider === 'aws' && target.service === 'aws_acm') return { writer: await acmWriter(credentials.aws, settings.endpoints, target.region ?? 'us-east-1') };
    if (credentials.provider === 'gcp') {
      const project = 'project_id' in credentials.scope ? credentials.scope.project_id : account.external_id;
      if (target.service === 'gcp_secret_manager') return { writer: await gcpSecretManagerWriter(credentials.gcp, settings.endpoints, project) };
      if (target.service === 'gcp_certificate_manager') return { writer: await gcpCertificateManagerWriter(credentials.gcp, settings.endpoints, project) };
    }
  } catch (error) {
    return { error: { code: 'invalid_credentials', message: `The target could not be reached: ${errorText(error)}` } };
  }
  return { error: { code: 'not_connected', message: `Account ${target.account_id} is not a ${target.service} account.` } };
}
