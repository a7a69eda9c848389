import fs from 'node:fs';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import {
  CompiledQuery,
  Kysely,
  Migrator,
  PostgresDialect,
  sql,
  type KyselyConfig,
  type KyselyPlugin,
  type Migration,
  type OperationNode,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryId,
  type QueryResult,
  type RootOperationNode,
  type Transaction,
  type UnknownRow,
} from 'kysely';
import pg from 'pg';
import type { Database } from './schema';
import * as identity from './migrations/0001_identity';
import * as membersAndTokens from './migrations/0002_members_and_tokens';
import * as inventory from './migrations/0005_inventory';
import * as rateLimits from './migrations/0003_rate_limits';
import * as oauth from './migrations/0004_oauth';
import * as importSpeed from './migrations/0006_import_speed';
import * as queuedImports from './migrations/0007_queued_imports';
import * as audits from './migrations/0008_audits';
import * as findingsIndexes from './migrations/0009_findings_indexes';
import * as idempotencyKeys from './migrations/0010_idempotency_keys';
import * as auditPolicyVersions from './migrations/0011_audit_policy_versions';
import * as policies from './migrations/0012_policies';
import * as reports from './migrations/0013_reports';
import * as platform from './migrations/0014_platform';
import * as resourceIdentityAndUnknowns from './migrations/0015_resource_identity_and_unknowns';
import * as ruleOutcomes from './migrations/0016_rule_outcomes';
import * as sessions from './migrations/0018_sessions';
import * as organizationLimits from './migrations/0019_organization_limits';
import * as alerts from './migrations/0021_alerts';
import * as webhookEndpoints from './migrations/0022_webhook_endpoints';
import * as events from './migrations/0023_events';
import * as discovery from './migrations/0025_discovery';
import * as plans from './migrations/0027_plans';
import * as auditLog from './migrations/0028_audit_log';
import * as organizationEvents from './migrations/0029_organization_events';
import * as scanSchedules from './migrations/0030_scan_schedules';
import * as rotations from './migrations/0031_rotations';
import * as syncs from './migrations/0032_syncs';
import * as findingContentHash from './migrations/0033_finding_content_hash';
import * as credentialLinks from './migrations/0037_credential_links';
import * as rotationAutomation from './migrations/0038_rotation_automation';
import * as rotationCredentials from './migrations/0039_rotation_credentials';
import * as syncRotationRuns from './migrations/0041_sync_rotation_runs';
import * as findingsResourceKey from './migrations/0043_findings_resource_key';
import * as importPayloadCompression from './migrations/0044_import_payload_compression';
import * as credentialChangeNotices from './migrations/0046_credential_change_notices';
import * as secretRotations from './migrations/0047_secret_rotations';
import * as auditRowsCascadeByStatement from './migrations/0048_audit_rows_cascade_by_statement';
import * as resourceRowsCascadeByStatement from './migrations/0049_resource_rows_cascade_by_statement';
import * as importPayloadDocument from './migrations/0050_import_payload_document';
import * as resourceSightings from './migrations/0051_resource_sightings';
import * as findingSightings from './migrations/0052_finding_sightings';

export type Db = Kysely<Database>;

/**
 * A database handle inside a transaction (`db.transaction().execute(async (trx) => ...)`). Functions
 * that take row locks, or that must commit together with their caller's other writes, take a `Trx`,
 * so they cannot be called outside a transaction.
 */
export type Trx = Transaction<Database>;

