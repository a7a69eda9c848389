import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

export const run = promisify(execFile);
export const ROOT = path.join(__dirname, '..', '..');
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const SECRET = 'faults-signing-secret-0123456789-0123456789';
export const OWNER = { username: 'faults@example.com', password: 'faults-password-0123456789' };

/** Where a scenario says what it does and sees. */
export type Say = (line: string) => void;

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The directory of PostgreSQL's server binaries: on the PATH, else Debian's. */
function postgresBin(name: string): string {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...listDirs('/usr/lib/postgresql').map((d) => path.join(d, 'bin'))]) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} not found: install PostgreSQL's server binaries (initdb, pg_ctl)`);
}

function listDirs(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).map((name) => path.join(dir, name)).sort().reverse() : [];
}

/** PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user. */
function asPostgresUser(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

/**
 * A PostgreSQL server of its own (initdb in a temporary directory, its own port), which a
 * scenario may stop and start: never the shared server.
 */
export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async start(say: Say): Promise<PrivatePostgres> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fourfold-faults-pg-'));
    if (process.getuid?.() === 0) fs.chownSync(dir, Number((await run('id', ['-u', 'postgres'])).stdout.trim()), -1);
    const server = new PrivatePostgres(dir, await freePort());
    await server.exec('initdb', ['-D', server.dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync']);
    await server.startServer();
    const admin = new pg.Client({ connectionString: server.url('postgres') });
    await admin.connect();
    await admin.query('create database fourfold');
    await admin.end();
    say(`private PostgreSQL started: port ${server.port}, data in ${server.dataDir}`);
    return server;
  }

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  url(database = 'fourfold'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** `pg_ctl stop -m fast`: connections are ended (57P01) and the port closes. */
  async stop(): Promise<void> {
    await this.exec('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
  }

  async startServer(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
    await this.exec('pg_ctl', ['-D', this.dataDir, '-o', options, '-l', path.join(this.dir, 'server.log'), '-w', 'start']);
  }

  async query<Row>(text: string, values: unknown[] = []): Promise<Row[]> {
    const client = new pg.Client({ connectionString: this.url() });
    await client.connect();
    try {
      return (await client.query(text, values)).rows as Row[];
    } finally {
      await client.end();
    }
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => {});
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private async exec(name: string, args: string[]): Promise<void> {
    const [command, argv] = asPostgresUser(postgresBin(name), args);
    await run(command, argv, { cwd: this.dir });
  }
}

/** A Redis server of its own (`redis-server --port <free> --save ''`): never the shared one. */
export class PrivateRedis {
  private child: ChildProcess | undefined;
  private constructor(readonly port: number) {}

  static async start(say: Say): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.startServer();
    say(`private Redis started: port ${redis.port}, nothing saved to disk`);
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async startServer(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !(await canConnect(this.port)); i++) await sleep(50);
  }

  /** SIGSTOP: Redis keeps its connections open and answers nothing, as a hung server does. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A fourfold process (`src/main.ts` or `src/worker.ts`), as an operator starts it. */
export class FourfoldProcess {
  readonly exited: Promise<number | null>;
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /**
   * Starts the API on a port the system picks (PORT=0), learns which from the process's own
   * listening socket, and waits until `/health` answers there.
   *
   * Not a port found free beforehand and passed in: between its release and the API's listen,
   * another process could take it, and on this machine other processes are fourfold too (each
   * supertest request of a test file beside this one listens on a port of the system's choice).
   * `/health` then answered 200 from that app, and the owner's login 401: it has no such user.
   */
  static async api(env: Record<string, string>, logDir: string): Promise<FourfoldProcess> {
    const { child, logFile } = FourfoldProcess.spawn('src/main.ts', { PORT: '0', ...env }, logDir);
    let port: number | undefined;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the API exited with ${child.exitCode}; see ${logFile}`);
      port ??= listeningPort(child.pid!);
      const answer = port === undefined ? undefined : await send(port, 'GET', '/health').catch(() => undefined);
      if (port !== undefined && answer?.status === 200) return new FourfoldProcess(child, port, logFile);
      await sleep(100);
    }
  }

  /** Starts a worker process (`npm run worker`) and waits until it works the queues. */
  static async worker(env: Record<string, string>, logDir: string): Promise<FourfoldProcess> {
    const { child, logFile } = FourfoldProcess.spawn('src/worker.ts', env, logDir);
    const worker = new FourfoldProcess(child, 0, logFile);
    for (;;) {
      if (worker.child.exitCode !== null) throw new Error(`the worker exited with ${worker.child.exitCode}; see ${worker.logFile}`);
      if (fs.readFileSync(worker.logFile, 'utf8').includes('fourfold worker started')) return worker;
      await sleep(100);
    }
  }

  private static spawn(entry: string, env: Record<string, string>, logDir: string): { child: ChildProcess; logFile: string } {
    const logFile = path.join(logDir, `${path.basename(entry, '.ts')}-${Date.now()}.log`);
    const log = fs.openSync(logFile, 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', JWT_SECRET: SECRET, ADMIN_USERNAME: OWNER.username, ADMIN_PASSWORD: OWNER.password, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    return { child, logFile };
  }

  /** Resident set size now, in MB (Linux). */
  rssMb(): number {
    const status = fs.readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** The TCP port process `pid` listens on, once it does (Linux: its socket inodes in /proc/net/tcp and tcp6). */
function listeningPort(pid: number): number | undefined {
  let sockets: Set<string>;
  try {
    sockets = new Set(fs.readdirSync(`/proc/${pid}/fd`).map((fd) => /^socket:\[(\d+)\]$/.exec(readLink(`/proc/${pid}/fd/${fd}`))?.[1] ?? ''));
  } catch {
    return undefined;
  }
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const rows = fs.existsSync(table) ? fs.readFileSync(table, 'utf8').trim().split('\n').slice(1) : [];
    for (const row of rows) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const [, local, , state, , , , , , inode] = row.trim().split(/\s+/);
      if (state === '0A' && inode && sockets.has(inode)) return parseInt(local!.split(':')[1]!, 16);
    }
  }
  return undefined;
}

function readLink(file: string): string {
  try {
    return fs.readlinkSync(file);
  } catch {
    return '';
  }
}

export interface Answer {
  /** When the connection was established (epoch ms); also on the error of a request that got no answer. */
  connectedAt: number | undefined;
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/**
 * One request on its own connection (no keep-alive), so that a refused connection, a reset
 * and an answer are told apart: it rejects with the socket error's code when there is none.
 */
export function send(port: number, method: string, url: string, options: { token?: string; body?: unknown; timeoutMs?: number } = {}): Promise<Answer> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  let connectedAt: number | undefined;
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => reject(Object.assign(error, { connectedAt }));
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: url,
        agent: false,
        timeout: options.timeoutMs ?? 30_000,
        headers: {
          ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
          ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let body: Record<string, unknown>;
          try {
            body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
          } catch {
            body = { text };
          }
          resolve({ connectedAt, status: res.statusCode ?? 0, headers: res.headers, body });
        });
        res.on('error', fail);
      },
    );
    req.on('socket', (socket) => socket.once('connect', () => (connectedAt = Date.now())));
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer in time'), { code: 'TIMEOUT' })));
    req.on('error', fail);
    req.end(payload);
  });
}

/** Logs in as the owner and makes a personal access token with every scope it needs. */
export async function ownerToken(port: number): Promise<string> {
  const login = await send(port, 'POST', '/auth/login', { body: OWNER });
  if (login.status !== 200) throw new Error(`login answered ${login.status}: ${JSON.stringify(login.body)}`);
  const session = login.body.access_token as string;
  const scopes = ['resources:read', 'resources:write', 'audits:read', 'audits:write', 'findings:read', 'reports:read', 'reports:write', 'policies:read'];
  const pat = await send(port, 'POST', '/v1/tokens', { token: session, body: { name: 'faults', scopes } });
  if (pat.status !== 201) throw new Error(`token creation answered ${pat.status}: ${JSON.stringify(pat.body)}`);
  return pat.body.token as string;
}

/** A temporary directory for the scenario's process logs, kept when it fails so they can be read. */
export function logDirectory(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'fourfold-faults-logs-'));
}

export function errorCode(error: unknown): string {
  return (error as { code?: string }).code ?? (error as Error).message;
}
