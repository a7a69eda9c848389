import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const ROOT = path.join(__dirname, '..');

interface Server {
  child: ChildProcess;
  port: number;
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
}

/** Starts `src/main.ts` as the README's run command does, and waits until it listens. */
async function startServer(env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      lines.push(entry);
      if (typeof entry.msg === 'string' && entry.msg.startsWith('fourfold listening')) resolve(entry.port as number);
    });
    void exited.then((code) => reject(new Error(`the server exited with ${code} before listening`)));
  });
  return { child, port, lines, exited };
}

async function call(port: number, method: string, url: string, init: { token?: string; body?: unknown } = {}) {
  const response = await fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    headers: {
      ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
      ...(init.body ? { 'Content-Type': 'application/json' } : {}),
    },
    body: init.body ? JSON.stringify(init.body) : undefined,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

let dataDir: string;
beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fourfold-main-'));
});
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

it('starts on PGlite, bootstraps an owner, finishes a request in flight on SIGTERM, and keeps tokens across a restart', async () => {
  const first = await startServer({ DATA_DIR: dataDir });
  try {
    expect((await call(first.port, 'GET', '/health')).status).toBe(200);

    // No ADMIN_PASSWORD: the generated one is printed once, in the log.
    const bootstrap = first.lines.find((l) => typeof l.password === 'string');
    expect(bootstrap).toMatchObject({ username: 'admin', password: expect.stringMatching(/^.{20,}$/) });
    const credentials = { username: 'admin', password: bootstrap!.password };
    const login = await call(first.port, 'POST', '/auth/login', { body: credentials });
    expect(login.status).toBe(200);
    const token = login.body.access_token as string;
    expect((await call(first.port, 'GET', '/v1/me', { token })).body).toMatchObject({ role: 'owner' });

    // A slow request: the headers arrive, then SIGTERM, then the rest of the body.
    const body = JSON.stringify(credentials);
    const socket = net.connect(first.port, '127.0.0.1');
    const answer = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
    });
    socket.write(`POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    first.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // While it drains, it accepts no new connections.
    await expect(fetch(`http://127.0.0.1:${first.port}/health`)).rejects.toThrow();
    socket.write(body.slice(5));
    expect(await answer).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*"access_token"/);
    expect(await first.exited).toBe(0);
    expect(first.lines.at(-1)).toMatchObject({ msg: 'stopped' });

    const second = await startServer({ DATA_DIR: dataDir });
    try {
      expect(second.lines.some((l) => typeof l.password === 'string')).toBe(false);
      expect(await call(second.port, 'GET', '/v1/me', { token })).toMatchObject({ status: 200, body: { role: 'owner' } });
    } finally {
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
  } finally {
    first.child.kill('SIGKILL');
  }
}, 60000);

it('refuses to start with invalid configuration, naming each variable', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: 'x', JWT_ALGORITHM: 'none' },
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  expect(code).toBe(1);
  expect(stderr).toContain('PORT');
  expect(stderr).toContain('JWT_ALGORITHM');
}, 30000);