/** Migrations in the order they apply; add new ones at the end with the next number. */
const migrations: Record<string, Migration> = {
  '0001_identity': identity,
  '0002_members_and_tokens': membersAndTokens,
  '0003_rate_limits': rateLimits,
  '0004_oauth': oauth,
  '0005_inventory': inventory,
  '0006_import_speed': importSpeed,
  '0007_queued_imports': queuedImports,
  '0008_audits': audits,
  '0009_findings_indexes': findingsIndexes,
  '0010_idempotency_keys': idempotencyKeys,
  '0011_audit_policy_versions': auditPolicyVersions,
  '0012_policies': policies,
  '0013_reports': reports,
  '0014_platform': platform,
  '0015_resource_identity_and_unknowns': resourceIdentityAndUnknowns,
  '0016_rule_outcomes': ruleOutcomes,
  '0018_sessions': sessions,
  '0019_organization_limits': organizationLimits,
  '0021_alerts': alerts,
  '0022_webhook_endpoints': webhookEndpoints,
  '0023_events': events,
  '0025_discovery': discovery,
  '0027_plans': plans,
  '0028_audit_log': auditLog,
  '0029_organization_events': organizationEvents,
  '0030_scan_schedules': scanSchedules,
  '0031_rotations': rotations,
  '0032_syncs': syncs,
  '0033_finding_content_hash': findingContentHash,
  '0037_credential_links': credentialLinks,
  '0038_rotation_automation': rotationAutomation,
  '0039_rotation_credentials': rotationCredentials,
  '0041_sync_rotation_runs': syncRotationRuns,
  '0043_findings_resource_key': findingsResourceKey,
  '0044_import_payload_compression': importPayloadCompression,
  '0046_credential_change_notices': credentialChangeNotices,
  '0047_secret_rotations': secretRotations,
  '0048_audit_rows_cascade_by_statement': auditRowsCascadeByStatement,
  '0049_resource_rows_cascade_by_statement': resourceRowsCascadeByStatement,
  '0050_import_payload_document': importPayloadDocument,
  '0051_resource_sightings': resourceSightings,
  '0052_finding_sightings': findingSightings,
};

/**
 * Opens the PostgreSQL server at `databaseUrl`, or else the embedded PGlite database kept in
 * `<dataDir>/pgdata` (`dataDir: null` keeps it in memory, for tests).
 */
export function openDatabase(options: {
  databaseUrl?: string;
  dataDir: string | null;
  /** PostgreSQL only: `statement_timeout` of every connection (0: none). PGlite runs in this process and has no timer to cancel a statement with. */
  statementTimeoutMs?: number;
  /** PostgreSQL only: how long a query waits for a connection from the pool, or for a new one to open. */
  connectTimeoutMs?: number;
  /** Embedded, in memory only: start from this data directory (a PGlite `dumpDataDir()` tarball) instead of an empty database. */
  template?: Blob;
}): Db {
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      // Sent at connection start, so it holds for every statement on every connection, and the
      // server itself cancels one that runs over (57014), whatever the client does meanwhile.
      ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
      // A server that vanishes without closing its connections (a network partition) is noticed.
      keepAlive: true,
    });
    // An idle connection the server ends (a restart, a terminated backend) is dropped from the
    // pool and the next query opens another; without a listener the pool's error event would
    // crash the process instead.
    pool.on('error', () => {});
    // The same for a connection in use between two statements (inside a transaction): its error
    // then reaches the next statement, which fails (and answers 503), and the pool drops it.
    pool.on('connect', (client) => client.on('error', () => {}));
    const writes = new WriteObserver();
    const db = new ServerDatabase(options.databaseUrl, options.connectTimeoutMs ?? 5000, { dialect: new PostgresDialect({ pool }), plugins: [writes] });
    writeObservers.set(db, writes);
    return db;
  }
  let dataDir: string | undefined;
  if (options.dataDir !== null) {
    dataDir = path.join(options.dataDir, 'pgdata');
    fs.mkdirSync(dataDir, { recursive: true });
  }
  // Required here rather than imported: PGlite and its dialect keep ~45 MB resident, which a
  // process on a PostgreSQL server never uses; require() because openDatabase is synchronous.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { PGlite: EmbeddedPostgres } = require('@electric-sql/pglite') as typeof import('@electric-sql/pglite');
  const { PGliteDialect } = require('kysely-pglite-dialect') as typeof import('kysely-pglite-dialect');
  /* eslint-enable @typescript-eslint/no-require-imports */
  // One options object: PGlite's (dataDir, options) form drops `options` when dataDir is undefined,
  // which silently ran initdb instead of loading the template.
  const pglite = new EmbeddedPostgres({ dataDir, ...(options.template && dataDir === undefined ? { loadDataDir: options.template } : {}) });
  const writes = new WriteObserver();
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite), plugins: [writes] });
  embeddedDatabases.set(db, pglite);
  writeObservers.set(db, writes);
  return db;
}

