import { createHash } from 'node:crypto';
import type { DiscoveryConfig } from '../config';
import { decryptSecret, encryptSecret } from '../secrets';

const PURPOSE = 'connection secret';

/**
 * The keys connections' secret parts are encrypted under (AES-256-GCM, see `encryptSecret`).
 * Each ciphertext is stored with the id of its key, so that after a rotation (`SECRETS_KEY` set to
 * a new key, the old one moved to `SECRETS_KEYS_PREVIOUS`) old rows still decrypt until
 * `fourfold secrets re-encrypt` has moved them to the current key.
 */
export class SecretsKeyring {
  readonly currentKeyId: string;
  readonly #keys = new Map<string, string>();
  readonly #current: string;

  constructor(current: string, previous: readonly string[] = []) {
    this.#current = current;
    this.currentKeyId = keyIdOf(current);
    for (const key of [current, ...previous]) this.#keys.set(keyIdOf(key), key);
  }

  encrypt(plaintext: string): { encrypted: string; keyId: string } {
    return { encrypted: encryptSecret(this.#current, PURPOSE, Buffer.from(plaintext, 'utf8')), keyId: this.currentKeyId };
  }

  /** The plaintext; undefined when the key it was encrypted under is not configured (or the ciphertext was altered). */
  decrypt(encrypted: string, keyId: string): string | undefined {
    const key = this.#keys.get(keyId);
    if (key === undefined) return undefined;
    return decryptSecret(key, PURPOSE, encrypted)?.toString('utf8');
  }
}

/** A key's public name: a hash prefix, so that logs and rows can say which key without revealing it. */
export function keyIdOf(key: string): string {
  return createHash('sha256').update(`fourfold secrets key id\0${key}`).digest('hex').slice(0, 12);
}

/** What the API shows of a secret: enough to tell two apart, nothing that helps guess one. */
export function fingerprintOf(secret: string): string {
  return `sha256:${createHash('sha256').update(secret).digest('hex').slice(0, 16)}`;
}

/** The keyring of a configuration: `SECRETS_KEY`, else (a single-process default) one derived from the JWT signing secret. */
export function secretsKeyring(config: Pick<DiscoveryConfig, 'secretsKey' | 'previousSecretsKeys'>, signingSecret: string): SecretsKeyring {
  return new SecretsKeyring(config.secretsKey ?? `derived from the signing secret\0${signingSecret}`, config.previousSecretsKeys);
}
