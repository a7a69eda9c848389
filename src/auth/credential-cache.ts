import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { listenForNotices, observeWrites, type Db, type TableWrite } from '../db/database';
import { WATCHED_WRITES } from '../db/migrations/0046_credential_change_notices';
import type { BearerAuthenticator } from '../http/authenticate';
import type { Principal } from '../http/principal';

/** The channel migration 0046's triggers notify when a credential, member or organization changes. */
export const CREDENTIALS_CHANGED = 'credentials_changed';

/**
 * How long after this process sends a write that notifies `credentials_changed` it keeps nothing
 * new. The notice reaches the LISTEN connection a moment after the write commits, and a client
 * that revoked a token must see it refused at its very next request, not after that moment.
 */
const HOLD_AFTER_WRITE_MS = 1000;

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
  /** Epoch ms until which nothing new is kept: this process has just written a credential. */
  private holdUntil = 0;

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
      if (this.listening && generation === this.generation && Date.now() >= this.holdUntil) this.keep(token, principal);
      return principal;
    };
  }

  /** Drops every kept credential (something they depend on changed). */
  clear(): void {
    this.generation++;
    this.entries.clear();
  }

  /** Drops every kept credential and keeps nothing for a moment if `write` is one migration 0046 notifies. */
  noteWrite(write: TableWrite): void {
    const watched = WATCHED_WRITES.find((w) => w.table === write.table);
    if (!watched) return;
    if (watched.columns && write.columns && !write.columns.some((column) => watched.columns!.includes(column))) return;
    this.clear();
    this.holdUntil = Date.now() + HOLD_AFTER_WRITE_MS;
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
export async function watchCredentialChanges(db: Db, cache: CredentialCache, logger: Logger): Promise<() => Promise<void>> {
  // This process's own writes are seen as they are sent, ahead of their notices.
  const stopObserving = observeWrites(db, (write) => cache.noteWrite(write));
  // Told once per outage, not at every attempt to listen again.
  let told = false;
  const stopListening = await listenForNotices(db, CREDENTIALS_CHANGED, {
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
  return async () => {
    stopObserving();
    await stopListening();
  };
}
