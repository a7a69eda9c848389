import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

// @node-rs/argon2 defaults to argon2id with OWASP's recommended cost (19 MiB, 2 passes).
export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

let decoyHash: Promise<string> | undefined;

/**
 * Checks `password` against `passwordHash`; with no hash (unknown user) it checks against a
 * decoy so that both failures take the same time and cannot be told apart.
 */
export async function verifyPassword(passwordHash: string | undefined, password: string): Promise<boolean> {
  decoyHash ??= hashPassword(randomBytes(32).toString('base64url'));
  const target = passwordHash ?? (await decoyHash);
  const matches = await verify(target, password).catch(() => false);
  return matches && passwordHash !== undefined;
}

/** A strong random password for the bootstrap owner when none is configured. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
