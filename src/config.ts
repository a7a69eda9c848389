import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LicenseError, verifyLicense, type License } from './plans/license';

export const JWT_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface Config {
  port: number;
  host: string;
  /** The origin clients reach the API at (OAuth issuer, same-origin checks); else taken from each request. */
  publicUrl: string | undefined;
  /** PostgreSQL server; when absent the embedded PGlite database in `dataDir` is used. */
  databaseUrl: string | undefined;
  dataDir: string;
  jwt: {
    /** When absent (embedded mode only) a secret is generated and kept in `dataDir`. */
    secret: string | undefined;
    algorithm: JwtAlgorithm;
    issuer: string;
    audience: string;
    ttlSeconds: number;
  };
  admin: { username: string; password: string | undefined; organizationName: string };
  /** Usernames (lower case) of platform operators, beside those the command line granted. */
  platformAdmins: string[];
  logLevel: (typeof LOG_LEVELS)[number];
  validateResponses: boolean;
  bodyLimitBytes: number;
  /** How long a verified credential is reused without asking the database (0: never); changes reach every process at once by NOTIFY. */
  credentialCacheSeconds: number;
  /** The body limit of operations marked `x-body-limit: import` in the spec. */
  importBodyLimitBytes: number;
  /** Imports of more resources than this are written by a worker (202) rather than in the request. */
  importInlineMaxResources: number;
  /** Whether this process also works the job queues (else only `npm run worker` processes do). */
  runWorkers: boolean;
  /** How often an idle worker polls the job queue. */
  jobPollingSeconds: number;
  /** How often the queue retries jobs whose worker died. */
  jobMaintenanceSeconds: number;
  /** How long one audit attempt may run before its worker is presumed dead and the audit retried. */
  auditTimeoutSeconds: number;
  /** Jobs of each of the audits, reports and imports queues one process runs at once. */
  workerConcurrency: number;
  /** Jobs of one organization that run at once in each of those queues, over every worker process; 0: no cap. */
  organizationJobConcurrency: number;
  /** Whether a job is queued behind the other organizations' earlier ones when its organization already has jobs waiting (see src/jobs/job-queue.ts). */
  fairQueueing: boolean;
  /** Each organization's limits when a platform operator has set none for it. */
  organizationLimits: OrganizationLimits;
  /** A self-hosted installation's signed licence (FOURFOLD_LICENSE), verified: it gives every organization its plan. */
  license: License | undefined;
  /** Longest risk acceptance of a new organization, in days, until its admins change it. */
  riskAcceptanceMaxDays: number;
  /** Where report files are kept; when absent they are kept in the database. */
  reportsDir: string | undefined;
  /** Express's `trust proxy`: false, how many proxies are in front, or their addresses. */
  trustProxy: false | number | string[];
  /** Whether personal access tokens may be created without an expiry. */
  patAllowNoExpiry: boolean;
  /** Rate-limit budgets (see src/http/rate-limit.ts). */
  rateLimits: {
    /** Requests a window (`windowSeconds`) per credential, and per IP without credentials. */
    perMinute: number;
    /** Requests a window per credential to operations marked `x-rate-limit-budget: heavy`. */
    heavyPerMinute: number;
    /** Length of the window of `perMinute` and `heavyPerMinute`: a minute unless set (tests shorten it). */
    windowSeconds: number;
    /** Login attempts per username, and per IP, in each `loginWindowSeconds`. */
    loginPerUsername: number;
    loginPerIp: number;
    loginWindowSeconds: number;
    /** Self-service sign-ups an hour per client IP. */
    signupPerHour: number;
  };
  /** Whether `POST /auth/signup` creates organizations (else it answers 404). */
  signupEnabled: boolean;
  /** Redis for the rate-limit counters; when absent they live in the database. */
  redisUrl: string | undefined;
  /** Prepended to every key fourfold writes to Redis, so several deployments can share one. */
  redisKeyPrefix: string;
  shutdownTimeoutMs: number;
  /** Bounds on every wait, so that a slow client or a dependency that stops answering ties nothing up for long. */
  timeouts: {
    /** Node's `requestTimeout`: the whole request (headers and body) must arrive within it, else 408. */
    httpRequestMs: number;
    /** Node's `headersTimeout`: the request line and headers must arrive within it, else 408. */
    httpHeadersMs: number;
    /** How long an idle keep-alive connection stays open (above the load balancer's idle timeout). */
    httpKeepAliveMs: number;
    /** PostgreSQL `statement_timeout` of every connection the API's pool opens; a statement over it answers 503. 0 disables. */
    dbStatementMs: number;
    /** How long a query waits for a pool connection (or for a new connection to open). */
    dbConnectMs: number;
    /** How long a Redis command may take before the rate limits fall back to this process's count. */
    redisCommandMs: number;
  };
  /** How long a job other than an audit may run before its worker is presumed dead and the job retried. */
  jobTimeoutSeconds: number;
  /** The SMTP server alert emails go through (`smtp://` or `smtps://`); without it email alerts are refused. */
  smtpUrl: string | undefined;
  /** The From address of alert emails. */
  alertsFrom: string;
  /** `host:port` (lower case) webhooks may be delivered to though they are not public https addresses (tests, on-premises receivers). */
  webhookAllowedHosts: string[];
  /** Where PagerDuty alert rules send Events API v2 events; the webhook SSRF guard and `webhookAllowedHosts` apply to it. */
  pagerdutyEventsUrl: string;
  /** Discovery (src/discovery): how connections' secrets are encrypted, and how scans run. */
  discovery: DiscoveryConfig;
}

