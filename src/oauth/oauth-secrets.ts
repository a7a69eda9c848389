import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Recognisable prefixes, so a leaked value is easy to identify (and to scan for). */
export const ACCESS_TOKEN_PREFIX = 'ffo_';
export const REFRESH_TOKEN_PREFIX = 'ffr_';
export const CLIENT_SECRET_PREFIX = 'ffs_';
export const CODE_PREFIX = 'ffc_';

/** `<prefix>` + 256 random bits in base64url (43 characters). */
export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/**
 * SHA-256, hex. Enough for these values: they carry 256 random bits, so unlike passwords they
 * cannot be guessed from their hash, and a fast hash lets tokens be looked up by it.
 */
export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function hashesMatch(expectedHex: string, value: string): boolean {
  const a = Buffer.from(expectedHex, 'hex');
  const b = Buffer.from(sha256(value), 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
