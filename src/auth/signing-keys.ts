import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { decryptSecret, encryptSecret } from '../secrets';
import type { Db } from '../db/database';
import { deleteSupersededSigningKeys, insertSigningKey, listSigningKeys } from './signing-keys.repository';

export interface SigningKey {
  /** Absent for the configured secret (JWT_SECRET or DATA_DIR/jwt-secret), which signed before any rotation. */
  kid: string | undefined;
  key: KeyObject;
  createdAt: Date;
}

// How long the key list is trusted before it is read again: a rotation by `fourfold keys rotate`
// (another process) reaches every API process within this time.
const REFRESH_MS = 10_000;
// An unknown kid re-reads the list at most this often, so forged kids cannot flood the database.
const UNKNOWN_KID_REFRESH_MS = 1_000;

/**
 * The JWT signing keys: the configured secret, then each key `fourfold keys rotate` made, kept in
 * the database encrypted with the configured secret. The newest signs. A key stops verifying
 * `ttlSeconds` after its successor appeared, when every token it signed has expired.
 */
export class SigningKeyring {
  private keys: SigningKey[];
  private loadedAt = 0;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly configuredSecret: string,
    private readonly ttlSeconds: number,
  ) {
    this.keys = [{ kid: undefined, key: createSecretKey(Buffer.from(configuredSecret, 'utf8')), createdAt: new Date(0) }];
  }

  async signingKey(): Promise<SigningKey> {
    await this.refresh(REFRESH_MS);
    return this.keys[this.keys.length - 1]!;
  }

  /** The key that verifies a token with this `kid` header, if it is still accepted. */
  async verificationKey(kid: string | undefined, now = new Date()): Promise<KeyObject | undefined> {
    await this.refresh(REFRESH_MS);
    if (kid !== undefined && !this.keys.some((k) => k.kid === kid)) await this.refresh(UNKNOWN_KID_REFRESH_MS);
    const index = this.keys.findIndex((k) => k.kid === kid);
    if (index < 0) return undefined;
    const successor = this.keys[index + 1];
    if (successor && successor.createdAt.getTime() + this.ttlSeconds * 1000 <= now.getTime()) return undefined;
    return this.keys[index]!.key;
  }

  private async refresh(maxAgeMs: number): Promise<void> {
    if (Date.now() - this.loadedAt < maxAgeMs) return;
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    await this.loading;
  }

  private async load(): Promise<void> {
    const rows = await listSigningKeys(this.db);
    const stored: SigningKey[] = [];
    for (const row of rows) {
      const secret = decryptKey(this.configuredSecret, row.secret_encrypted);
      // A key encrypted under another configured secret cannot be used; tokens it signed are refused.
      if (secret) stored.push({ kid: row.kid, key: createSecretKey(secret), createdAt: row.created_at });
    }
    this.keys = [this.keys[0]!, ...stored];
    this.loadedAt = Date.now();
  }
}

/**
 * Makes a new signing key (it signs from the next refresh of each process) and forgets keys that
 * stopped verifying. Answers the new key's id.
 */
export async function rotateSigningKey(db: Db, configuredSecret: string, ttlSeconds: number): Promise<{ kid: string; removed: number }> {
  const kid = `key_${randomBytes(12).toString('hex')}`;
  await insertSigningKey(db, { kid, secret_encrypted: encryptKey(configuredSecret, randomBytes(48)) });
  const removed = await deleteSupersededSigningKeys(db, new Date(Date.now() - ttlSeconds * 1000));
  return { kid, removed };
}

const PURPOSE = 'signing keys';

function encryptKey(configuredSecret: string, secret: Buffer): string {
  return encryptSecret(configuredSecret, PURPOSE, secret);
}

function decryptKey(configuredSecret: string, encrypted: string): Buffer | undefined {
  return decryptSecret(configuredSecret, PURPOSE, encrypted);
}
