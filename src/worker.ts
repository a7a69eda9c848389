import pino from 'pino';
import { resolveSigningSecret } from './auth/signing-secret';
import { ConfigError, loadConfig } from './config';
import { migrateToLatest, openDatabase } from './db/database';
import { JobQueue } from './jobs/job-queue';
import { alertSettings, rotationSettings, scanSettings, startWorkers } from './workers';

// A worker process without the HTTP API: run as many as the queues need, next to API processes
// started with RUN_WORKERS=false. It needs DATABASE_URL: the embedded database has one process.
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
    if (!config.databaseUrl) throw new ConfigError(['DATABASE_URL is required: a separate worker cannot share the embedded database']);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  const logger = pino({ level: config.logLevel });
  const db = openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    statementTimeoutMs: config.timeouts.dbStatementMs,
    connectTimeoutMs: config.timeouts.dbConnectMs,
  });
  await migrateToLatest(db);
  const jobs = new JobQueue(db, config, logger);
  await startWorkers({
    jobs,
    db,
    logger,
    reportsDir: config.reportsDir,
    limits: config.organizationLimits,
    alerts: alertSettings(config, resolveSigningSecret(config)),
    scans: scanSettings(config, resolveSigningSecret(config)),
    rotations: rotationSettings(config, resolveSigningSecret(config)),
  });
  logger.info('fourfold worker started');

  const stop = async (signal: string) => {
    logger.info({ signal }, 'stopping: finishing running jobs');
    await jobs.stop(config.shutdownTimeoutMs);
    await db.destroy();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('fourfold worker failed to start:', error);
  process.exit(1);
});
