import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { listenForNotices, type Db } from '../db/database';
import type { BearerAuthenticator } from '../http/authenticate';
import type { Principal } from '../http/principal';

/** The channel migration 0046's triggers notify when a credential, member or organization changes. */
export const CREDENTIALS_CHANGED = 'credentials_changed';

interface Entry {
  principal: Principal;
  /** Epoch ms after which the entry is not used: the end of its time to live, or its credential's expiry if sooner. */
  until: number;
}

/**
 * Verified credentials, kept briefly by the SHA-256 of the token so that a busy client is not
 * verified (JWT signature, one statement) on every request. It is used only while its process
 * listens for `credentials_changed`: any change that could refuse a kept credential empties it
 * at once, and a lost LISTEN connection turns it off until it listens again.
 */
export class CredentialCache {
  private readonly entries = new Map<string, Entry>();
  private listening = false;
  /** Bumped by every change: a verification that started before one must not be kept. */
  private generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The principal kept for `token`, or undefined (none, expired, or not listening). */
  get(token: string, now = Date.now()): Principal | undefined {
    if (!this.listening) return undefined;
    const key = keyOf(token);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.principal;
  }

  /** Wraps an authenticator: kept principals are answered without it, fresh ones are kept. */
  wrap(authenticate: BearerAuthenticator): BearerAuthenticator {
    if (this.ttlMs <= 0) return authenticate;
    return async (token, via) => {
      const kept = this.get(token);
      if (kept) return kept.via === via ? kept : { ...kept, via };
      const generation = this.generation;
      const principal = await authenticate(token, via);
      if (this.listening && generation === this.generation) this.keep(token, principal);
      return principal;
    };
  }

  /** Drops every kept credential (something they depend on changed). */
  clear(): void {
    this.generation++;
    this.entries.clear();
  }

  /** Starts or stops using the cache; stopping empties it, as changes may be missed meanwhile. */
  setListening(listening: boolean): void {
    this.clear();
    this.listening = listening;
  }

  private keep(token: string, principal: Principal): void {
    const now = Date.now();
    const expiresAt = principal.credential.expiresAt?.getTime() ?? Infinity;
    const until = Math.min(now + this.ttlMs, expiresAt);
    if (until <= now) return;
    const key = keyOf(token);
    this.entries.delete(key);
    // A Map iterates in insertion order: the first key is the oldest entry.
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { principal, until });
  }
}

function keyOf(token: string): string {
  return createHash('sha256').update(token).digest('base64');
}

/** Keeps `cache` in step with `credentials_changed`; answers a function that stops listening. */
export function watchCredentialChanges(db: Db, cache: CredentialCache, logger: Logger): Promise<() => Promise<void>> {
  // Told once per outage, not at every attempt to listen again.
  let told = false;
  return listenForNotices(db, CREDENTIALS_CHANGED, {
    notice: () => cache.clear(),
    lost: (error) => {
      cache.setListening(false);
      if (!told) logger.warn({ err: error }, 'no LISTEN connection for credential changes: credentials are verified on every request until there is one again');
      told = true;
    },
    listening: () => {
      cache.setListening(true);
      if (told) logger.info('listening for credential changes again: verified credentials are kept again');
      told = false;
    },
  });
}
