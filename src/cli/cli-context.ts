import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { resolveSigningSecret } from '../auth/signing-secret';
import { ConfigError, loadConfig, type Config } from '../config';
import { migrateToLatest, openDatabase, type Db } from '../db/database';
import { AppError } from '../errors';

/** Exit codes, as `fourfold --help` lists them. */
export const EXIT = { ok: 0, refused: 1, usage: 2, unavailable: 3, failed: 4 } as const;

/** An error that ends the command with this exit code and message. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
    readonly code = 'cli_error',
  ) {
    super(message);
  }
}

export interface CliContext {
  config: Readonly<Config>;
  db: Db;
  signingSecret: string;
}

/**
 * Opens the database the server uses (DATABASE_URL, else the embedded PGlite database in
 * DATA_DIR). The embedded database takes one process at a time: while a server has it open,
 * the command refuses rather than risk corrupting it. Like the server, it first applies pending
 * migrations, so commands work on a database no server has started on yet.
 */
export async function withContext<T>(work: (context: CliContext) => Promise<T>, options = { migrate: true }): Promise<T> {
  let config: Readonly<Config>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(EXIT.usage, error.message, 'invalid_configuration');
    throw error;
  }
  if (!config.databaseUrl) {
    const pidFile = path.join(config.dataDir, 'pgdata', 'postmaster.pid');
    if (fs.existsSync(pidFile)) {
      throw new CliError(
        EXIT.unavailable,
        `The embedded database in ${config.dataDir} is open in another process, most likely a running fourfold server: ` +
          `stop it and run the command again (the embedded database takes one process at a time; with DATABASE_URL the server may keep running). ` +
          `If no process has it open, ${pidFile} was left by a crash: remove it.`,
        'database_in_use',
      );
    }
  }
  const db = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    if (options.migrate) await migrateToLatest(db);
    return await work({ config, db, signingSecret: resolveSigningSecret(config) });
  } finally {
    await db.destroy();
  }
}

/** A logger for what runs in-process (the audit of seed-demo): warnings and errors, to stderr. */
export function cliLogger() {
  return pino({ level: 'warn' }, pino.destination(2));
}

/** Turns what a command threw into its exit code and message. */
export function cliFailure(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof AppError) return new CliError(EXIT.refused, error.message, error.code);
  const code = (error as { code?: string }).code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === '3D000' || code === '28P01') {
    return new CliError(EXIT.unavailable, `The database cannot be reached: ${(error as Error).message}`, 'database_unavailable');
  }
  return new CliError(EXIT.failed, `Failed: ${error instanceof Error ? error.message : String(error)}`, 'internal_error');
}
