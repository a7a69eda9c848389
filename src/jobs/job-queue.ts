import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { embeddedDatabaseOf, executeRawSql, type Db } from '../db/database';
import { fetchNextFairJob, unfinishedJobCount } from './jobs.repository';

/** Every queue fourfold uses; created when the queue starts. */
export const QUEUES = {
  imports: 'imports',
  audits: 'audits',
  findingExpiry: 'finding-expiry',
  reports: 'reports',
  /** After each audit: the alerts its events and the inventory's expiries raise. */
  alerts: 'alerts',
  /** Hourly: expiries noticed even when no audit runs. */
  alertsSchedule: 'alerts-schedule',
  /** One attempt of one delivery; a retry is a new job that starts later. */
  deliveries: 'deliveries',
  /** Dead letters: jobs whose last attempt failed or whose worker died, so that what they were doing ends as failed. */
  abandonedImports: 'imports-abandoned',
  abandonedAudits: 'audits-abandoned',
  abandonedReports: 'reports-abandoned',
  /** One discovery scan of one account (src/discovery). */
  scans: 'scans',
  /** Every minute: the connections whose `scan_schedule` is due start their scans. */
  scanSchedule: 'scan-schedule',
  abandonedScans: 'scans-abandoned',
  /** One run of one sync (src/syncs). */
  syncs: 'syncs',
  abandonedSyncs: 'syncs-abandoned',
  /** Every minute: the syncs whose `schedule` is due start their runs. */
  syncSchedule: 'sync-schedule',
  /** Hourly: rotation policies rotate the credentials that expire within their days (src/rotation-policies). */
  rotationPolicies: 'rotation-policies',
  /** A rotation's old password removed once its overlap has passed (src/rotations); without a rotation id, every one due. */
  rotationRevokes: 'rotation-revokes',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

const DEAD_LETTERS: Partial<Record<QueueName, QueueName>> = {
  [QUEUES.imports]: QUEUES.abandonedImports,
  [QUEUES.audits]: QUEUES.abandonedAudits,
  [QUEUES.reports]: QUEUES.abandonedReports,
  [QUEUES.scans]: QUEUES.abandonedScans,
  [QUEUES.syncs]: QUEUES.abandonedSyncs,
};

/** How soon a fair worker tries again while another process holds its queue's fetch. */
const BUSY_RETRY_MS = 50;
const RETRY_LIMIT = 3;

export type JobQueueSettings = Pick<
  Config,
  | 'databaseUrl'
  | 'jobPollingSeconds'
  | 'jobMaintenanceSeconds'
  | 'auditTimeoutSeconds'
  | 'jobTimeoutSeconds'
  | 'timeouts'
  | 'workerConcurrency'
  | 'organizationJobConcurrency'
  | 'fairQueueing'
>;

/** What a handler sees of its job: pg-boss's `JobWithMetadata` has these and more. */
export interface Job<Data> {
  id: string;
  data: Data;
  retryCount: number;
}

/**
 * pg-boss over fourfold's database. It starts on first use, so processes (and test files) that
 * never queue anything do not pay for creating its schema.
 */
export class JobQueue {
  readonly #boss: PgBoss;
  readonly #pollingIntervalSeconds: number;
  readonly #localWorkers = new Map<string, string[]>();
  readonly #auditTimeoutSeconds: number;
  readonly #db: Db;
  readonly #logger: Logger;
  readonly #fairness: Pick<JobQueueSettings, 'workerConcurrency' | 'organizationJobConcurrency' | 'fairQueueing'>;
  /** Idle fair workers of each queue, waiting for their next poll or a `wake`. */
  readonly #idle = new Map<string, Set<() => void>>();
  /** How many times each queue was woken: a wake during a fetch that found nothing is not missed. */
  readonly #wakes = new Map<string, number>();
  /** The fair worker of each queue; each ends after its running jobs once stopping. */
  readonly #fairWorkers: Promise<void>[] = [];
  #stopping = false;
  #started: Promise<void> | undefined;

  constructor(db: Db, settings: JobQueueSettings, logger: Logger) {
    this.#db = db;
    this.#logger = logger;
    this.#fairness = {
      workerConcurrency: settings.workerConcurrency,
      organizationJobConcurrency: settings.organizationJobConcurrency,
      fairQueueing: settings.fairQueueing,
    };
    const embedded = embeddedDatabaseOf(db);
    // pg-boss hands its options to pg.Pool, whose connection wait its types do not list.
    const poolTimeouts = { connectionTimeoutMillis: settings.timeouts.dbConnectMs };
    const connection: PgBoss.ConstructorOptions = embedded
      ? { db: embeddedExecutor(db, embedded) }
      : { connectionString: settings.databaseUrl, max: 4, application_name: 'fourfold-jobs', ...poolTimeouts };
    this.#boss = new PgBoss({
      ...connection,
      // `schedule: true` runs pg-boss's cron clock in every process that starts the queue; pg-boss
      // lets one of them at a time send each due job, so recurring work runs once however many run.
      schedule: true,
      retryLimit: RETRY_LIMIT,
      // How long a job may run before pg-boss considers its worker dead and retries it (audits: AUDIT_TIMEOUT_SECONDS).
      expireInSeconds: settings.jobTimeoutSeconds,
      maintenanceIntervalSeconds: settings.jobMaintenanceSeconds,
    });
    this.#auditTimeoutSeconds = settings.auditTimeoutSeconds;
    this.#boss.on('error', (error) => logger.error({ err: error }, 'job queue error'));
    this.#pollingIntervalSeconds = settings.jobPollingSeconds;
  }

  start(): Promise<void> {
    // A failed start (the database briefly away) is forgotten, so that the next use tries again.
    this.#started ??= (async () => {
      await this.#boss.start();
      // Dead letters first: a queue's dead letter must exist when the queue is created.
      const deadLetters = Object.values(DEAD_LETTERS);
      for (const name of [...deadLetters, ...Object.values(QUEUES).filter((queue) => !deadLetters.includes(queue))]) {
        const deadLetter = DEAD_LETTERS[name];
        await this.#boss.createQueue(name, {
          name,
          ...(deadLetter ? { deadLetter } : {}),
          ...(name === QUEUES.audits ? { expireInSeconds: this.#auditTimeoutSeconds } : {}),
        });
      }
    })().catch((error: unknown) => {
      this.#started = undefined;
      throw error;
    });
    return this.#started;
  }

  /**
   * Queues a job. With `within`, the job is written in that transaction, so it exists exactly
   * when the rows it refers to do; call `wake` once it has committed.
   *
   * A job of an `organizationId` is fair-queued: with `fairQueueing` its pg-boss `priority` is
   * minus the number of that organization's jobs already waiting or running in the queue, so
   * its k-th outstanding job comes after every other organization's first k (round robin
   * between organizations, oldest first within a round), however long its backlog.
   */
  async send(queue: QueueName, data: object, within?: Db, organizationId?: string): Promise<void> {
    // Starting creates pg-boss's schema through the database; inside `within` on PGlite's one
    // connection that would wait for the transaction it runs in. Callers start the queue first.
    if (within && !this.#started) throw new Error('start the job queue before sending a job within a transaction');
    await this.start();
    const backlog = organizationId && this.#fairness.fairQueueing ? await unfinishedJobCount(within ?? this.#db, queue, organizationId) : 0;
    await this.#boss.send(queue, data, {
      ...(within ? { db: kyselyExecutor(within) } : {}),
      ...(organizationId ? { singletonKey: organizationId, priority: -backlog } : {}),
      // Per job, not only per queue: pg-boss keeps a queue's options from its first creation.
      ...(queue === QUEUES.audits ? { expireInSeconds: this.#auditTimeoutSeconds } : {}),
    });
    if (!within) this.wake(queue);
  }

  /** Sends a job to `queue` that no worker takes before `delaySeconds` have passed. */
  async sendLater(queue: QueueName, data: object, delaySeconds: number): Promise<void> {
    await this.start();
    await this.#boss.send(queue, data, { startAfter: Math.max(0, Math.round(delaySeconds)) });
  }

  /** Has this process's idle workers of `queue` look for work now rather than at their next poll. */
  wake(queue: QueueName): void {
    for (const workerId of this.#localWorkers.get(queue) ?? []) this.#boss.notifyWorker(workerId);
    this.#wakes.set(queue, (this.#wakes.get(queue) ?? 0) + 1);
    const idle = this.#idle.get(queue);
    for (const resume of idle ?? []) resume();
    idle?.clear();
  }

  /** Sends a job to `queue` at every time `cron` (UTC) names; scheduling it again replaces the schedule. */
  async schedule(queue: QueueName, cron: string): Promise<void> {
    await this.start();
    await this.#boss.schedule(queue, cron);
  }

  /** Works `queue` in this process, one job at a time; a handler that throws has its job retried. */
  async work<Data extends object>(queue: QueueName, handler: (job: PgBoss.JobWithMetadata<Data>) => Promise<void>): Promise<void> {
    await this.start();
    const workerId = await this.#boss.work<Data>(
      queue,
      { includeMetadata: true, batchSize: 1, pollingIntervalSeconds: this.#pollingIntervalSeconds },
      async (jobs) => {
        for (const job of jobs) await handler(job);
      },
    );
    this.#localWorkers.set(queue, [...(this.#localWorkers.get(queue) ?? []), workerId]);
  }

  /**
   * Works `queue` fairly between organizations (jobs sent with an `organizationId`):
   * `workerConcurrency` jobs at once in this process, and at most `organizationJobConcurrency`
   * of one organization at once over every process (0: no cap), the next job being the first in
   * pg-boss's order (priority, age) whose organization is under its cap.
   *
   * pg-boss v10 has no per-group concurrency: its `work()` takes the first jobs in order, with
   * no `teamSize`/`teamConcurrency` since v10 (a `batchSize` batch completes or fails as one);
   * its `singleton` policy allows one active job per `singletonKey`, but a fetch whose first job
   * belongs to a key already running fails as a whole, so one organization's backlog would block
   * the queue. So the fetch is ours (`fetchNextFairJob`, pg-boss's own statement plus the cap);
   * completion, failure, retries, expiry and dead letters stay pg-boss's.
   */
  async workFairly<Data extends object>(queue: QueueName, handler: (job: Job<Data>) => Promise<void>): Promise<void> {
    await this.start();
    this.#fairWorkers.push(this.#fairLoop(queue, handler));
  }

  /** One fetcher per queue and process, filling `workerConcurrency` slots: one database connection at a time to fetch. */
  async #fairLoop<Data extends object>(queue: QueueName, handler: (job: Job<Data>) => Promise<void>): Promise<void> {
    const running = new Set<Promise<void>>();
    while (!this.#stopping) {
      if (running.size >= this.#fairness.workerConcurrency) {
        await Promise.race(running);
        continue;
      }
      const wakes = this.#wakes.get(queue);
      let fetched: Awaited<ReturnType<typeof fetchNextFairJob<Data>>>;
      try {
        fetched = await fetchNextFairJob<Data>(this.#db, queue, this.#fairness.organizationJobConcurrency);
      } catch (error) {
        this.#logger.error({ err: error, queue }, 'job queue error');
        fetched = undefined;
      }
      if (fetched === 'busy') {
        await new Promise((resolve) => setTimeout(resolve, BUSY_RETRY_MS));
      } else if (fetched) {
        const run: Promise<void> = this.#runJob(queue, fetched, handler).finally(() => running.delete(run));
        running.add(run);
      } else if (this.#wakes.get(queue) === wakes) {
        await this.#waitForWork(queue);
      }
    }
    await Promise.all(running);
  }

  async #runJob<Data>(queue: QueueName, job: Job<Data> & { expireInSeconds: number }, handler: (job: Job<Data>) => Promise<void>): Promise<void> {
    try {
      await untilExpiry(handler(job), job.expireInSeconds);
      await this.#boss.complete(queue, job.id);
    } catch (error) {
      await this.#boss.fail(queue, job.id, failureOutput(error)).catch((failure: unknown) => this.#logger.error({ err: failure, queue }, 'job queue error'));
    }
    // A slot here, and one of its organization, are free: a job that waited for either may start.
    this.wake(queue);
  }

  #waitForWork(queue: QueueName): Promise<void> {
    return new Promise((resolve) => {
      const idle = this.#idle.get(queue) ?? new Set();
      this.#idle.set(queue, idle);
      const resume = () => {
        clearTimeout(timer);
        idle.delete(resume);
        resolve();
      };
      const timer = setTimeout(resume, this.#pollingIntervalSeconds * 1000);
      idle.add(resume);
    });
  }

  /** Lets running jobs finish (up to `timeoutMs`), then stops. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.#started) return;
    await this.#started;
    this.#stopping = true;
    for (const queue of this.#idle.keys()) this.wake(queue as QueueName);
    const finished = Promise.all(this.#fairWorkers);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([finished, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    await this.#boss.stop({ graceful: true, wait: true, timeout: timeoutMs });
  }
}

/** Gives up waiting for a handler when its job expires, as pg-boss's workers do: pg-boss retries the job by then. */
function untilExpiry(work: Promise<void>, expireInSeconds: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`job expired after ${expireInSeconds} s`)), expireInSeconds * 1000);
  });
  return Promise.race([work, expiry]).finally(() => clearTimeout(timer));
}

/** What pg-boss keeps as a failed job's output (its own workers keep the error's message and stack). */
function failureOutput(error: unknown): object {
  return error instanceof Error ? { message: error.message, stack: error.stack } : { value: String(error) };
}

function kyselyExecutor(db: Db): PgBoss.Db {
  return { executeSql: (text, values) => executeRawSql<never>(db, text, values) };
}

/**
 * PGlite has one connection: pg-boss's statements go through Kysely's, so they queue behind
 * open transactions instead of landing inside them. Its schema scripts hold several statements,
 * which only PGlite's simple-protocol `exec` accepts.
 */
function embeddedExecutor(db: Db, pglite: NonNullable<ReturnType<typeof embeddedDatabaseOf>>): PgBoss.Db {
  return {
    executeSql: (text, values) =>
      values && values.length > 0
        ? executeRawSql<never>(db, text, values)
        : db.connection().execute(async () => (await pglite.exec(text)).at(-1) ?? { rows: [] }),
  };
}
