import { sql } from 'kysely';
import request from 'supertest';
import { verifyAuditLog } from '../src/audit-log/audit-log.service';
import { as, logInAs, OWNER, TEST_SECRET, useTestApp } from './support/app';
import { expectError } from './support/expectations';

const GENESIS = '0'.repeat(64);
const PASSWORD = 'tenant-password-0123456789';
// The owner is also a platform operator, to make a second organization.
const t = useTestApp({ PLATFORM_ADMINS: OWNER.username });
let owner: string;
let organizationId: string;
beforeAll(async () => {
  owner = await t.ownerToken();
  organizationId = (await request(t.app).get('/v1/organization').set(as(owner))).body.id;
});

const list = (query: Record<string, string | number> = {}, token = owner) => request(t.app).get('/v1/audit-log').query(query).set(as(token));
let accounts = 0;
const createAccount = (token = owner) =>
  request(t.app).post('/v1/accounts').set(as(token)).send({ provider: 'aws', external_id: String(100000000000 + ++accounts), name: `account ${accounts}` });

describe('the audit log', () => {
  it('records a state-changing request before answering it: actor, action, target, outcome, request id, IP and time', async () => {
    const before = Date.now();
    const created = await createAccount();
    expect(created.status).toBe(201);
    const me = (await request(t.app).get('/v1/me').set(as(owner))).body.user;
    const page = await list({ target: created.body.id });
    expect(page.status).toBe(200);
    expect(page.body.data).toEqual([
      {
        id: expect.stringMatching(/^log_/),
        sequence: expect.any(Number),
        occurred_at: expect.any(String),
        actor: { type: 'user', id: expect.stringMatching(/^ses_/), user_id: me.id },
        action: 'createAccount',
        target_id: created.body.id,
        outcome: 201,
        request_id: created.headers['x-request-id'],
        ip: expect.any(String),
        detail: {},
        previous_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        hmac: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    ]);
    expect(Date.parse(page.body.data[0].occurred_at)).toBeGreaterThanOrEqual(before - 1000);
  });

  it('records refused writes and personal access tokens, not reads', async () => {
    const pat = await t.createPat(owner, ['resources:write', 'resources:read']);
    const refused = await request(t.app).post('/v1/accounts').set(as(pat.secret)).send({ provider: 'aws', external_id: 'not-an-account', name: 'x' });
    expect(refused.status).toBe(422);
    const byToken = await list({ actor: pat.id });
    expect(byToken.body.data).toEqual([expect.objectContaining({ action: 'createAccount', outcome: 422, target_id: null, actor: { type: 'personal_access_token', id: pat.id, user_id: expect.stringMatching(/^usr_/) } })]);
    await request(t.app).get('/v1/accounts').set(as(pat.secret)).expect(200);
    expect((await list({ action: 'listAccounts' })).body.data).toEqual([]);
  });

  it('records login successes and failures in the log of the user’s organization', async () => {
    const failed = await request(t.app).post('/auth/login').send({ username: OWNER.username, password: 'wrong-password-0123' });
    expect(failed.status).toBe(401);
    await logInAs(t.app, OWNER.username, OWNER.password);
    const logins = (await list({ action: 'createSession', limit: 2 })).body.data;
    expect(logins.map((entry: { outcome: number }) => entry.outcome)).toEqual([200, 401]);
    expect(logins[1]).toMatchObject({ actor: { type: 'user', id: null, user_id: expect.stringMatching(/^usr_/) }, detail: { username: OWNER.username }, request_id: failed.headers['x-request-id'] });
  });

  it('filters by action, actor, target and time, newest first, page by page with a cursor bound to its filters', async () => {
    for (let i = 0; i < 3; i++) expect((await createAccount()).status).toBe(201);
    const since = new Date(Date.now() - 60_000).toISOString();
    const first = await list({ action: 'createAccount', since, limit: 2 });
    expect(first.body.data).toHaveLength(2);
    expect(first.body.has_more).toBe(true);
    const second = await list({ action: 'createAccount', since, limit: 2, cursor: first.body.next_cursor });
    expect(second.status).toBe(200);
    const sequences = [...first.body.data, ...second.body.data].map((entry: { sequence: number }) => entry.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => b - a));
    expect(new Set(sequences).size).toBe(sequences.length);
    expectError(await list({ action: 'deleteAccount', cursor: first.body.next_cursor }), 400, 'invalid_cursor');
    expect((await list({ until: '2000-01-01T00:00:00Z' })).body.data).toEqual([]);
    expect((await list({ actor: 'system' })).body.data).toEqual([]);
  });

  it('is for owners and admins: members and viewers get 403 insufficient_scope', async () => {
    for (const role of ['viewer', 'member'] as const) {
      const { token } = await t.addMember(role);
      expectError(await list({}, token), 403, 'insufficient_scope');
      expectError(await request(t.app).get('/v1/audit-log/export').set(as(token)), 403, 'insufficient_scope');
    }
    const admin = await t.addMember('admin');
    expect((await list({}, admin.token)).status).toBe(200);
  });

  it('keeps each organization’s log to itself', async () => {
    const created = await request(t.app).post('/v1/platform/organizations').set(as(owner)).send({ name: 'Other', slug: 'other-audit', owner: { username: 'other-owner@example.com', password: PASSWORD } });
    expect(created.status).toBe(201);
    const other = await logInAs(t.app, 'other-owner@example.com', PASSWORD);
    const mine = await createAccount();
    const theirs = (await list({}, other)).body.data;
    expect(theirs.length).toBeGreaterThan(0);
    expect(theirs.every((entry: { action: string; target_id: string | null }) => entry.target_id !== mine.body.id)).toBe(true);
    expect((await list({ target: mine.body.id }, other)).body.data).toEqual([]);
    const exported = await request(t.app).get('/v1/audit-log/export').set(as(other)).buffer(true).parse(text);
    expect(exported.body).not.toContain(mine.body.id);
    // Its own chain starts at 1.
    expect(JSON.parse((exported.body as string).split('\n')[0]!)).toMatchObject({ sequence: 1, previous_hash: GENESIS });
  });

  it('exports the chain as JSON Lines, oldest first, each entry linked to the one before', async () => {
    const response = await request(t.app).get('/v1/audit-log/export').set(as(owner)).buffer(true).parse(text);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const entries = (response.body as string).trimEnd().split('\n').map((line) => JSON.parse(line) as { sequence: number; previous_hash: string; hash: string });
    expect(entries.length).toBeGreaterThan(5);
    entries.forEach((entry, index) => {
      expect(entry.sequence).toBe(index + 1);
      expect(entry.previous_hash).toBe(index === 0 ? GENESIS : entries[index - 1]!.hash);
    });
  });

  it('keeps the chain whole under concurrent writes', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, () => createAccount()));
    expect(results.map((r) => r.status)).toEqual(Array(12).fill(201));
    expect(await verifyAuditLog(t.db, TEST_SECRET, organizationId)).toEqual([{ chain: organizationId, entries: expect.any(Number) }]);
  });

  it('refuses UPDATE and DELETE in the database', async () => {
    await expect(sql`update audit_log set outcome = 200 where organization_id = ${organizationId}`.execute(t.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_log where organization_id = ${organizationId}`.execute(t.db)).rejects.toThrow(/append-only/);
  });

  it('verifies, and names the first entry changed by hand, or signed with another key', async () => {
    const all = await verifyAuditLog(t.db, TEST_SECRET);
    expect(all.every((chain) => chain.broken === undefined)).toBe(true);
    expect(all.map((chain) => chain.chain)).toContain(organizationId);

    const victim = (await list({ action: 'createAccount', limit: 200 })).body.data.at(-2) as { id: string; sequence: number };
    // As someone with superuser access to the database would: triggers off, one outcome changed.
    await t.db.transaction().execute(async (trx) => {
      await sql`set local session_replication_role = replica`.execute(trx);
      await sql`update audit_log set outcome = 204 where id = ${victim.id}`.execute(trx);
    });
    const [result] = await verifyAuditLog(t.db, TEST_SECRET, organizationId);
    expect(result!.broken).toEqual({ id: victim.id, sequence: victim.sequence, problem: expect.stringContaining('changed') });

    const [forged] = await verifyAuditLog(t.db, `${TEST_SECRET}-another-server`, organizationId);
    expect(forged!.broken).toEqual({ id: expect.stringMatching(/^log_/), sequence: 1, problem: expect.stringContaining('hmac') });
  });
});

/** Reads a JSON Lines body as text (supertest parses only the media types it knows). */
const text: Parameters<request.Test['parse']>[0] = (res, callback: (error: Error | null, body: string) => void) => {
  const stream = res as unknown as NodeJS.ReadableStream & { setEncoding(encoding: string): void };
  let body = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (body += chunk));
  stream.on('end', () => callback(null, body));
};
