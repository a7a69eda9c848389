import type { Db } from '../db/database';
import type { Schemas } from '../http/contract';
import type { Principal } from '../http/principal';
import { requireAccount } from '../accounts/accounts.service';
import { AppError } from '../errors';
import { CollectorError, type CloudEndpoints } from './collector';
import { COLLECTORS } from './collector-registry';
import type { SecretsKeyring } from './connection-secrets';
import { connectionCredentials, findConnection } from './connections.service';

const VERIFY_TIMEOUT_MS = 60_000;

/** Tries the connection's credentials permission by permission; nothing is written. */
export async function verifyConnection(
  db: Db,
  settings: { keyring: SecretsKeyring; endpoints: CloudEndpoints; concurrency: number },
  principal: Principal,
  accountId: string,
): Promise<Schemas['ConnectionVerification']> {
  const account = await requireAccount(db, principal, accountId);
  const connection = await findConnection(db, principal.organizationId, account.id);
  if (!connection) throw new AppError('not_found', `Account ${account.id} has no connection.`);
  let credentials;
  try {
    credentials = await connectionCredentials(db, settings.keyring, account, connection);
  } catch (error) {
    return { ok: false, error: { code: 'invalid_credentials', message: (error as Error).message }, checks: [] };
  }
  const collector = await COLLECTORS[credentials.provider]();
  try {
    const checks = await collector.verify(credentials, {
      signal: AbortSignal.timeout(VERIFY_TIMEOUT_MS),
      mode: 'full',
      changedSince: null,
      endpoints: settings.endpoints,
      concurrency: settings.concurrency,
      progress: () => undefined,
    });
    return { ok: checks.every((check) => check.ok), error: null, checks: checks.map((check) => ({ ...check, error: check.error?.slice(0, 2000) ?? null })) };
  } catch (error) {
    if (error instanceof CollectorError) return { ok: false, error: { code: error.code, message: error.message }, checks: [] };
    throw error;
  }
}