export interface DiscoveryConfig {
  /** The key connections' secrets are encrypted under; absent: one derived from the JWT signing secret. */
  secretsKey: string | undefined;
  /** Keys secrets may still be encrypted under (after a rotation, until `fourfold secrets re-encrypt` ran). */
  previousSecretsKeys: string[];
  /** How long one scan may run before it is stopped and ends failed (`scan_timeout`). */
  scanTimeoutSeconds: number;
  /** Cloud calls one scan makes at once. */
  scanConcurrency: number;
  /** How long a rotation keeps retrying the verification of a new secret (Entra ID takes seconds to accept it everywhere); 0: one attempt. */
  rotationVerifySeconds: number;
  /** How long a Secrets Manager rotation (RotateSecret) is waited for, and how often DescribeSecret is asked meanwhile. */
  rotationSecretWait: { seconds: number; pollMs: number };
  /** Endpoint overrides for emulators and tests; AWS also honours AWS_ENDPOINT_URL itself. */
  endpoints: { aws?: string; azureAuthorityHost?: string; azureResourceManager?: string; azureKeyVault?: string; azureGraph?: string; gcp?: string; azureCaPem?: string };
}

/** Per-organization limits; `src/quotas/` enforces them. */
export interface OrganizationLimits {
  /** Resources (not gone) in the organization's inventory. */
  resources: number;
  /** Bytes of one resource's `attributes`, as JSON. */
  resourceAttributeBytes: number;
  /** Audits, reports and queued imports not finished yet. */
  queuedJobs: number;
  /** Bytes of the organization's stored report files. */
  reportBytes: number;
}

/** The limits of an organization when neither the environment nor a platform operator sets others. */
export const DEFAULT_ORGANIZATION_LIMITS: Readonly<OrganizationLimits> = Object.freeze({
  resources: 1_000_000,
  resourceAttributeBytes: 256 * 1024,
  queuedJobs: 50,
  reportBytes: 1024 * 1024 * 1024,
});

