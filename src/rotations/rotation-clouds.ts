import type { RotationCredentialType, RotationStoreData } from '../db/schema';
import type { CloudEndpoints } from '../discovery/collector';
import type { ConnectionCredentials } from '../discovery/connections.service';
import { accessKeySecretValue, AwsIamSession, SecretsManagerEntry, SecretsManagerRotation, verifyAccessKey, type NewAccessKey } from './aws-rotation-client';
import { CloudCallError, EntraSession, GRAPH_SCOPE, requestToken } from './entra-rotation-client';
import { GcpSession, verifyServiceAccountKey } from './gcp-rotation-client';

/**
 * One rotation's calls to the clouds, the same four steps for every credential kind and the
 * same write for every store kind. A new credential's value lives in these closures only, for
 * as long as the rotation's request runs.
 */

/** The credential side, bound to one credential (owner and key) through its account's connection. */
export interface CredentialCalls {
  /** Creates the new credential; `value` is what each store entry is given. */
  create(expiresAt: Date, displayName: string): Promise<{ keyId: string; value: string }>;
  /** Signs in with the credential `create` made. */
  verify(): Promise<void>;
  /** Deletes a new credential again (a rollback). */
  discard(newKeyId: string): Promise<void>;
  /** Revokes the old credential after the overlap. */
  revoke(oldKeyId: string): Promise<void>;
}

