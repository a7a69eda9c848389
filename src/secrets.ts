import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * Every secret fourfold hands out (tokens, codes, client secrets, invitations) is one of these:
 * a bearer secret in the shape secret scanners recognise (as GitHub's tokens): a fixed prefix,
 * 32 random bytes in base62, and a CRC-32 of the rest in 6 base62 characters, so a scanner (and
 * we, before touching the database) can tell a real token from a look-alike.
 */
export function generateSecret(prefix: string): string {
  const body = `${prefix}${toBase62(randomBytes(32), 43)}`;
  return `${body}${toBase62(checksum(body), 6)}`;
}

export function hasValidChecksum(secret: string, prefix: string): boolean {
  if (!secret.startsWith(prefix) || secret.length !== prefix.length + 49 || !/^[0-9A-Za-z]+$/.test(secret.slice(prefix.length))) {
    return false;
  }
  return toBase62(checksum(secret.slice(0, -6)), 6) === secret.slice(-6);
}

/** High-entropy secrets need no salt or slow hash: SHA-256 makes a stolen table useless. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function toBase62(bytes: Buffer, length: number): string {
  let value = BigInt(`0x${bytes.toString('hex') || '0'}`);
  let text = '';
  while (text.length < length) {
    text = BASE62[Number(value % 62n)] + text;
    value /= 62n;
  }
  return text;
}

function checksum(text: string): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(text));
  return out;
}

/** Whether `secret` hashes to `expectedHash`, compared in constant time. */
export function secretMatchesHash(expectedHash: string, secret: string): boolean {
  const expected = Buffer.from(expectedHash, 'hex');
  const actual = Buffer.from(hashSecret(secret), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * Encrypts `secret` (AES-256-GCM) under a key derived from the configured secret and what it is
 * for (`purpose`), so that secrets we must use again (signing keys, webhook secrets, receivers'
 * URLs) are stored unreadable. base64url of IV, tag and ciphertext.
 */
export function encryptSecret(configuredSecret: string, purpose: string, secret: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', encryptionKey(configuredSecret, purpose), iv);
  const body = Buffer.concat([cipher.update(secret), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** The secret `encryptSecret` encrypted; undefined when it was encrypted under another configured secret or purpose. */
export function decryptSecret(configuredSecret: string, purpose: string, encrypted: string): Buffer | undefined {
  const raw = Buffer.from(encrypted, 'base64url');
  try {
    const decipher = createDecipheriv('aes-256-gcm', encryptionKey(configuredSecret, purpose), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
  } catch {
    return undefined;
  }
}

function encryptionKey(configuredSecret: string, purpose: string): Buffer {
  return createHash('sha256').update(`fourfold ${purpose}\0${configuredSecret}`).digest();
}
