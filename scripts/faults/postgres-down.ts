import pg from 'pg';
import { FourfoldProcess, logDirectory, ownerToken, PrivatePostgres, send, sleep, type Say } from './support';

export interface PostgresDownOptions {
  /** How long PostgreSQL stays stopped. */
  downSeconds: number;
  /** Steady load before the stop, and after recovery. */
  steadySeconds: number;
  writers: number;
  readers: number;
}

interface Tally {
  ok: number;
  unavailable: number;
  unavailableWithoutRetryAfter: number;
  /** Anything else: another status (a 500) or no answer at all. */
  other: Record<string, number>;
}

export interface PostgresDownResult {
  statementTimeout: { status: number; code: unknown; retryAfter: string | undefined; ms: number };
  phases: Record<'before' | 'down' | 'after', Tally>;
  readyWhileDown: number[];
  /** Seconds from PostgreSQL's restart to the first write answered 2xx, and to `/ready` answering 200. */
  recoverySeconds: number;
  readyAgainSeconds: number;
  acknowledged: number;
  found: number;
  /** Rows written by requests that got no 2xx (in flight when the server stopped): present, never acknowledged. */
  unacknowledgedRows: number;
}

/**
 * PostgreSQL stopped for a while under steady load: requests answer 503 with Retry-After while
 * it is down, `/ready` says so, the API recovers by itself after it restarts, and every write
 * answered 2xx is in the database afterwards.
 */
