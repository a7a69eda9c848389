import { jest } from '@jest/globals';
import { CredentialCache } from '../src/auth/credential-cache';
import type { Principal } from '../src/http/principal';

function principalOf(id: string, expiresAt: Date | null = null): Principal {
  return {
    userId: 'usr_1',
    organizationId: 'org_1',
    role: 'owner',
    scopes: ['findings:read'],
    member: {} as Principal['member'],
    credential: { kind: 'personal_access_token', id, expiresAt },
    via: 'authorization_header',
  };
}

/** An authenticator that counts its calls and answers the principal of `token`. */
function counting(expiresAt: Date | null = null) {
  const calls: string[] = [];
  return { calls, authenticate: async (token: string) => (calls.push(token), principalOf(token, expiresAt)) };
}

it('answers a kept credential without verifying it again, and with the request\'s own via', async () => {
  const cache = new CredentialCache(5000, 10);
  cache.setListening(true);
  const { calls, authenticate } = counting();
  const cached = cache.wrap(authenticate);
  await cached('ffp_a', 'authorization_header');
  const again = await cached('ffp_a', 'cookie');
  expect(calls).toEqual(['ffp_a']);
  expect(again.via).toBe('cookie');
});

it('keeps nothing while not listening for changes, nor when its time to live is 0', async () => {
  const quiet = new CredentialCache(5000, 10);
  const off = new CredentialCache(0, 10);
  off.setListening(true);
  for (const cache of [quiet, off]) {
    const { calls, authenticate } = counting();
    const cached = cache.wrap(authenticate);
    await cached('ffp_a', 'authorization_header');
    await cached('ffp_a', 'authorization_header');
    expect(calls).toHaveLength(2);
  }
});

it('keeps a credential no longer than its time to live, nor past its own expiry', async () => {
  const cache = new CredentialCache(5000, 10);
  cache.setListening(true);
  const soon = new Date(Date.now() + 1000);
  const { authenticate } = counting(soon);
  await cache.wrap(authenticate)('ffp_a', 'authorization_header');
  expect(cache.get('ffp_a', Date.now())).toBeDefined();
  expect(cache.get('ffp_a', soon.getTime())).toBeUndefined();
  const lasting = counting();
  await cache.wrap(lasting.authenticate)('ffp_b', 'authorization_header');
  expect(cache.get('ffp_b', Date.now() + 4000)).toBeDefined();
  expect(cache.get('ffp_b', Date.now() + 5001)).toBeUndefined();
});

it('keeps at most its bound, dropping the oldest', async () => {
  const cache = new CredentialCache(5000, 2);
  cache.setListening(true);
  const { authenticate } = counting();
  const cached = cache.wrap(authenticate);
  for (const token of ['ffp_a', 'ffp_b', 'ffp_c']) await cached(token, 'authorization_header');
  expect(cache.size).toBe(2);
  expect(cache.get('ffp_a')).toBeUndefined();
  expect(cache.get('ffp_c')).toBeDefined();
});

it('does not keep a verification that a change overtook, and empties on a change or a lost connection', async () => {
  const cache = new CredentialCache(5000, 10);
  cache.setListening(true);
  let release!: () => void;
  const slow = cache.wrap(async (token) => {
    await new Promise<void>((resolve) => (release = resolve));
    return principalOf(token);
  });
  const verifying = slow('ffp_a', 'authorization_header');
  cache.clear();
  release();
  await verifying;
  expect(cache.get('ffp_a')).toBeUndefined();

  const { authenticate } = counting();
  await cache.wrap(authenticate)('ffp_b', 'authorization_header');
  cache.clear();
  expect(cache.get('ffp_b')).toBeUndefined();
  await cache.wrap(authenticate)('ffp_b', 'authorization_header');
  cache.setListening(false);
  cache.setListening(true);
  expect(cache.get('ffp_b')).toBeUndefined();
});

it("empties at once on this process's own write to a credential, and keeps nothing new for a moment after it", async () => {
  const cache = new CredentialCache(5000, 10);
  cache.setListening(true);
  const { calls, authenticate } = counting();
  const cached = cache.wrap(authenticate);
  await cached('ffp_a', 'authorization_header');

  cache.noteWrite({ table: 'personal_access_tokens', columns: ['last_used_at'] });
  cache.noteWrite({ table: 'findings', columns: ['status'] });
  expect(cache.get('ffp_a')).toBeDefined();

  cache.noteWrite({ table: 'personal_access_tokens', columns: ['revoked_at'] });
  expect(cache.get('ffp_a')).toBeUndefined();
  await cached('ffp_a', 'authorization_header');
  await cached('ffp_a', 'authorization_header');
  expect(calls).toHaveLength(3);

  const later = Date.now() + 1500;
  const now = jest.spyOn(Date, 'now').mockReturnValue(later);
  try {
    await cached('ffp_a', 'authorization_header');
    expect(cache.get('ffp_a', later)).toBeDefined();
    cache.noteWrite({ table: 'memberships' });
    expect(cache.get('ffp_a', later)).toBeUndefined();
  } finally {
    now.mockRestore();
  }
});