/** The licence, verified offline; a bad one stops the server rather than running it on a plan it was not given. */
function licenseOf(token: string | undefined, publicKey: string | undefined, problems: string[]): License | undefined {
  if (token === undefined) return undefined;
  if (publicKey === undefined) {
    problems.push('FOURFOLD_LICENSE needs FOURFOLD_LICENSE_PUBLIC_KEY, the Ed25519 public key (PEM) it is verified against');
    return undefined;
  }
  try {
    return verifyLicense(token, publicKey.replace(/\\n/g, '\n'));
  } catch (error) {
    if (!(error instanceof LicenseError)) throw error;
    problems.push(`FOURFOLD_LICENSE ${error.message}`);
    return undefined;
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Env = Record<string, string | undefined>;

/** Reads the configuration from `env`, reporting every invalid variable at once. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  };
  const boolean = (name: string, fallback: boolean): boolean => {
    const raw = read(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    problems.push(`${name} must be true or false, got "${raw}"`);
    return fallback;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
      return fallback;
    }
    return raw as T;
  };

  const databaseUrl = read('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  const secret = read('JWT_SECRET');
  if (secret !== undefined && secret.length < 32) {
    problems.push('JWT_SECRET must be at least 32 characters');
  }
  if (secret === undefined && databaseUrl !== undefined) {
    problems.push('JWT_SECRET is required with DATABASE_URL, so that every API process signs with the same key');
  }
  const redisUrl = read('REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    problems.push('REDIS_URL must be a redis:// or rediss:// URL');
  }
  const smtpUrl = read('SMTP_URL');
  if (smtpUrl !== undefined && !/^smtps?:\/\//.test(smtpUrl)) {
    problems.push('SMTP_URL must be an smtp:// or smtps:// URL');
  }
  const adminPassword = read('ADMIN_PASSWORD');
  if (adminPassword !== undefined && adminPassword.length < 12) {
    problems.push('ADMIN_PASSWORD must be at least 12 characters');
  }
  const adminUsername = read('ADMIN_USERNAME') ?? 'admin';
  if (!/^\S{1,254}$/.test(adminUsername)) {
    problems.push('ADMIN_USERNAME must be 1 to 254 characters without spaces');
  }

  const license = licenseOf(read('FOURFOLD_LICENSE'), read('FOURFOLD_LICENSE_PUBLIC_KEY'), problems);

  const jobTimeoutSeconds = integer('JOB_TIMEOUT_SECONDS', 900, 1, 86400);
  const config: Config = {
    port: integer('PORT', 8080, 0, 65535),
    host: read('HOST') ?? '0.0.0.0',
    publicUrl: publicOrigin(read('PUBLIC_URL'), problems),
    databaseUrl,
    dataDir: path.resolve(read('DATA_DIR') ?? './data'),
    jwt: {
      secret,
      algorithm: oneOf('JWT_ALGORITHM', JWT_ALGORITHMS, 'HS256'),
      issuer: read('JWT_ISSUER') ?? 'fourfold',
      audience: read('JWT_AUDIENCE') ?? 'fourfold-api',
      ttlSeconds: integer('TOKEN_TTL_SECONDS', 28800, 60, 604800),
    },
    admin: {
      username: adminUsername,
      password: adminPassword,
      organizationName: read('ADMIN_ORGANIZATION') ?? 'Default organization',
    },
    platformAdmins: (read('PLATFORM_ADMINS') ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean),
    logLevel: oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    validateResponses: boolean('VALIDATE_RESPONSES', false),
    bodyLimitBytes: integer('BODY_LIMIT_BYTES', 1048576, 1024, 104857600),
    credentialCacheSeconds: integer('CREDENTIAL_CACHE_SECONDS', 5, 0, 60),
    importBodyLimitBytes: integer('IMPORT_BODY_LIMIT_BYTES', 67108864, 1048576, 1073741824),
    importInlineMaxResources: integer('IMPORT_INLINE_MAX_RESOURCES', 5000, 0, 1000000),
    runWorkers: boolean('RUN_WORKERS', true),
    jobPollingSeconds: integer('JOB_POLLING_SECONDS', 2, 1, 60),
    jobMaintenanceSeconds: integer('JOB_MAINTENANCE_SECONDS', 60, 1, 3600),
    auditTimeoutSeconds: integer('AUDIT_TIMEOUT_SECONDS', 900, 1, 86400),
    workerConcurrency: integer('WORKER_CONCURRENCY', 2, 1, 64),
    organizationJobConcurrency: integer('ORGANIZATION_JOB_CONCURRENCY', 1, 0, 64),
    fairQueueing: boolean('FAIR_QUEUEING', true),
    organizationLimits: {
      resources: integer('ORGANIZATION_MAX_RESOURCES', DEFAULT_ORGANIZATION_LIMITS.resources, 0, 2147483647),
      resourceAttributeBytes: integer('ORGANIZATION_MAX_RESOURCE_ATTRIBUTE_BYTES', DEFAULT_ORGANIZATION_LIMITS.resourceAttributeBytes, 1024, 67108864),
      queuedJobs: integer('ORGANIZATION_MAX_QUEUED_JOBS', DEFAULT_ORGANIZATION_LIMITS.queuedJobs, 1, 100000),
      reportBytes: integer('ORGANIZATION_MAX_REPORT_BYTES', DEFAULT_ORGANIZATION_LIMITS.reportBytes, 0, Number.MAX_SAFE_INTEGER),
    },
    license,
    riskAcceptanceMaxDays: integer('RISK_ACCEPTANCE_MAX_DAYS', 365, 1, 36500),
    reportsDir: read('REPORTS_DIR') === undefined ? undefined : path.resolve(read('REPORTS_DIR')!),
    trustProxy: trustedProxies(read('TRUST_PROXY'), problems),
    patAllowNoExpiry: boolean('PAT_ALLOW_NO_EXPIRY', false),
    rateLimits: {
      perMinute: integer('RATE_LIMIT_PER_MINUTE', 1000, 1, 1000000),
      heavyPerMinute: integer('RATE_LIMIT_HEAVY_PER_MINUTE', 60, 1, 1000000),
      windowSeconds: integer('RATE_LIMIT_WINDOW_SECONDS', 60, 1, 3600),
      loginPerUsername: integer('RATE_LIMIT_LOGIN_PER_USERNAME', 10, 1, 1000000),
      loginPerIp: integer('RATE_LIMIT_LOGIN_PER_IP', 100, 1, 1000000),
      loginWindowSeconds: integer('RATE_LIMIT_LOGIN_WINDOW_SECONDS', 900, 1, 86400),
      signupPerHour: integer('RATE_LIMIT_SIGNUP_PER_HOUR', 5, 1, 1000000),
    },
    signupEnabled: boolean('SIGNUP_ENABLED', false),
    redisUrl,
    redisKeyPrefix: read('REDIS_KEY_PREFIX') ?? 'fourfold:',
    shutdownTimeoutMs: integer('SHUTDOWN_TIMEOUT_MS', 10000, 0, 600000),
    timeouts: {
      httpRequestMs: integer('HTTP_REQUEST_TIMEOUT_MS', 60000, 1000, 3600000),
      httpHeadersMs: integer('HTTP_HEADERS_TIMEOUT_MS', 20000, 1000, 3600000),
      httpKeepAliveMs: integer('HTTP_KEEP_ALIVE_TIMEOUT_MS', 5000, 0, 600000),
      dbStatementMs: integer('DB_STATEMENT_TIMEOUT_MS', 30000, 0, 3600000),
      dbConnectMs: integer('DB_CONNECT_TIMEOUT_MS', 5000, 100, 600000),
      redisCommandMs: integer('REDIS_COMMAND_TIMEOUT_MS', 1000, 10, 600000),
    },
    jobTimeoutSeconds,
    smtpUrl,
    alertsFrom: read('ALERTS_FROM') ?? 'fourfold <alerts@fourfold.invalid>',
    webhookAllowedHosts: allowedHosts(read('WEBHOOK_ALLOWED_HOSTS'), problems),
    pagerdutyEventsUrl: httpUrl('PAGERDUTY_EVENTS_URL', read('PAGERDUTY_EVENTS_URL') ?? 'https://events.pagerduty.com/v2/enqueue', problems),
    discovery: {
      secretsKey: read('SECRETS_KEY'),
      previousSecretsKeys: (read('SECRETS_KEYS_PREVIOUS') ?? '').split(',').map((key) => key.trim()).filter(Boolean),
      // By default a scan stops itself before its job would be presumed lost, whatever JOB_TIMEOUT_SECONDS is.
      scanTimeoutSeconds: integer('SCAN_TIMEOUT_SECONDS', Math.max(1, Math.min(600, jobTimeoutSeconds - 1)), 1, 86400),
      scanConcurrency: integer('SCAN_CONCURRENCY', 8, 1, 64),
      rotationVerifySeconds: integer('ROTATION_VERIFY_SECONDS', 40, 0, 300),
      rotationSecretWait: { seconds: integer('ROTATION_SECRET_WAIT_SECONDS', 300, 1, 900), pollMs: integer('ROTATION_SECRET_POLL_MS', 5000, 10, 60_000) },
      endpoints: definedOnly({
        aws: read('DISCOVERY_AWS_ENDPOINT') ?? read('AWS_ENDPOINT_URL'),
        azureAuthorityHost: read('DISCOVERY_AZURE_AUTHORITY_HOST'),
        azureResourceManager: read('DISCOVERY_AZURE_RESOURCE_MANAGER_ENDPOINT'),
        azureKeyVault: read('DISCOVERY_AZURE_KEY_VAULT_ENDPOINT'),
        azureGraph: read('DISCOVERY_AZURE_GRAPH_ENDPOINT'),
        gcp: read('DISCOVERY_GCP_ENDPOINT'),
        azureCaPem: pemFile('DISCOVERY_AZURE_CA_FILE', read('DISCOVERY_AZURE_CA_FILE'), problems),
      }),
    },
  };
  for (const key of [config.discovery.secretsKey, ...config.discovery.previousSecretsKeys]) {
    if (key !== undefined && key.length < 32) problems.push('SECRETS_KEY and each of SECRETS_KEYS_PREVIOUS must be at least 32 characters');
  }
  if (config.discovery.scanTimeoutSeconds >= config.jobTimeoutSeconds) {
    problems.push('SCAN_TIMEOUT_SECONDS must be below JOB_TIMEOUT_SECONDS, so that a scan stops itself before its job is presumed lost');
  }
  if (config.timeouts.httpHeadersMs > config.timeouts.httpRequestMs) {
    problems.push('HTTP_HEADERS_TIMEOUT_MS must not be above HTTP_REQUEST_TIMEOUT_MS: the headers are part of the request');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

/**
 * `TRUST_PROXY`: `false`, the number of proxies in front of the API, or their addresses/CIDRs
 * (and Express's names `loopback`, `linklocal`, `uniquelocal`). Not `true`: trusting every hop
 * would let any client choose its IP with an X-Forwarded-For header, and so its rate limits.
 */
function trustedProxies(raw: string | undefined, problems: string[]): false | number | string[] {
  if (raw === undefined || raw.toLowerCase() === 'false' || raw === '0') return false;
  if (/^\d+$/.test(raw)) return Number(raw);
  if (raw.toLowerCase() === 'true') {
    problems.push('TRUST_PROXY=true would trust an X-Forwarded-For any client can forge; give the number of proxies in front (e.g. 1) or their addresses');
    return false;
  }
  const entries = raw.split(',').map((entry) => entry.trim()).filter(Boolean);
  const invalid = entries.filter((entry) => !/^(loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(\/\d{1,3})?)$/.test(entry));
  if (invalid.length > 0) problems.push(`TRUST_PROXY has entries that are not addresses or CIDRs: ${invalid.join(', ')}`);
  return entries;
}

function allowedHosts(raw: string | undefined, problems: string[]): string[] {
  const entries = (raw ?? '').split(',').map((entry) => entry.trim().toLowerCase()).filter(Boolean);
  const invalid = entries.filter((entry) => !/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+):\d{1,5}$/.test(entry));
  if (invalid.length > 0) problems.push(`WEBHOOK_ALLOWED_HOSTS entries must be host:port, got ${invalid.join(', ')}`);
  return entries;
}

function httpUrl(name: string, raw: string, problems: string[]): string {
  try {
    const url = new URL(raw);
    if (url.protocol === 'https:' || url.protocol === 'http:') return url.href;
  } catch {
    // reported below
  }
  problems.push(`${name} must be an http(s) URL, got "${raw}"`);
  return raw;
}

function publicOrigin(raw: string | undefined, problems: string[]): string | undefined {
  if (raw === undefined) return undefined;
  try {
    const url = new URL(raw);
    if (url.protocol === 'https:' || url.protocol === 'http:') return url.origin;
  } catch {
    // reported below
  }
  problems.push(`PUBLIC_URL must be an http(s) URL such as https://api.example.com, got "${raw}"`);
  return undefined;
}

/** A PEM file's certificates, read at start-up so that a wrong path stops the process with a clear message. */
function pemFile(name: string, file: string | undefined, problems: string[]): string | undefined {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    problems.push(`${name} must name a readable PEM file, could not read "${file}": ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    return undefined;
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    problems.push(`${name} must name a PEM file holding one or more certificates ("-----BEGIN CERTIFICATE-----"), "${file}" holds none`);
    return undefined;
  }
  return text;
}

function definedOnly<T extends Record<string, string | undefined>>(values: T): { [K in keyof T]?: string } {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as { [K in keyof T]?: string };
}

function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const child of Object.values(value)) {
    if (child !== null && typeof child === 'object') deepFreeze(child);
  }
  return Object.freeze(value);
}
