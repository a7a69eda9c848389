import type { AwsCredentials, CloudEndpoints } from '../discovery/collector';
import { awsConfig, awsIdentity } from '../syncs/sync-clouds';
import { CloudCallError } from './entra-rotation-client';

/**
 * The AWS calls of a rotation, through the SDK and the discovery endpoint override: IAM access
 * keys (create, deactivate, delete), STS to verify a new key, Secrets Manager to write it. Errors
 * carry the service's error name and message, never a key's secret.
 */

/** IAM is global: its calls (and the verification) are signed for this region. */
const IAM_REGION = 'us-east-1';

function cloudError(what: string, error: unknown): CloudCallError {
  const e = error as { name?: string; message?: string };
  return new CloudCallError(`${what} answered ${e.name ?? 'Error'}${e.message ? ` (${e.message.slice(0, 500)})` : ''}`);
}

async function attempt<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw cloudError(what, error);
  }
}

/** A new access key: its secret is answered once and must stay in memory. */
export interface NewAccessKey {
  accessKeyId: string;
  secretAccessKey: string;
}

/** What a Secrets Manager secret holds for an access key (documented in the README). */
export function accessKeySecretValue(key: NewAccessKey): string {
  return JSON.stringify({ access_key_id: key.accessKeyId, secret_access_key: key.secretAccessKey });
}

export class AwsIamSession {
  constructor(
    readonly endpoints: CloudEndpoints,
    readonly credentials: AwsCredentials,
  ) {}

  async #iam<T>(what: string, run: (iam: typeof import('@aws-sdk/client-iam'), client: import('@aws-sdk/client-iam').IAMClient) => Promise<T>): Promise<T> {
    const iam = await import('@aws-sdk/client-iam');
    const identity = await attempt('STS (assume the connection role)', () => awsIdentity(this.credentials, this.endpoints, IAM_REGION));
    const client = new iam.IAMClient(awsConfig(identity, this.endpoints, IAM_REGION));
    try {
      return await attempt(what, () => run(iam, client));
    } finally {
      client.destroy();
    }
  }

  /** IAM allows two access keys per user: a user holding two already cannot get a third. */
  async createAccessKey(userName: string): Promise<NewAccessKey> {
    try {
      return await this.#iam('IAM (CreateAccessKey)', async (iam, client) => {
        const created = await client.send(new iam.CreateAccessKeyCommand({ UserName: userName }));
        const key = created.AccessKey;
        if (!key?.AccessKeyId || !key.SecretAccessKey) throw new Error('no access key in the answer');
        return { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
      });
    } catch (error) {
      if (/LimitExceeded/.test((error as Error).message)) {
        throw new CloudCallError(`IAM user ${userName} has two access keys already (IAM allows two per user): delete the one not in use, then rotate again. ${(error as Error).message}`);
      }
      throw error;
    }
  }

  /** The user's access key ids (ListAccessKeys: two at most, so no paging). */
  async listAccessKeyIds(userName: string): Promise<string[]> {
    return this.#iam('IAM (ListAccessKeys)', async (iam, client) => {
      const listed = await client.send(new iam.ListAccessKeysCommand({ UserName: userName }));
      return (listed.AccessKeyMetadata ?? []).flatMap((key) => (key.AccessKeyId ? [key.AccessKeyId] : []));
    });
  }

  /** Revokes a key: inactive first (so a failing delete leaves it unusable), then deleted. */
  async revokeAccessKey(userName: string, accessKeyId: string): Promise<void> {
    await this.#iam('IAM (UpdateAccessKey Inactive)', (iam, client) => client.send(new iam.UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: 'Inactive' })));
    await this.deleteAccessKey(userName, accessKeyId);
  }

  async deleteAccessKey(userName: string, accessKeyId: string): Promise<void> {
    await this.#iam('IAM (DeleteAccessKey)', (iam, client) => client.send(new iam.DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId })));
  }
}

/** `sts:GetCallerIdentity` signed with the new key: it works, and it is the user's. */
export async function verifyAccessKey(endpoints: CloudEndpoints, key: NewAccessKey, userName: string): Promise<void> {
  const sts = await import('@aws-sdk/client-sts');
  const client = new sts.STSClient({ region: IAM_REGION, maxAttempts: 1, credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey }, ...(endpoints.aws ? { endpoint: endpoints.aws } : {}) });
  try {
    const identity = await attempt('STS (GetCallerIdentity with the new key)', () => client.send(new sts.GetCallerIdentityCommand({})));
    if (!identity.Arn?.endsWith(`:user/${userName}`) && !identity.Arn?.endsWith(`/${userName}`)) throw new CloudCallError(`STS (GetCallerIdentity with the new key) answered ${identity.Arn ?? 'no ARN'}, not IAM user ${userName}`);
  } finally {
    client.destroy();
  }
}

