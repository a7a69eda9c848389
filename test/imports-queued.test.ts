import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { sql } from 'kysely';
import { embeddedDatabaseOf, type Trx } from '../src/db/database';
import { newId } from '../src/ids';
import { insertImport, insertImportDocument, insertImportPayload } from '../src/imports/imports.repository';
import { applyQueuedImport } from '../src/imports/imports.service';
import { QUEUES } from '../src/jobs/job-queue';
import { as, useTestApp } from './support/app';
import { expectError, expectStandardHeaders } from './support/expectations';

const native = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'inventory', 'native.json'), 'utf8'));

// Any file of more than 3 resources goes to the queue; the fixture has 7 AWS ones.
const t = useTestApp({ IMPORT_INLINE_MAX_RESOURCES: '3' }, { workers: true });
let owner: string;
beforeAll(async () => {
  owner = await t.ownerToken();
});

let accounts = 0;
async function newAccount(): Promise<string> {
  const body = { provider: 'aws', external_id: String(200000000000 + ++accounts), name: `queued-${accounts}` };
  return (await request(t.app).post('/v1/accounts').set(as(owner)).send(body).expect(201)).body.id;
}

async function waitUntilFinished(location: string | undefined) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const response = await request(t.app).get(location!).set(as(owner)).expect(200);
    if (response.body.status === 'succeeded' || response.body.status === 'failed') return response.body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${location} did not finish`);
}

describe('queued imports', () => {
  it('answers 202 with the import queued and a Location; a worker writes it', async () => {
    const account = await newAccount();
    const response = await request(t.app).post(`/v1/accounts/${account}/imports?format=native&mode=full`).set(as(owner)).send(native);
    expect(response.status).toBe(202);
    expectStandardHeaders(response);
    expect(response.headers.location).toBe(`/v1/imports/${response.body.id}`);
    expect(response.body).toMatchObject({
      status: 'queued',
      finished_at: null,
      counts: { created: 0, updated: 0, unchanged: 0, gone: 0, skipped: 5, rejected: 0 },
    });

    const finished = await waitUntilFinished(response.headers.location);
    expect(finished).toMatchObject({ status: 'succeeded', counts: { created: 7, skipped: 5, gone: 0 }, problems: [], finished_at: expect.any(String) });
    const listed = await request(t.app).get(`/v1/resources?account_id=${account}`).set(as(owner)).expect(200);
    expect(listed.body.data).toHaveLength(7);
    expect(await t.db.selectFrom('import_payloads').selectAll().execute()).toEqual([]);
  });

  it('applies queued imports of one account in turn: a second, unchanged file counts everything unchanged', async () => {
    const account = await newAccount();
    const send = () => request(t.app).post(`/v1/accounts/${account}/imports?format=native&mode=full`).set(as(owner)).send(native).expect(202);
    const [first, second] = [await send(), await send()];
    await waitUntilFinished(first.headers.location);
    const finished = await waitUntilFinished(second.headers.location);
    expect(finished.counts).toMatchObject({ created: 0, unchanged: 7 });
  });

  it('accepts a file sent while a worker writes the previous import of its account: no deadlock with its locks', async () => {
    const account = await newAccount();
    const { organization_id: organizationId } = await t.db.selectFrom('accounts').select('organization_id').where('id', '=', account).executeTakeFirstOrThrow();
    let answer: Promise<request.Response> | undefined;
    // As writePendingImport does: the account first, the organization's limits last (assertResourceQuota).
    await t.db.transaction().execute(async (trx) => {
      await trx.selectFrom('accounts').select('id').where('id', '=', account).forUpdate().execute();
      answer = request(t.app).post(`/v1/accounts/${account}/imports?format=native&mode=full`).set(as(owner)).send(native).then((response) => response);
      await untilSomeoneWaitsForALock(trx);
      await trx.selectFrom('organizations').select('id').where('id', '=', organizationId).forNoKeyUpdate().execute();
    });
    const response = await answer!;
    expect(response.status).toBe(202);
    expect((await waitUntilFinished(response.headers.location)).status).toBe('succeeded');
  });

  it('still refuses a bad file at once with 422, writing nothing', async () => {
    const account = await newAccount();
    const broken = { resources: [...native.resources, { type: 'aws_s3_bucket', provider: 'aws' }] };
    const response = await request(t.app).post(`/v1/accounts/${account}/imports?format=native`).set(as(owner)).send(broken);
    expectError(response, 422, 'invalid_import');
    expect(await t.db.selectFrom('import_payloads').selectAll().execute()).toEqual([]);
  });

  it('a retry writes an import whose first worker died; a redelivery after success changes nothing', async () => {
    const account = await newAccount();
    const importId = await queueWithoutJob(account, native.resources.filter((r: { provider: string }) => r.provider === 'aws'));
    // As a worker that died mid-write leaves it: running, its payload still there.
    await t.db.updateTable('imports').set({ status: 'running' }).where('id', '=', importId).execute();
    await applyQueuedImport(t.db, importId, t.config.organizationLimits);
    const done = await request(t.app).get(`/v1/imports/${importId}`).set(as(owner)).expect(200);
    expect(done.body).toMatchObject({ status: 'succeeded', counts: { created: 7 } });

    await applyQueuedImport(t.db, importId, t.config.organizationLimits);
    expect((await request(t.app).get(`/v1/imports/${importId}`).set(as(owner))).body).toEqual(done.body);
    expect(await resourceCount(account)).toBe(7);
  });

  it('a worker without the resources in hand writes a file stored as it was sent, parsing it again: other providers skipped', async () => {
    const account = await newAccount();
    const importId = await queueWithoutJob(account, []);
    await t.db.deleteFrom('import_payloads').where('import_id', '=', importId).execute();
    // As a request stores it: the bytes it was sent, a byte order mark included.
    await insertImportDocument(t.db, importId, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(native))]));
    await applyQueuedImport(t.db, importId, t.config.organizationLimits);
    const done = await request(t.app).get(`/v1/imports/${importId}`).set(as(owner)).expect(200);
    expect(done.body).toMatchObject({ status: 'succeeded', counts: { created: 7, updated: 0, unchanged: 0 } });
    const listed = await request(t.app).get(`/v1/resources?account_id=${account}&limit=100`).set(as(owner)).expect(200);
    expect(listed.body.data.map((r: { native_id: string }) => r.native_id).sort()).toEqual(
      native.resources.filter((r: { provider: string }) => r.provider === 'aws').map((r: { native_id: string }) => r.native_id).sort(),
    );
    expect(await t.db.selectFrom('import_payloads').selectAll().where('import_id', '=', importId).execute()).toEqual([]);
  });

  it('stores a queued file as the bytes it was sent, not its resources written out again', async () => {
    const account = await newAccount();
    const sent = JSON.stringify(native);
    // The worker deletes the payload once written: a trigger keeps a copy of what the request stored.
    await sql`create table stored_payloads (import_id text, resources text, document bytea)`.execute(t.db);
    await sql`create function keep_stored_payload() returns trigger language plpgsql as $$
      begin insert into stored_payloads values (new.import_id, new.resources, new.document); return new; end $$`.execute(t.db);
    await sql`create trigger keep_stored_payload after insert on import_payloads for each row execute function keep_stored_payload()`.execute(t.db);
    try {
      const response = await request(t.app).post(`/v1/accounts/${account}/imports?format=native&mode=full`).set(as(owner)).set('Content-Type', 'application/json').send(sent);
      expect(response.status).toBe(202);
      expect((await waitUntilFinished(response.headers.location)).counts).toMatchObject({ created: 7 });
      const stored = await sql<{ resources: string | null; document: Uint8Array | null }>`select resources, document from stored_payloads where import_id = ${response.body.id}`.execute(t.db);
      expect(stored.rows).toHaveLength(1);
      expect(stored.rows[0]!.resources).toBeNull();
      expect(Buffer.from(stored.rows[0]!.document!).toString('utf8')).toBe(sent);
    } finally {
      await sql`drop trigger keep_stored_payload on import_payloads`.execute(t.db);
      await sql`drop function keep_stored_payload()`.execute(t.db);
      await sql`drop table stored_payloads`.execute(t.db);
    }
  });

  it('an import whose every attempt fails ends failed, with nothing written, instead of staying running', async () => {
    const account = await newAccount();
    const resources = native.resources.filter((r: { provider: string }) => r.provider === 'aws');
    // Damaged after checking: a payload the database refuses (no type).
    const importId = await queueWithoutJob(account, [...resources, { ...resources[0], native_id: 'arn:aws:s3:::other', type: null }]);
    await expect(applyQueuedImport(t.db, importId, t.config.organizationLimits)).rejects.toThrow();
    expect((await request(t.app).get(`/v1/imports/${importId}`).set(as(owner))).body.status).toBe('running');

    // Its job is retried, then handed to the dead-letter queue, whose worker ends the import.
    await t.jobs.send(QUEUES.imports, { import_id: importId });
    const failed = await waitUntilFinished(`/v1/imports/${importId}`);
    expect(failed).toMatchObject({ status: 'failed', finished_at: expect.any(String), problems: [{ item: '$', field: null }] });
    expect(await resourceCount(account)).toBe(0);
    expect(await t.db.selectFrom('import_payloads').selectAll().where('import_id', '=', importId).execute()).toEqual([]);
  });
});

/**
 * On PostgreSQL, waits until the request has reached a lock this transaction holds. The embedded
 * database has one connection, which the transaction holds: the request waits for it instead.
 */
async function untilSomeoneWaitsForALock(trx: Trx): Promise<void> {
  if (embeddedDatabaseOf(t.db)) return;
  for (;;) {
    const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(trx);
    if (waiting.rows[0]!.n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A queued import with its payload but no job, so that the test plays the worker. */
async function queueWithoutJob(account: string, resources: object[]): Promise<string> {
  const { organization_id: organizationId } = await t.db.selectFrom('accounts').select('organization_id').where('id', '=', account).executeTakeFirstOrThrow();
  const { id: userId } = await t.db.selectFrom('users').select('id').executeTakeFirstOrThrow();
  const row = await insertImport(t.db, {
    id: newId('imp'),
    organization_id: organizationId,
    account_id: account,
    format: 'native',
    mode: 'full',
    status: 'queued',
    counts: JSON.stringify({ created: 0, updated: 0, unchanged: 0, gone: 0, skipped: 0, rejected: 0 }),
    problems: '[]',
    created_by: userId,
    created_at: new Date(),
    finished_at: null,
  });
  await insertImportPayload(t.db, row.id, resources.map((r) => ({ ...r, source: 'test' })) as never);
  return row.id;
}

async function resourceCount(account: string): Promise<number> {
  return (await t.db.selectFrom('resources').select('id').where('account_id', '=', account).execute()).length;
}
