import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createApp } from './app';
import { resolveSigningSecret } from './auth/signing-secret';
import { ConfigError, loadConfig } from './config';
import { migrateToLatest, openDatabase } from './db/database';
import { answerClientErrors } from './http/client-error';
import { drainable } from './http/drain';
import { JobQueue } from './jobs/job-queue';
import { alertSettings, rotationSettings, scanSettings, startWorkers } from './workers';
import { bootstrapFirstOwner } from './organizations/organizations.service';
import { loadCatalogue } from './rules/catalogue';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  const logger = pino({ level: config.logLevel });
  // A broken built-in rule stops the start here, naming its file and rule, rather than at the first audit.
  const catalogue = await loadCatalogue();
  logger.info({ rules: catalogue.rules.length, catalogue_version: catalogue.version }, 'rule catalogue loaded');
  const db = openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    statementTimeoutMs: config.timeouts.dbStatementMs,
    connectTimeoutMs: config.timeouts.dbConnectMs,
  });
  const applied = await migrateToLatest(db);
  if (applied.length > 0) logger.info({ migrations: applied }, 'applied migrations');
  await bootstrapFirstOwner(db, config.admin, logger);

  const redis = config.redisUrl ? (await import('./http/redis-client.js')).openRedis(config.redisUrl) : undefined;
  redis?.on('error', (error: Error) => logger.error({ err: error }, 'redis error'));
  const jobs = new JobQueue(db, config, logger);
  const signingSecret = resolveSigningSecret(config);
  if (config.runWorkers) {
    await startWorkers({ jobs, db, logger, reportsDir: config.reportsDir, limits: config.organizationLimits, alerts: alertSettings(config, signingSecret), scans: scanSettings(config, signingSecret), rotations: rotationSettings(config, signingSecret) });
  }
  const app = createApp({ config, db, logger, signingSecret, redis, jobs });
  const server = app.listen(config.port, config.host, () => {
    const { port } = server.address() as AddressInfo;
    logger.info(
      {
        port,
        database: config.databaseUrl ? 'postgresql' : `pglite:${config.dataDir}`,
        rate_limit_store: redis ? 'redis' : 'database',
      },
      `fourfold listening on http://localhost:${port}`,
    );
  });
  server.requestTimeout = config.timeouts.httpRequestMs;
  server.headersTimeout = config.timeouts.httpHeadersMs;
  server.keepAliveTimeout = config.timeouts.httpKeepAliveMs;
  answerClientErrors(server, logger);

  const connections = drainable(server);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: finishing in-flight requests');
    const forced = setTimeout(() => {
      logger.error({ timeout_ms: config.shutdownTimeoutMs }, 'in-flight requests did not finish in time; closing them');
      server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    forced.unref();
    await connections.drain();
    await jobs.stop(config.shutdownTimeoutMs);
    await redis?.quit();
    await db.destroy();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('fourfold failed to start:', error);
  process.exit(1);
});
