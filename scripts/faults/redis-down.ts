import { FourfoldProcess, logDirectory, ownerToken, PrivatePostgres, PrivateRedis, send, sleep, type Answer, type Say } from './support';

export interface RedisDownOptions {
  /** Requests sent (alternately to each API process) while Redis is down. */
  downRequests: number;
}

export interface RedisDownResult {
  sharedBefore: boolean;
  /** Redis frozen (SIGSTOP): every request still answered, none slower than about the command timeout. */
  whileFrozen: { answered2xx: number; requests: number; maxMs: number };
  whileDown: { answered2xx: number; other: Record<string, number>; maxMs: number; shared: boolean };
  sharedAgainAfterSeconds: number;
}

const remaining = (answer: Answer) => Number(answer.headers['x-ratelimit-remaining']);

/**
 * Redis stopped while two API processes keep their rate-limit counters there: requests keep
 * being served (each process counts on its own meanwhile), and once Redis is back the two
 * processes share one count again.
 */
export async function redisDown(options: RedisDownOptions, say: Say): Promise<RedisDownResult> {
  const logs = logDirectory();
  const postgres = await PrivatePostgres.start(say);
  const redis = await PrivateRedis.start(say);
  const apis: FourfoldProcess[] = [];
  try {
    const env = { DATABASE_URL: postgres.url(), REDIS_URL: redis.url, RUN_WORKERS: 'false', RATE_LIMIT_PER_MINUTE: '100000', REDIS_COMMAND_TIMEOUT_MS: '500' };
    // One after the other: both would run the migrations at once.
    apis.push(await FourfoldProcess.api(env, logs));
    apis.push(await FourfoldProcess.api(env, logs));
    const [a, b] = apis as [FourfoldProcess, FourfoldProcess];
    say(`two API processes on ports ${a.port} and ${b.port}, rate limits in Redis (logs in ${logs})`);
    const token = await ownerToken(a.port);
    const me = (api: FourfoldProcess) => send(api.port, 'GET', '/v1/me', { token });
    let lastPair = '';
    /** Whether a request to B sees the one just made to A: one shared count. */
    const shared = async () => {
      const first = await me(a);
      const second = await me(b);
      lastPair = `A ${remaining(first)} left, then B ${remaining(second)} left`;
      return first.status === 200 && second.status === 200 && remaining(second) === remaining(first) - 1;
    };

    const sharedBefore = (await shared()) && (await shared()) && (await shared());
    say(`before: a request to A then one to B leave ${sharedBefore ? 'one shared count' : 'separate counts'} (${lastPair})`);

    say('freezing Redis (SIGSTOP): connected, answering nothing; REDIS_COMMAND_TIMEOUT_MS=500');
    redis.freeze();
    const whileFrozen = { answered2xx: 0, requests: 10, maxMs: 0 };
    for (let i = 0; i < whileFrozen.requests; i++) {
      const started = Date.now();
      const answer = await me(i % 2 === 0 ? a : b).catch(() => undefined);
      whileFrozen.maxMs = Math.max(whileFrozen.maxMs, Date.now() - started);
      if (answer?.status === 200) whileFrozen.answered2xx++;
    }
    redis.thaw();
    say(`while Redis was frozen: ${whileFrozen.answered2xx} of ${whileFrozen.requests} requests answered 2xx, slowest ${whileFrozen.maxMs} ms`);

    say('stopping Redis (SIGKILL)');
    await redis.stop();
    const whileDown: RedisDownResult['whileDown'] = { answered2xx: 0, other: {}, maxMs: 0, shared: true };
    for (let i = 0; i < options.downRequests; i++) {
      const started = Date.now();
      // Mostly to A: counted apart, B's count then falls far behind A's.
      const answer = await me(i % 4 === 0 ? b : a).catch((error: unknown) => ({ status: String((error as { code?: string }).code ?? error) }));
      whileDown.maxMs = Math.max(whileDown.maxMs, Date.now() - started);
      if (answer.status === 200) whileDown.answered2xx++;
      else whileDown.other[answer.status] = (whileDown.other[answer.status] ?? 0) + 1;
    }
    whileDown.shared = await shared();
    say(
      `while Redis was down: ${whileDown.answered2xx} of ${options.downRequests} requests answered 2xx, other: ${JSON.stringify(whileDown.other)}, slowest ${whileDown.maxMs} ms; ` +
        `counts ${whileDown.shared ? 'still shared (unexpected)' : 'kept by each process on its own (the fallback)'} (${lastPair})`,
    );

    say('starting Redis again (empty: nothing was saved)');
    await redis.startServer();
    const restarted = Date.now();
    let sharedAgainAfterSeconds = Infinity;
    while (Date.now() - restarted < 30_000) {
      if (await shared()) {
        sharedAgainAfterSeconds = (Date.now() - restarted) / 1000;
        break;
      }
      await sleep(200);
    }
    say(`after: the two processes share one count again ${sharedAgainAfterSeconds.toFixed(1)} s after Redis restarted (${lastPair})`);
    return { sharedBefore, whileFrozen, whileDown, sharedAgainAfterSeconds };
  } finally {
    for (const api of apis) await api.kill();
    await redis.stop();
    await postgres.destroy();
  }
}
