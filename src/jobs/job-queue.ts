import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { embeddedDatabaseOf, executeRawSql, type Db } from '../db/database';

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
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

const DEAD_LETTERS: Partial<Record<QueueName, QueueName>> = {
  [QUEUES.imports]: QUEUES.abandonedImports,
  [QUEUES.audits]: QUEUES.abandonedAudits,
  [QUEUES.reports]: QUEUES.abandonedReports,
};

/** How long a job may run before pg-boss considers its worker dead and retries it (audits: AUDIT_TIMEOUT_SECONDS). */
const EXPIRE_IN_SECONDS = 15 * 60;
const RETRY_LIMIT = 3;

export type JobQueueSettings = Pick<Config, 'databaseUrl' | 'jobPollingSeconds' | 'jobMaintenanceSeconds' | 'auditTimeoutSeconds'>;

/**
 * pg-boss over fourfold's database. It starts on first use, so processes (and test files) that
 * never queue anything do not pay for creating its schema.
 */
export class JobQueue {
  readonly #boss: PgBoss;
  readonly #pollingIntervalSeconds: number;
  readonly #localWorkers = new Map<string, string[]>();
  readonly #auditTimeoutSeconds: number;
  #started: Promise<void> | undefined;

  constructor(db: Db, settings: JobQueueSettings, logger: Logger) {
    const embedded = embeddedDatabaseOf(db);
    const connection: PgBoss.ConstructorOptions = embedded
      ? { db: embeddedExecutor(db, embedded) }
      : { connectionString: settings.databaseUrl, max: 4, application_name: 'fourfold-jobs' };
    this.#boss = new PgBoss({
      ...connection,
      // `schedule: true` runs pg-boss's cron clock in every process that starts the queue; pg-boss
      // lets one of them at a time send each due job, so recurring work runs once however many run.
      schedule: true,
      retryLimit: RETRY_LIMIT,
      expireInSeconds: EXPIRE_IN_SECONDS,
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
   */
  async send(queue: QueueName, data: object, within?: Db): Promise<void> {
    // Starting creates pg-boss's schema through the database; inside `within` on PGlite's one
    // connection that would wait for the transaction it runs in. Callers start the queue first.
    if (within && !this.#started) throw new Error('start the job queue before sending a job within a transaction');
    await this.start();
    await this.#boss.send(queue, data, {
      ...(within ? { db: kyselyExecutor(within) } : {}),
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

  /** Lets running jobs finish (up to `timeoutMs`), then stops. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.#started) return;
    await this.#started;
    await this.#boss.stop({ graceful: true, wait: true, timeout: timeoutMs });
  }
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