const embeddedDatabases = new WeakMap<Db, PGlite>();
const writeObservers = new WeakMap<Db, WriteObserver>();

/** An UPDATE, DELETE or upsert built with Kysely (not raw SQL): its table, and for an update the columns it sets. */
export interface TableWrite {
  table: string;
  columns?: string[];
}

/** Tells observers of each UPDATE, DELETE and upsert that changed rows, as its result arrives (in a transaction, before the commit). */
class WriteObserver implements KyselyPlugin {
  readonly observers = new Set<(write: TableWrite) => void>();
  private readonly pending = new WeakMap<QueryId, TableWrite[]>();

  transformQuery({ node, queryId }: PluginTransformQueryArgs): RootOperationNode {
    if (this.observers.size > 0) {
      const writes = writesOf(node);
      if (writes.length > 0) this.pending.set(queryId, writes);
    }
    return node;
  }

  transformResult({ result, queryId }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const writes = this.pending.get(queryId);
    if (writes && (result.numAffectedRows ?? 0n) > 0n) {
      for (const write of writes) for (const observe of this.observers) observe(write);
    }
    return Promise.resolve(result);
  }
}

type Node = OperationNode & Record<string, unknown>;

function writesOf(node: RootOperationNode): TableWrite[] {
  const query = node as Node;
  if (query.kind === 'UpdateQueryNode') {
    const table = tableName(query.table as Node | undefined);
    if (!table) return [];
    return [{ table, columns: columnsOf((query.updates ?? []) as Node[]) }];
  }
  // INSERT … ON CONFLICT DO UPDATE updates the rows it conflicts with.
  if (query.kind === 'InsertQueryNode') {
    const updates = (((query.onConflict as Node | undefined)?.updates ?? []) as Node[]);
    const table = tableName(query.into as Node | undefined);
    return table && updates.length > 0 ? [{ table, columns: columnsOf(updates) }] : [];
  }
  if (query.kind === 'DeleteQueryNode') {
    const froms = ((query.from as Node | undefined)?.froms ?? []) as Node[];
    return froms.flatMap((from) => {
      const table = tableName(from);
      return table ? [{ table }] : [];
    });
  }
  return [];
}

function columnsOf(updates: Node[]): string[] {
  return updates.map((update) => identifierName((update.column as Node).column as Node)).filter((name): name is string => !!name);
}

function tableName(node: Node | undefined): string | undefined {
  if (node?.kind === 'AliasNode') return tableName(node.node as Node);
  if (node?.kind === 'TableNode') return identifierName((node.table as Node).identifier as Node);
  return undefined;
}

function identifierName(node: Node | undefined): string | undefined {
  return node?.kind === 'IdentifierNode' ? (node.name as string) : undefined;
}

/** Calls `observe` for every UPDATE, DELETE and upsert built with Kysely on `db` that changed rows; answers a function that stops. */
export function observeWrites(db: Db, observe: (write: TableWrite) => void): () => void {
  const writes = writeObservers.get(db);
  if (!writes) throw new Error('observeWrites needs a database opened by openDatabase');
  writes.observers.add(observe);
  return () => writes.observers.delete(observe);
}

/** A database on a PostgreSQL server: it knows its URL, for the connections that LISTEN, and closes them with its pool. */
class ServerDatabase extends Kysely<Database> {
  readonly listeners = new Set<() => Promise<void>>();