export async function postgresDown(options: PostgresDownOptions, say: Say): Promise<PostgresDownResult> {
  const logs = logDirectory();
  const postgres = await PrivatePostgres.start(say);
  let api: FourfoldProcess | undefined;
  try {
    api = await FourfoldProcess.api(
      {
        DATABASE_URL: postgres.url(),
        RUN_WORKERS: 'false',
        DB_STATEMENT_TIMEOUT_MS: '1000',
        DB_CONNECT_TIMEOUT_MS: '1000',
        RATE_LIMIT_PER_MINUTE: '1000000',
      },
      logs,
    );
    const { port } = api;
    say(`API started on port ${port} (DB_STATEMENT_TIMEOUT_MS=1000, DB_CONNECT_TIMEOUT_MS=1000; logs in ${logs})`);
    const token = await ownerToken(port);

    // A statement over the timeout: a lock held elsewhere keeps the insert waiting.
    const locker = new pg.Client({ connectionString: postgres.url() });
    await locker.connect();
    await locker.query('begin');
    await locker.query('lock table accounts in access exclusive mode');
    const started = Date.now();
    const slow = await send(port, 'POST', '/v1/accounts', { token, body: { provider: 'aws', external_id: '999999999999', name: 'slow' } });
    const statementTimeout = { status: slow.status, code: (slow.body.error as { code?: unknown } | undefined)?.code, retryAfter: slow.headers['retry-after'] as string | undefined, ms: Date.now() - started };
    await locker.query('rollback');
    await locker.end();
    say(`statement timeout: a write blocked by a table lock answered ${statementTimeout.status} ${String(statementTimeout.code)} (Retry-After: ${statementTimeout.retryAfter}) after ${statementTimeout.ms} ms`);

    const phases: PostgresDownResult['phases'] = { before: tally(), down: tally(), after: tally() };
    let phase: keyof PostgresDownResult['phases'] = 'before';
    let running = true;
    let counter = 0;
    const acknowledged: string[] = [];
    let restartedAt = 0;
    let firstWriteAfter = 0;
    const record = (answer: { status: number; headers: Record<string, unknown> } | undefined, error?: unknown) => {
      const t = phases[phase];
      if (answer && answer.status >= 200 && answer.status < 300) t.ok++;
      else if (answer?.status === 503) {
        t.unavailable++;
        if (!answer.headers['retry-after']) t.unavailableWithoutRetryAfter++;
      } else {
        const key = answer ? String(answer.status) : String((error as { code?: string }).code ?? error);
        t.other[key] = (t.other[key] ?? 0) + 1;
      }
    };
    const writer = async () => {
      while (running) {
        const n = ++counter;
        const body = { provider: 'aws', external_id: String(100000000000 + n), name: `load-${n}` };
        const answer = await send(port, 'POST', '/v1/accounts', { token, body }).catch((error: unknown) => (record(undefined, error), undefined));
        if (answer) record(answer);
        if (answer?.status === 201) {
          acknowledged.push(answer.body.id as string);
          if (phase === 'after' && !firstWriteAfter) firstWriteAfter = Date.now();
        } else await sleep(100);
      }
    };
    const reader = async () => {
      while (running) {
        const answer = await send(port, 'GET', '/v1/accounts?limit=5', { token }).catch((error: unknown) => (record(undefined, error), undefined));
        if (answer) record(answer);
        if (answer?.status !== 200) await sleep(100);
      }
    };
    const readyWhileDown: number[] = [];
    let stopped = false;
    let restarting = false;
    let readyAgainAt = 0;
    const prober = async () => {
      while (running) {
        // Only probes sent once PostgreSQL had stopped, and answered before its restart began:
        // `pg_ctl start -w` returns a while after the server accepts connections, and a probe
        // answered in between rightly says 200.
        const sentWhileDown = stopped;
        const answer = await send(port, 'GET', '/ready').catch(() => undefined);
        if (sentWhileDown && !restarting && answer) readyWhileDown.push(answer.status);
        if (phase === 'after' && answer?.status === 200 && !readyAgainAt) readyAgainAt = Date.now();
        await sleep(250);
      }
    };
    const load = [...Array.from({ length: options.writers }, writer), ...Array.from({ length: options.readers }, reader), prober()];

    say(`steady load: ${options.writers} writers (POST /v1/accounts), ${options.readers} readers (GET /v1/accounts), /ready every 250 ms`);
    await sleep(options.steadySeconds * 1000);
    say(`stopping PostgreSQL (pg_ctl stop -m fast) for ${options.downSeconds} s`);
    phase = 'down';
    await postgres.stop();
    stopped = true;
    await sleep(options.downSeconds * 1000);
    say('starting PostgreSQL again');
    restarting = true;
    await postgres.startServer();
    restartedAt = Date.now();
    phase = 'after';
    for (let waited = 0; !firstWriteAfter && waited < 60_000; waited += 100) await sleep(100);
    await sleep(options.steadySeconds * 1000);
    running = false;
    await Promise.all(load);

    const found = await postgres.query<{ n: string }>('select count(*) as n from accounts where id = any($1)', [acknowledged]);
    const all = await postgres.query<{ n: string }>("select count(*) as n from accounts where name like 'load-%'");
    const result: PostgresDownResult = {
      statementTimeout,
      phases,
      readyWhileDown,
      recoverySeconds: firstWriteAfter ? (firstWriteAfter - restartedAt) / 1000 : Infinity,
      readyAgainSeconds: readyAgainAt ? (readyAgainAt - restartedAt) / 1000 : Infinity,
      acknowledged: acknowledged.length,
      found: Number(found[0]!.n),
      unacknowledgedRows: Number(all[0]!.n) - Number(found[0]!.n),
    };
    for (const [name, t] of Object.entries(phases)) {
      say(`${name.padEnd(6)}: ${t.ok} answered 2xx, ${t.unavailable} answered 503 (${t.unavailableWithoutRetryAfter} without Retry-After), other: ${JSON.stringify(t.other)}`);
    }
    const downCounts = countBy(readyWhileDown);
    say(`/ready while PostgreSQL was down: ${JSON.stringify(downCounts)}; 200 again ${result.readyAgainSeconds.toFixed(1)} s after the restart`);
    say(`first write answered 2xx ${result.recoverySeconds.toFixed(1)} s after the restart`);
    say(`writes acknowledged (2xx): ${result.acknowledged}; of them found in the database: ${result.found}; rows of writes not acknowledged: ${result.unacknowledgedRows}`);
    return result;
  } finally {
    await api?.kill();
    await postgres.destroy();
  }
}

function tally(): Tally {
  return { ok: 0, unavailable: 0, unavailableWithoutRetryAfter: 0, other: {} };
}

function countBy(values: number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
