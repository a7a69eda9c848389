import { sql } from 'kysely';
import request from 'supertest';
import { observeWrites, type TableWrite } from '../src/db/database';
import { as, startTestApp, useTestApp, type TestApp } from './support/app';

// Two API instances on one database, as two processes would be: each keeps verified credentials
// for a few seconds, and each hears of a change through its own LISTEN (on the PostgreSQL server
// a connection of its own; on PGlite, in this process). They keep credentials for a minute, so that
// a refusal within these tests is a notice's doing, not an entry running out.
const ENV = { CREDENTIAL_CACHE_SECONDS: '60' };
const a = useTestApp(ENV);
let b: TestApp;

beforeAll(async () => {
  b = await startTestApp(ENV, { sharing: a });
  await untilBothListen();
}, 120_000);

afterAll(async () => {
  await b?.close();
});

/** On the server, until both instances' LISTEN connections are open; PGlite listens before it answers any query. */
async function untilBothListen(): Promise<void> {
  if (!a.config.databaseUrl) return;
  for (let i = 0; i < 600; i++) {
    const { rows } = await sql<{ count: string }>`
      select count(*) as count from pg_stat_activity
      where datname = current_database() and query = 'listen "credentials_changed"'`.execute(a.db);
    if (Number(rows[0]!.count) >= 2) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the two instances did not LISTEN for credential changes');
}

/** GET /v1/me on both instances, so that each keeps the credential. */
async function useOnBoth(token: string): Promise<void> {
  await request(a.app).get('/v1/me').set(as(token)).expect(200);
  await request(b.app).get('/v1/me').set(as(token)).expect(200);
}

/**
 * GET /v1/me on the second instance once the first's change reached it: that is when `changed`
 * says so, retried for at most a second. The test writes and asks from one process, so its next
 * request can overtake the NOTIFY the server sends the other connection as the write commits; a
 * client of separate processes is slower than that. Entries live a minute, so a change seen
 * within the second is the notice's doing.
 */
async function meOnSecondOnce(token: string, changed: (response: request.Response) => boolean): Promise<request.Response> {
  let response = await request(b.app).get('/v1/me').set(as(token));
  for (let i = 0; i < 20 && !changed(response); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    response = await request(b.app).get('/v1/me').set(as(token));
  }
  return response;
}

const refused = (response: request.Response) => response.status !== 200;

it('answers a kept credential without reading its session (the cache is in use)', async () => {
  const token = await a.ownerToken();
  await useOnBoth(token);
  await sql`alter table sessions rename to sessions_away`.execute(a.db);
  try {
    await request(a.app).get('/v1/me').set(as(token)).expect(200);
    await request(b.app).get('/v1/me').set(as(token)).expect(200);
  } finally {
    await sql`alter table sessions_away rename to sessions`.execute(a.db);
  }
});

it('refuses a session logged out on one instance at once on the other', async () => {
  const token = await a.ownerToken();
  await useOnBoth(token);
  await request(a.app).post('/auth/logout').set(as(token)).expect(204);
  const afterLogout = await meOnSecondOnce(token, refused);
  expect(afterLogout.status).toBe(401);
  expect(afterLogout.body.error.code).toBe('invalid_token');
  await request(a.app).get('/v1/me').set(as(token)).expect(401);
});

it('refuses a personal access token revoked on one instance at once on the other', async () => {
  const owner = await a.ownerToken();
  const pat = await a.createPat(owner, ['findings:read']);
  await useOnBoth(pat.secret);
  await request(a.app).delete(`/v1/tokens/${pat.id}`).set(as(owner)).expect(204);
  const afterRevoke = await meOnSecondOnce(pat.secret, refused);
  expect(afterRevoke.status).toBe(401);
  expect(afterRevoke.body.error.message).toContain('revoked');
});

it('answers a changed role and a removed member at once on the other instance', async () => {
  const owner = await a.ownerToken();
  const member = await a.addMember('member');
  await useOnBoth(member.token);
  await request(a.app).patch(`/v1/members/${member.userId}`).set(as(owner)).send({ role: 'viewer' }).expect(200);
  const demoted = await meOnSecondOnce(member.token, (response) => response.body.role !== 'member');
  expect(demoted.status).toBe(200);
  expect(demoted.body.role).toBe('viewer');
  await request(a.app).delete(`/v1/members/${member.userId}`).set(as(owner)).expect(204);
  const removed = await meOnSecondOnce(member.token, refused);
  expect(removed.status).toBe(401);
  expect(removed.body.error.code).toBe('invalid_token');
});

it('hears of changes made outside the API too (a suspended organization, written by SQL)', async () => {
  const token = await a.ownerToken();
  await useOnBoth(token);
  const organizationId = (await request(a.app).get('/v1/me').set(as(token))).body.organization.id as string;
  await sql`update organizations set status = 'suspended' where id = ${organizationId}`.execute(a.db);
  try {
    const suspended = await meOnSecondOnce(token, refused);
    expect(suspended.status).toBe(403);
    expect(suspended.body.error.code).toBe('organization_suspended');
  } finally {
    await sql`update organizations set status = 'active' where id = ${organizationId}`.execute(a.db);
  }
  await request(b.app).get('/v1/me').set(as(token)).expect(200);
});

it("sees this process's own credential writes that changed rows, in transactions and upserts too", async () => {
  const owner = await a.ownerToken();
  const pat = await a.createPat(owner, ['findings:read']);
  const organizationId = (await request(a.app).get('/v1/me').set(as(owner))).body.organization.id as string;
  const seen: TableWrite[] = [];
  const stop = observeWrites(a.db, (write) => seen.push(write));
  try {
    await a.db.transaction().execute(async (trx) => {
      await trx.updateTable('personal_access_tokens as t').set({ revoked_at: new Date() }).where('t.id', '=', pat.id).execute();
      await trx.deleteFrom('sessions').where('id', '=', 'ses_none').execute();
    });
    await a.db
      .insertInto('organizations')
      .values({ id: organizationId, name: 'Renamed', slug: 'renamed' })
      .onConflict((conflict) => conflict.column('id').doUpdateSet({ name: 'Renamed' }))
      .execute();
  } finally {
    stop();
  }
  await a.db.updateTable('organizations').set({ name: 'Default organization' }).where('id', '=', organizationId).execute();
  expect(seen).toEqual([
    { table: 'personal_access_tokens', columns: ['revoked_at'] },
    { table: 'organizations', columns: ['name'] },
  ]);
});

it('refuses a token revoked on this instance at its very next request', async () => {
  const owner = await a.ownerToken();
  for (let i = 0; i < 5; i++) {
    const pat = await a.createPat(owner, ['findings:read']);
    await request(a.app).get('/v1/me').set(as(pat.secret)).expect(200);
    await request(a.app).delete(`/v1/tokens/${pat.id}`).set(as(owner)).expect(204);
    await request(a.app).get('/v1/me').set(as(pat.secret)).expect(401);
  }
});