/** Calls again after each delay while `call` fails: a new credential takes seconds to be accepted everywhere. */
async function withRetries(delays: readonly number[], call: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await call();
      return;
    } catch (error) {
      const delay = delays[attempt];
      if (delay === undefined) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

function expect<P extends ConnectionCredentials['provider']>(connection: ConnectionCredentials, provider: P, what: string): Extract<ConnectionCredentials, { provider: P }> {
  if (connection.provider !== provider) throw new CloudCallError(`${what} needs a ${provider} connection, not ${connection.provider}`);
  return connection as Extract<ConnectionCredentials, { provider: P }>;
}

/** How long a rotation function is waited for, and how often its secret is described meanwhile. */
export interface SecretRotationWait {
  seconds: number;
  pollMs: number;
}

/** Secrets Manager's own rotation: `create` starts the function, `verify` waits for its new version, `discard` undoes the stage moves. */
function secretRotationCalls(rotation: SecretsManagerRotation, wait: SecretRotationWait): CredentialCalls {
  let previous: string | null = null;
  let version: string | undefined;
  return {
    async create() {
      previous = (await rotation.stages()).current;
      version = await rotation.rotate();
      // Nothing to hand to store entries: the function writes the secret itself.
      return { keyId: version, value: '' };
    },
    async verify() {
      const deadline = Date.now() + wait.seconds * 1000;
      for (;;) {
        const stages = await rotation.stages();
        if (stages.current !== null && stages.current !== previous && stages.pending === null) return;
        if (Date.now() >= deadline) {
          throw new CloudCallError(
            `the rotation function of ${rotation.arn} did not finish within ${wait.seconds} seconds: AWSCURRENT is on version ${stages.current ?? 'none'}` +
              `${stages.current === previous ? ' (unchanged)' : ''}, AWSPENDING on ${stages.pending ?? 'none'} (see the function's CloudWatch logs)`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, wait.pollMs));
      }
    },
    async discard(newVersion) {
      const stages = await rotation.stages();
      // Both are tried: a left-over AWSPENDING blocks the next rotation even when AWSCURRENT could not move back.
      const problems: string[] = [];
      if (stages.current === newVersion && previous !== null) {
        await rotation.moveCurrent(previous, newVersion).catch((error: unknown) => problems.push(`AWSCURRENT not moved back to ${previous}: ${(error as Error).message}`));
      }
      if (stages.pending !== null) {
        await rotation.clearPending(stages.pending).catch((error: unknown) => problems.push(`AWSPENDING not removed from ${stages.pending}: ${(error as Error).message}`));
      }
      if (problems.length > 0) throw new CloudCallError(problems.join('; '));
    },
    revoke: () => Promise.resolve(),
  };
}

export function credentialCalls(
  type: RotationCredentialType,
  owner: string,
  oldKeyId: string,
  connection: ConnectionCredentials,
  endpoints: CloudEndpoints,
  verifyDelays: readonly number[],
  secretWait: SecretRotationWait,
): CredentialCalls {
  switch (type) {
    case 'aws_secretsmanager_secret':
      return secretRotationCalls(new SecretsManagerRotation(endpoints, expect(connection, 'aws', 'a Secrets Manager rotation').aws, owner), secretWait);
    case 'azuread_application_password': {
      const azure = expect(connection, 'azure', 'an Entra ID password').azure;
      const session = new EntraSession(endpoints, azure);
      let created: { appId: string; secret: string } | undefined;
      return {
        async create(expiresAt, displayName) {
          const application = await session.getApplication(owner);
          if (!application.passwordKeyIds.includes(oldKeyId)) throw new CloudCallError(`application ${owner} has no password credential ${oldKeyId}`);
          const password = await session.addPassword(owner, displayName, expiresAt);
          created = { appId: application.appId, secret: password.secretText };
          return { keyId: password.keyId, value: password.secretText };
        },
        verify: () => withRetries(verifyDelays, async () => void (await requestToken(endpoints, azure.tenant_id, created!.appId, created!.secret, GRAPH_SCOPE))),
        discard: (keyId) => session.removePassword(owner, keyId),
        revoke: (keyId) => session.removePassword(owner, keyId),
      };
    }
    case 'aws_iam_access_key': {
      const session = new AwsIamSession(endpoints, expect(connection, 'aws', 'an IAM access key').aws);
      let key: NewAccessKey | undefined;
      return {
        async create() {
          if (!(await session.listAccessKeyIds(owner)).includes(oldKeyId)) throw new CloudCallError(`IAM user ${owner} has no access key ${oldKeyId}`);
          key = await session.createAccessKey(owner);
          return { keyId: key.accessKeyId, value: accessKeySecretValue(key) };
        },
        verify: () => withRetries(verifyDelays, () => verifyAccessKey(endpoints, key!, owner)),
        discard: (keyId) => session.deleteAccessKey(owner, keyId),
        revoke: (keyId) => session.revokeAccessKey(owner, keyId),
      };
    }
    case 'google_service_account_key': {
      const session = new GcpSession(endpoints, expect(connection, 'gcp', 'a service-account key').gcp);
      const keyName = (keyId: string) => `projects/-/serviceAccounts/${owner}/keys/${keyId}`;
      let keyJson: string | undefined;
      return {
        async create() {
          if (!(await session.keyExists(keyName(oldKeyId)))) throw new CloudCallError(`service account ${owner} has no key ${oldKeyId}`);
          const key = await session.createKey(owner);
          keyJson = key.keyJson;
          return { keyId: key.keyId, value: key.keyJson };
        },
        verify: () => withRetries(verifyDelays, () => verifyServiceAccountKey(endpoints, keyJson!)),
        discard: (keyId) => session.deleteKey(keyName(keyId)),
        revoke: (keyId) => session.deleteKey(keyName(keyId)),
      };
    }
  }
}

/** What a store write made: the version (Secrets Manager, Secret Manager; null for Key Vault) and how to put the entry back as it was. */
export interface StoreWritten {
  version: string | null;
  undo: () => Promise<void>;
}

export type StoreWrite = (value: string, expiresAt: Date) => Promise<StoreWritten>;

/** Why a Key Vault secret written by a rotation whose process stopped cannot be returned. */
export const KEY_VAULT_PREVIOUS_LOST = "the secret's previous value was held by the stopped process only: set it again by hand, or rotate again";

export function storeWrite(store: RotationStoreData, connection: ConnectionCredentials, endpoints: CloudEndpoints): StoreWrite {
  switch (store.type) {
    case 'azurerm_key_vault_secret': {
      const session = new EntraSession(endpoints, expect(connection, 'azure', 'a Key Vault secret').azure);
      return async (value, expiresAt) => {
        // The previous value is held in memory for a rollback only.
        const previous = await session.getSecret(store.target);
        await session.setSecret(store.target, { value, contentType: previous.contentType, tags: previous.tags, expires: Math.floor(expiresAt.getTime() / 1000) });
        return { version: null, undo: () => session.setSecret(store.target, previous) };
      };
    }
    case 'aws_secretsmanager_secret': {
      const entry = new SecretsManagerEntry(endpoints, expect(connection, 'aws', 'a Secrets Manager secret').aws, store.target);
      return async (value) => {
        const written = await entry.write(value);
        return {
          version: written.versionId,
          undo: async () => {
            if (written.previousVersionId === null) throw new CloudCallError(`Secrets Manager secret ${store.target} had no AWSCURRENT version to return to`);
            await entry.restore(written.previousVersionId, written.versionId);
          },
        };
      };
    }
    case 'google_secret_manager_secret': {
      const session = new GcpSession(endpoints, expect(connection, 'gcp', 'a Secret Manager secret').gcp);
      return async (value) => {
        const version = await session.addSecretVersion(store.target, value);
        return { version, undo: () => session.disableSecretVersion(version) };
      };
    }
  }
}

/**
 * Returns a store entry from the version an interrupted rotation wrote (`version`, as its step
 * recorded it), without the value: Secrets Manager's AWSCURRENT moves back to the version that
 * holds AWSPREVIOUS, if AWSCURRENT is still on that version; a Secret Manager version is disabled.
 * A Key Vault secret cannot be: its previous value was in the stopped process's memory.
 */
export async function undoStoreWrite(store: RotationStoreData, version: string | undefined, connection: ConnectionCredentials, endpoints: CloudEndpoints): Promise<void> {
  if (store.type === 'azurerm_key_vault_secret') throw new CloudCallError(KEY_VAULT_PREVIOUS_LOST);
  if (version === undefined) throw new CloudCallError(`the version written into ${store.target} was not recorded: return it to its previous version by hand, or rotate again`);
  if (store.type === 'google_secret_manager_secret') {
    await new GcpSession(endpoints, expect(connection, 'gcp', 'a Secret Manager secret').gcp).disableSecretVersion(version);
    return;
  }
  const entry = new SecretsManagerEntry(endpoints, expect(connection, 'aws', 'a Secrets Manager secret').aws, store.target);
  const stages = await entry.stages();
  if (stages.current !== version) {
    throw new CloudCallError(`AWSCURRENT of ${store.target} is on version ${stages.current ?? 'none'}, no longer the one this rotation wrote (${version}): left as it is`);
  }
  if (stages.previous === null) throw new CloudCallError(`Secrets Manager secret ${store.target} has no AWSPREVIOUS version to return to`);
  await entry.restore(stages.previous, version);
}