/** The region of a Secrets Manager secret's ARN. */
export function secretRegion(arn: string): string {
  const region = arn.split(':')[3];
  if (!region) throw new CloudCallError(`${arn} is not a Secrets Manager secret ARN`);
  return region;
}

/** One Secrets Manager secret: a new version made current, and the way back. */
export class SecretsManagerEntry {
  constructor(
    readonly endpoints: CloudEndpoints,
    readonly credentials: AwsCredentials,
    readonly arn: string,
  ) {}

  async call<T>(what: string, run: (sm: typeof import('@aws-sdk/client-secrets-manager'), client: import('@aws-sdk/client-secrets-manager').SecretsManagerClient) => Promise<T>): Promise<T> {
    const sm = await import('@aws-sdk/client-secrets-manager');
    const region = secretRegion(this.arn);
    const identity = await attempt('STS (assume the connection role)', () => awsIdentity(this.credentials, this.endpoints, region));
    const client = new sm.SecretsManagerClient(awsConfig(identity, this.endpoints, region));
    try {
      return await attempt(`Secrets Manager (${what} ${this.arn})`, () => run(sm, client));
    } finally {
      client.destroy();
    }
  }

  /** Writes `value` as the new AWSCURRENT version; answers the version it replaced (null: none) and the new one. */
  async write(value: string): Promise<{ previousVersionId: string | null; versionId: string }> {
    return this.call('PutSecretValue', async (sm, client) => {
      const described = await client.send(new sm.DescribeSecretCommand({ SecretId: this.arn }));
      const previous = Object.entries(described.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0] ?? null;
      const put = await client.send(new sm.PutSecretValueCommand({ SecretId: this.arn, SecretString: value }));
      if (!put.VersionId) throw new Error('no version id in the answer');
      return { previousVersionId: previous, versionId: put.VersionId };
    });
  }

  /** The versions holding AWSCURRENT, AWSPREVIOUS and AWSPENDING. */
  async stages(): Promise<SecretStages> {
    return this.call('DescribeSecret', async (sm, client) => {
      const described = await client.send(new sm.DescribeSecretCommand({ SecretId: this.arn }));
      const holding = (stage: string) => Object.entries(described.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes(stage))?.[0] ?? null;
      return { current: holding('AWSCURRENT'), previous: holding('AWSPREVIOUS'), pending: holding('AWSPENDING') };
    });
  }

  /** Moves AWSCURRENT back from the version written to the one before. */
  async restore(previousVersionId: string, versionId: string): Promise<void> {
    await this.call('UpdateSecretVersionStage', (sm, client) =>
      client.send(new sm.UpdateSecretVersionStageCommand({ SecretId: this.arn, VersionStage: 'AWSCURRENT', MoveToVersionId: previousVersionId, RemoveFromVersionId: versionId })),
    );
  }
}

/** Where a secret's staging labels are: the versions holding AWSCURRENT, AWSPREVIOUS and AWSPENDING. */
export interface SecretStages {
  current: string | null;
  previous: string | null;
  pending: string | null;
}

/** A Secrets Manager secret rotated by its own rotation function; no call here reads its value. */
export class SecretsManagerRotation {
  readonly #entry: SecretsManagerEntry;

  constructor(endpoints: CloudEndpoints, credentials: AwsCredentials, arn: string) {
    this.#entry = new SecretsManagerEntry(endpoints, credentials, arn);
  }

  get arn(): string {
    return this.#entry.arn;
  }

  async stages(): Promise<SecretStages> {
    return this.#entry.stages();
  }

  /** Starts the rotation function at once; answers the version it is making. */
  async rotate(): Promise<string> {
    return this.#entry.call('RotateSecret', async (sm, client) => {
      const started = await client.send(new sm.RotateSecretCommand({ SecretId: this.arn, RotateImmediately: true }));
      if (!started.VersionId) throw new Error('no version id in the answer');
      return started.VersionId;
    });
  }

  /** Moves AWSCURRENT to `versionId` from the version holding it. */
  async moveCurrent(versionId: string, from: string): Promise<void> {
    await this.#entry.restore(versionId, from);
  }

  /** Removes AWSPENDING from a version a failed rotation left it on, so the next rotation can start. */
  async clearPending(versionId: string): Promise<void> {
    await this.#entry.call('UpdateSecretVersionStage', (sm, client) => client.send(new sm.UpdateSecretVersionStageCommand({ SecretId: this.arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: versionId })));
  }
}