  constructor(
    readonly url: string,
    /** How long opening a connection may take, for the LISTEN connections as for the pool's. */
    readonly connectTimeoutMs: number,
    config: KyselyConfig,
  ) {
    super(config);
  }

  override async destroy(): Promise<void> {
    await Promise.all([...this.listeners].map((close) => close()));
    await super.destroy();
  }
}

export interface NoticeHandlers {
  /** A notification on the channel (its payload). */
  notice(payload: string): void;
  /** Notices may have been missed from now on (the connection dropped); `notice` waits for `listening` again. */
  lost(error: Error): void;
  /** Notices are delivered from now on (again after a loss). */
  listening(): void;
}

const RELISTEN_DELAY_MS = 1000;

/**
 * Delivers the notifications of `channel` (PostgreSQL's LISTEN/NOTIFY) to `handlers`: on the
 * server through a connection of its own, kept open (reopened after a loss) until `db.destroy()`;
 * on PGlite, in this process, before the notifying statement's promise resolves. Answers a
 * function that stops listening.
 */
export async function listenForNotices(db: Db, channel: string, handlers: NoticeHandlers): Promise<() => Promise<void>> {
  const embedded = embeddedDatabases.get(db);
  if (embedded) {
    const unlisten = await embedded.listen(channel, handlers.notice);
    handlers.listening();
    return async () => {
      if (!embedded.closed) await unlisten();
    };
  }
  if (!(db instanceof ServerDatabase)) throw new Error('listenForNotices needs a database opened by openDatabase');
  const server = db;
  let closed = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    // Bounded like the pool's: a server that accepts but never answers would otherwise hold
    // this connect, and the database's destroy() that waits for it, forever.
    const current = new pg.Client({ connectionString: server.url, keepAlive: true, connectionTimeoutMillis: server.connectTimeoutMs });
    client = current;
    let failed = false;
    const fail = (error: Error) => {
      if (failed || closed) return;
      failed = true;
      handlers.lost(error);
      void current.end().catch(() => {});
      retry = setTimeout(() => void connect().catch(() => {}), RELISTEN_DELAY_MS);
      retry.unref();
    };
    current.on('error', fail);
    current.on('end', () => fail(new Error('the LISTEN connection ended')));
    current.on('notification', (message) => {
      if (message.channel === channel) handlers.notice(message.payload ?? '');
    });
    try {
      await current.connect();
      await current.query(`listen ${pg.escapeIdentifier(channel)}`);
      if (!closed && !failed) handlers.listening();
    } catch (error) {
      fail(error as Error);
    }
  };
  const close = async () => {
    closed = true;
    clearTimeout(retry);
    server.listeners.delete(close);
    await client?.end().catch(() => {});
  };
  server.listeners.add(close);
  await connect();
  return close;
}

/** Runs SQL text with `$n` parameters on Kysely's connection: for libraries that bring their own SQL (pg-boss). */
export function executeRawSql<Row>(db: Db, text: string, values: readonly unknown[] = []): Promise<{ rows: Row[] }> {
  return db.executeQuery<Row>(CompiledQuery.raw(text, [...values]));
}

/** The PGlite instance behind `db`, when it is the embedded database. */
export function embeddedDatabaseOf(db: Db): PGlite | undefined {
  return embeddedDatabases.get(db);
}

/** Brings the schema up to date; throws with the failing migration's error. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).map((r) => r.migrationName);
}

/** Brings the schema to migration `name`, up or down (tests of what a migration does to existing rows). */
export async function migrateTo(db: Db, name: string): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error } = await migrator.migrateTo(name);
  if (error) throw error;
}

/** Answers whether the database runs a query within `timeoutMs`. */
export async function pingDatabase(db: Db, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const ping = sql`select 1`
    .execute(db)
    .then(() => true)
    .catch(() => false);
  try {
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
