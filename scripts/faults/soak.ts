import { FourfoldProcess, logDirectory, ownerToken, PrivatePostgres, send, sleep, type Say } from './support';

export interface SoakOptions {
  /** How long the peak throughput is measured (closed loop, `concurrency` clients). */
  peakSeconds: number;
  minutes: number;
  sampleSeconds: number;
  concurrency?: number;
}

export interface SoakResult {
  peakPerSecond: number;
  targetPerSecond: number;
  sent: number;
  answered2xx: number;
  errors: Record<string, number>;
  rssMb: { start: number; peak: number; end: number };
  p50Ms: number;
  p99Ms: number;
}

/** One request of the mix: mostly reads, one write in ten. */
function mixed(port: number, token: string, n: number) {
  switch (n % 10) {
    case 0:
      return send(port, 'POST', '/v1/accounts', { token, body: { provider: 'aws', external_id: String(300000000000 + n), name: `soak-${n}` } });
    case 1:
    case 2:
      return send(port, 'GET', '/v1/me', { token });
    case 3:
      return send(port, 'GET', '/v1/rules?limit=20', { token });
    default:
      return send(port, 'GET', '/v1/accounts?limit=20', { token });
  }
}

/**
 * A soak at half the measured peak throughput: the peak first (closed loop), then a steady
 * open-loop rate of half of it for `minutes`, counting every answer that is not 2xx and sampling
 * the API's resident set.
 */
export async function soak(options: SoakOptions, say: Say): Promise<SoakResult> {
  const logs = logDirectory();
  const postgres = await PrivatePostgres.start(say);
  let api: FourfoldProcess | undefined;
  try {
    api = await FourfoldProcess.api({ DATABASE_URL: postgres.url(), RUN_WORKERS: 'false', RATE_LIMIT_PER_MINUTE: '1000000', LOG_LEVEL: 'warn' }, logs);
    const { port } = api;
    say(`API started on port ${port} on a private PostgreSQL (logs in ${logs})`);
    const token = await ownerToken(port);
    let n = 0;
    const errors: Record<string, number> = {};
    let answered2xx = 0;
    const latencies: number[] = [];
    const one = async (measure: boolean) => {
      const started = Date.now();
      try {
        const answer = await mixed(port, token, ++n);
        if (answer.status >= 200 && answer.status < 300) {
          if (measure) answered2xx++;
        } else errors[answer.status] = (errors[answer.status] ?? 0) + 1;
      } catch (error) {
        const code = (error as { code?: string }).code ?? String(error);
        errors[code] = (errors[code] ?? 0) + 1;
      }
      if (measure) latencies.push(Date.now() - started);
    };

    // The peak: as many requests as `concurrency` clients get answered.
    const concurrency = options.concurrency ?? 8;
    let peakCount = 0;
    const peakUntil = Date.now() + options.peakSeconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() < peakUntil) {
          await one(false);
          peakCount++;
        }
      }),
    );
    const peakPerSecond = peakCount / options.peakSeconds;
    const targetPerSecond = peakPerSecond / 2;
    say(`peak: ${peakPerSecond.toFixed(0)} requests/s with ${concurrency} clients (mix: 60% GET /v1/accounts, 20% GET /v1/me, 10% GET /v1/rules, 10% POST /v1/accounts)`);

    // The soak: requests started at a steady rate, whatever the answers' speed.
    const rss = { start: api.rssMb(), peak: 0, end: 0 };
    rss.peak = rss.start;
    say(`soak: ${targetPerSecond.toFixed(0)} requests/s for ${options.minutes} min; RSS at start ${rss.start.toFixed(0)} MB`);
    const durationMs = options.minutes * 60_000;
    const started = Date.now();
    let sent = 0;
    const inFlight = new Set<Promise<void>>();
    let nextSample = started + options.sampleSeconds * 1000;
    while (Date.now() - started < durationMs) {
      const due = Math.floor(((Date.now() - started) / 1000) * targetPerSecond);
      while (sent < due) {
        sent++;
        const request = one(true).finally(() => inFlight.delete(request));
        inFlight.add(request);
      }
      if (Date.now() >= nextSample) {
        const now = api.rssMb();
        rss.peak = Math.max(rss.peak, now);
        const errorCount = Object.values(errors).reduce((a, b) => a + b, 0);
        say(`  ${((Date.now() - started) / 1000).toFixed(0)} s: ${sent} sent, ${answered2xx} answered 2xx, ${errorCount} errors, ${inFlight.size} in flight, RSS ${now.toFixed(0)} MB`);
        nextSample += options.sampleSeconds * 1000;
      }
      await sleep(5);
    }
    await Promise.all(inFlight);
    rss.end = api.rssMb();
    rss.peak = Math.max(rss.peak, rss.end);
    latencies.sort((a, b) => a - b);
    const result: SoakResult = {
      peakPerSecond,
      targetPerSecond,
      sent,
      answered2xx,
      errors,
      rssMb: rss,
      p50Ms: latencies[Math.floor(latencies.length * 0.5)] ?? 0,
      p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
    };
    say(`soak done: ${sent} sent, ${answered2xx} answered 2xx, errors ${JSON.stringify(errors)}; latency p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms`);
    say(`RSS: start ${rss.start.toFixed(0)} MB, peak ${rss.peak.toFixed(0)} MB, end ${rss.end.toFixed(0)} MB`);
    return result;
  } finally {
    await api?.kill();
    await postgres.destroy();
  }
}
