import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/program';
import { openDatabase } from '../src/db/database';
import { as, logInAs, startTestApp, TEST_SECRET, type TestApp } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';
import { expectError } from './support/expectations';

// The command line runs as a process against the database the app of this file uses. The app
// stops before each command and starts again after, as a server would around it: the embedded
// database takes one process at a time, and a new server reads the signing keys afresh.
const BIN = path.join(__dirname, '..', 'bin', 'fourfold.cjs');
// A spawned command starts tsx and opens the database: seconds each, and several times that while
// another test file runs beside this one, which the default 30 s per test did not always cover.
jest.setTimeout(60_000);
const DEMO_PASSWORD = 'demo-password-0123';
const embedded = !process.env.DATABASE_URL;
let dataDir: string;
let server: TestDatabase | undefined;
let current: TestApp | undefined;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fourfold-cli-'));
  if (!embedded) server = await createTestDatabase();
});
afterAll(async () => {
  await current?.close();
  await server?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function app(): Promise<TestApp> {
  if (!current) {
    const db = server?.db ?? openDatabase({ dataDir });
    const database: TestDatabase = { db, databaseUrl: server?.databaseUrl, drop: async () => (embedded ? db.destroy() : undefined) };
    current = await startTestApp({}, { database });
  }
  return current;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json: Record<string, unknown>;
}

async function fourfold(args: string[], env: Record<string, string> = {}): Promise<Run> {
  if (current) {
    await current.close();
    current = undefined;
  }
  const base = { PATH: process.env.PATH ?? '', JWT_SECRET: TEST_SECRET, LOG_LEVEL: 'warn', ...(embedded ? { DATA_DIR: dataDir } : { DATABASE_URL: server!.databaseUrl! }) };
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...base, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(stdout || stderr) as Record<string, unknown>;
      } catch {
        // text output
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}

describe('fourfold (in-process)', () => {
  it('has --help on every command, naming its options and the exit codes', () => {
    const commands: Command[] = [];
    const walk = (command: Command) => {
      commands.push(command);
      command.commands.forEach(walk);
    };
    walk(buildProgram());
    const names = commands.map((c) => c.name());
    expect(names).toEqual(expect.arrayContaining(['migrate', 'org', 'create', 'list', 'suspend', 'reinstate', 'reset-password', 'grant', 'revoke', 'keys', 'rotate', 'seed-demo']));
    for (const command of commands) {
      const help = command.helpInformation();
      expect(help).toMatch(/^Usage: /);
      expect(help).toContain('-h, --help');
      expect(command.description().length).toBeGreaterThan(5);
    }
    expect(buildProgram().helpInformation()).toContain('--json');
  });
});

describe('fourfold (spawned)', () => {
  let owner: { id: string; password: string };

  it('migrates the database and creates an organization, printing the owner password once', async () => {
    const migrated = await fourfold(['migrate', '--json']);
    expect(migrated.code).toBe(0);
    expect(migrated.json.applied).toEqual(embedded ? expect.arrayContaining(['0001_identity', '0014_platform']) : []);

    const created = await fourfold(['--json', 'org', 'create', '--name', 'Cli Corp', '--owner', 'cli-owner']);
    expect(created.code).toBe(0);
    expect(created.json).toMatchObject({
      organization: { id: expect.stringMatching(/^org_/), name: 'Cli Corp', slug: 'cli-corp', status: 'active', member_count: 1 },
      owner: { username: 'cli-owner', password: expect.any(String), invitation: null },
    });
    owner = { id: (created.json.organization as { id: string }).id, password: (created.json.owner as { password: string }).password };
    const token = await logInAs((await app()).app, 'cli-owner', owner.password);
    expect((await request((await app()).app).get('/v1/me').set(as(token))).body).toMatchObject({ role: 'owner', organization: { id: owner.id } });

    const again = await fourfold(['org', 'create', '--json', '--name', 'Cli Corp', '--owner', 'someone-else']);
    expect(again.code).toBe(1);
    expect(again.json).toEqual({ error: { code: 'slug_taken', message: 'The slug cli-corp is taken by another organization.' } });
    const listed = await fourfold(['--json', 'org', 'list']);
    expect(listed.code).toBe(0);
    expect((listed.json.data as { id: string; slug: string }[]).map((o) => o.slug)).toEqual(expect.arrayContaining(['cli-corp']));
  });

  it('refuses a blank organization name or a username with spaces, creating nothing', async () => {
    for (const args of [['--name', '   ', '--owner', 'blank-name'], ['--name', 'Spaced Owner', '--owner', 'has a space']]) {
      const refused = await fourfold(['--json', 'org', 'create', ...args]);
      expect(refused.code).toBe(1);
      expect(refused.json).toMatchObject({ error: { code: 'validation_failed' } });
    }
    const listed = await fourfold(['--json', 'org', 'list']);
    expect((listed.json.data as { name: string }[]).map((o) => o.name)).toEqual(expect.not.arrayContaining(['', 'Spaced Owner']));
  });

  it('seeds a demo organization whose audit has findings', async () => {
    const seeded = await fourfold(['seed-demo', '--json', '--password', DEMO_PASSWORD]);
    expect(seeded.code).toBe(0);
    expect(seeded.json).toMatchObject({ slug: 'demo', username: 'demo', password: null, resources: 12, audit_id: expect.stringMatching(/^aud_/) });
    expect(seeded.json.findings).toBeGreaterThan(10);
    const { app: demoApp } = await app();
    const token = await logInAs(demoApp, 'demo', DEMO_PASSWORD);
    expect((await request(demoApp).get(`/v1/audits/${seeded.json.audit_id as string}`).set(as(token))).body.status).toBe('succeeded');
    const findings = await request(demoApp).get('/v1/findings?severity=high,critical').set(as(token));
    expect(findings.body.data.length).toBeGreaterThan(0);
    const all = await request(demoApp).get('/v1/findings?limit=200').set(as(token));
    expect({ count: all.body.data.length, has_more: all.body.has_more }).toEqual({ count: seeded.json.findings, has_more: false });
  });

  // Credentials die with the password; the next test's reset revokes what this one keeps.
  let keptPat: string;
  let sessionAfterReset: string;
  it('resets a password with --keep-tokens: the old session answers 401, the token keeps working, and it prints what it revoked', async () => {
    const { app: before } = await app();
    const session = await logInAs(before, 'cli-owner', owner.password);
    keptPat = (await request(before).post('/v1/tokens').set(as(session)).send({ name: 'ci', scopes: ['findings:read'] }).expect(201)).body.token as string;

    const kept = await fourfold(['user', 'reset-password', 'cli-owner', '--keep-tokens']);
    expect(kept.code).toBe(0);
    expect(kept.stdout).toMatch(/revoked: [1-9]\d* login session\(s\), 0 personal access token\(s\), 0 OAuth app authorization\(s\) \(--keep-tokens/);
    owner.password = /\(shown only now\): (\S+)/.exec(kept.stdout)![1]!;
    const { app: after } = await app();
    expectError(await request(after).get('/v1/me').set(as(session)), 401, 'invalid_token');
    await request(after).get('/v1/me').set(as(keptPat)).expect(200);
    sessionAfterReset = await logInAs(after, 'cli-owner', owner.password);
  }, 120_000);

  it('resets a password, grants the platform operator role, and suspends an organization', async () => {
    const reset = await fourfold(['user', 'reset-password', 'cli-owner', '--json']);
    expect(reset.code).toBe(0);
    const password = reset.json.password as string;
    expect(password).not.toBe(owner.password);
    expect(reset.json.revoked).toEqual({ sessions: 1, personal_access_tokens: 1, oauth_authorizations: 0 });
    expect(await fourfold(['platform-admin', 'grant', 'DEMO'])).toMatchObject({ code: 0, stdout: 'DEMO is now a platform operator\n' });
    expect(await fourfold(['org', 'suspend', owner.id])).toMatchObject({ code: 0, stdout: `${owner.id} is suspended\n` });

    const { app: after } = await app();
    for (const token of [sessionAfterReset, keptPat]) expectError(await request(after).get('/v1/me').set(as(token)), 401, 'invalid_token');
    expectError(await request(after).post('/auth/login').send({ username: 'cli-owner', password: owner.password }), 401, 'invalid_credentials');
    expectError(await request(after).post('/auth/login').send({ username: 'cli-owner', password }), 403, 'organization_suspended');
    const operator = await logInAs(after, 'demo', DEMO_PASSWORD);
    expect((await request(after).get('/v1/me').set(as(operator))).body.scopes).toContain('platform:admin');
    const listed = await request(after).get('/v1/platform/organizations?status=suspended').set(as(operator));
    expect(listed.body.data.map((o: { id: string }) => o.id)).toEqual([owner.id]);
  });

  it('rotates the signing key: tokens signed before stay valid, new ones carry the new key id', async () => {
    const old = await logInAs((await app()).app, 'demo', DEMO_PASSWORD);
    const rotated = await fourfold(['keys', 'rotate', '--json']);
    expect(rotated.code).toBe(0);
    const kid = rotated.json.kid as string;
    expect(kid).toMatch(/^key_[0-9a-f]{24}$/);
    expect(jwt.decode(old, { complete: true })?.header.kid).not.toBe(kid);

    const { app: after } = await app();
    expect((await request(after).get('/v1/me').set(as(old))).status).toBe(200);
    const fresh = await logInAs(after, 'demo', DEMO_PASSWORD);
    expect(jwt.decode(fresh, { complete: true })?.header.kid).toBe(kid);
    expect((await request(after).get('/v1/me').set(as(fresh))).status).toBe(200);
    // The new key is not the configured secret: a token signed with that and this kid is refused.
    const forged = jwt.sign({ org: 'x' }, TEST_SECRET, { keyid: kid, subject: 'usr_x', issuer: 'fourfold', audience: 'fourfold-api', expiresIn: 60, jwtid: 'j' });
    expectError(await request(after).get('/v1/me').set(as(forged)), 401, 'invalid_token');
  });

  it('answers exit code 2 to wrong usage and 3 when the database is unavailable', async () => {
    const usage = await fourfold(['org', 'frob']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("unknown command 'frob'");
    if (embedded) {
      // The app holds the embedded database open, as a running server would.
      await app();
      const env = { DATA_DIR: dataDir };
      const holder = current;
      current = undefined;
      const busy = await fourfold(['org', 'list'], env);
      current = holder;
      expect(busy.code).toBe(3);
      expect(busy.stderr).toContain('open in another process');
    } else {
      const down = await fourfold(['org', 'list'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
      expect(down.code).toBe(3);
      expect(down.stderr).toContain('cannot be reached');
    }
  });
});
