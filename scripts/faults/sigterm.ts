import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src/db/database';
import { FourfoldProcess, logDirectory, ownerToken, run, send, sleep, type Say } from './support';

export interface SigtermOptions {
  /** Concurrent clients, each sending one write (POST /v1/accounts) after another. */
  clients: number;
  /** Seconds of load before SIGTERM. */
  loadSeconds: number;
  /**
   * A PGlite data directory tarball (`dumpDataDir()`, migrated) the API's database starts from:
   * the test suite's template. Without it the API runs initdb and every migration first, which
   * took most of this scenario's time in the tests.
   */
  templateFile?: string;
}

export interface SigtermResult {
  /** Writes answered, by status. */
  answered: Record<string, number>;
  /** Writes refused without an answer: the connection refused, or reset before the server read the request. */
  refused: Record<string, number>;
  /** Writes that got no answer but were done anyway: a request cut in flight. Must be 0. */
  cut: number;
  /** A request whose body was still arriving when SIGTERM came. */
  slowRequestStatus: number;
  exitCode: number | null;
  exitSeconds: number;
}

/**
 * SIGTERM under load: requests in flight finish, new connections are refused, the process
 * exits 0. Every load request is a write with its own key, so that afterwards the database tells
 * whether a request that got no answer had reached the server (it was cut) or not (refused).
 */
export async function sigtermUnderLoad(options: SigtermOptions, say: Say): Promise<SigtermResult> {
  const logs = logDirectory();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fourfold-faults-data-'));
  if (options.templateFile) {
    // Where openDatabase keeps the embedded database of DATA_DIR.
    fs.mkdirSync(path.join(dataDir, 'pgdata'));
    await run('tar', ['-xf', options.templateFile, '-C', path.join(dataDir, 'pgdata')]);
  }
  const api = await FourfoldProcess.api({ DATA_DIR: dataDir, RUN_WORKERS: 'false', RATE_LIMIT_PER_MINUTE: '1000000' }, logs);
  try {
    const { port } = api;
    say(`API started on port ${port} (PGlite in ${dataDir}; logs in ${logs})`);
    const token = await ownerToken(port);
    const result: SigtermResult = { answered: {}, refused: {}, cut: 0, slowRequestStatus: 0, exitCode: null, exitSeconds: 0 };
    const bump = (counts: Record<string, number>, key: string | number) => (counts[key] = (counts[key] ?? 0) + 1);

    // First, a request whose headers arrive now and whose body will still be on its way at SIGTERM.
    const body = JSON.stringify({ provider: 'aws', external_id: '299999999999', name: 'slow' });
    const socket = net.connect(port, '127.0.0.1');
    const slowAnswer = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
    });
    socket.write(`POST /v1/accounts HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
    await sleep(500);

    let running = true;
    let counter = 0;
    const unanswered: string[] = [];
    const client = async () => {
      while (running) {
        const n = ++counter;
        const externalId = String(200000000000 + n);
        try {
          const answer = await send(port, 'POST', '/v1/accounts', { token, body: { provider: 'aws', external_id: externalId, name: `sigterm-${n}` } });
          bump(result.answered, answer.status);
        } catch (error) {
          const code = (error as { code?: string }).code ?? String(error);
          unanswered.push(externalId);
          bump(result.refused, code);
          if (code === 'ECONNREFUSED') return;
        }
      }
    };
    say(`load: ${options.clients} clients, each sending POST /v1/accounts one after another, each on a new connection`);
    const load = Array.from({ length: options.clients }, client);
    await sleep(options.loadSeconds * 1000);

    say('SIGTERM');
    const sigtermAt = Date.now();
    api.child.kill('SIGTERM');
    await sleep(500);
    socket.write(body.slice(5));
    result.slowRequestStatus = Number(/^HTTP\/1\.1 (\d{3})/.exec(await slowAnswer)?.[1] ?? 0);
    result.exitCode = await api.exited;
    result.exitSeconds = (Date.now() - sigtermAt) / 1000;
    running = false;
    await Promise.all(load);

    // The server is gone: its embedded database can be opened here.
    const db = openDatabase({ dataDir });
    const done = await db.selectFrom('accounts').select('external_id').where('external_id', 'in', unanswered.length > 0 ? unanswered : ['none']).execute();
    await db.destroy();
    result.cut = done.length;
    say(`writes answered: ${JSON.stringify(result.answered)}`);
    say(`writes without an answer: ${JSON.stringify(result.refused)}; of them done anyway (cut in flight): ${result.cut}`);
    say(`the request whose body was still arriving at SIGTERM: ${result.slowRequestStatus}`);
    say(`the process exited with ${result.exitCode} ${result.exitSeconds.toFixed(1)} s after SIGTERM`);
    return result;
  } finally {
    await api.kill();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
