// Small versions of the fault scenarios of scripts/faults.ts (see there and README "Reliability"),
// each on servers of its own: a private PostgreSQL (initdb, pg_ctl) and a private redis-server.
import { postgresDown } from '../scripts/faults/postgres-down';
import { redisDown } from '../scripts/faults/redis-down';
import { sigtermUnderLoad } from '../scripts/faults/sigterm';
import { soak } from '../scripts/faults/soak';
import type { Say } from '../scripts/faults/support';
import { workerKilled } from '../scripts/faults/worker-kill';
import { EMBEDDED_TEMPLATE_ENV } from './support/template';

const TIMEOUT_MS = 240_000;

/** What a scenario said, printed with its test's name so that a failure can be read. */
function narrator(name: string): Say {
  return (line) => process.stderr.write(`[${name}] ${line}\n`);
}

it('PostgreSQL stopped under load: 503 with Retry-After while down, /ready says so, recovery by itself, every acknowledged write kept', async () => {
  const result = await postgresDown({ downSeconds: 2, steadySeconds: 1, writers: 2, readers: 1 }, narrator('postgres'));
  expect(result.statementTimeout).toMatchObject({ status: 503, code: 'service_unavailable', retryAfter: '5' });
  for (const phase of Object.values(result.phases)) expect(phase).toMatchObject({ other: {}, unavailableWithoutRetryAfter: 0 });
  expect(result.phases.before.ok).toBeGreaterThan(0);
  expect(result.phases.down.unavailable).toBeGreaterThan(0);
  expect(result.phases.after.ok).toBeGreaterThan(0);
  expect(result.readyWhileDown.length).toBeGreaterThan(0);
  expect(new Set(result.readyWhileDown)).toEqual(new Set([503]));
  expect(result.recoverySeconds).toBeLessThan(10);
  expect(result.readyAgainSeconds).toBeLessThan(10);
  expect(result.acknowledged).toBeGreaterThan(0);
  expect(result.found).toBe(result.acknowledged);
}, TIMEOUT_MS);

it('a worker killed mid-audit and mid-report: both finish on a new worker, nothing written twice', async () => {
  const result = await workerKilled({ resources: 1000, auditTimeoutSeconds: 8, jobTimeoutSeconds: 8 }, narrator('worker'));
  expect(result.audit).toMatchObject({ statusWhenKilled: 'running', finalStatus: 'succeeded' });
  expect(result.audit.findings).toBeGreaterThan(0);
  expect(result.audit.findings).toBe(result.audit.summaryFindings);
  expect(result.report).toMatchObject({ statusWhenKilled: 'generating', finalStatus: 'ready' });
  expect(result.report.sizeBytes).toBeGreaterThan(0);
  expect(result.duplicates).toEqual({ findings: 0, events: 0, auditFindings: 0 });
}, TIMEOUT_MS);

it('Redis frozen, then stopped, while rate limits use it: requests still served, limits shared again once it is back', async () => {
  const result = await redisDown({ downRequests: 20 }, narrator('redis'));
  expect(result.sharedBefore).toBe(true);
  expect(result.whileFrozen.answered2xx).toBe(result.whileFrozen.requests);
  expect(result.whileFrozen.maxMs).toBeLessThan(3000);
  expect(result.whileDown).toMatchObject({ answered2xx: 20, other: {}, shared: false });
  expect(result.sharedAgainAfterSeconds).toBeLessThan(10);
}, TIMEOUT_MS);

it('SIGTERM under load: requests in flight finish, new connections are refused, exit 0', async () => {
  const result = await sigtermUnderLoad({ clients: 8, loadSeconds: 1, templateFile: process.env[EMBEDDED_TEMPLATE_ENV] }, narrator('sigterm'));
  expect(Object.keys(result.answered)).toEqual(['201']);
  expect(result.cut).toBe(0);
  expect(result.refused.ECONNREFUSED).toBeGreaterThan(0);
  expect(result.slowRequestStatus).toBe(201);
  expect(result.exitCode).toBe(0);
}, TIMEOUT_MS);

it('a short soak at half the peak throughput: no errors, RSS within bounds', async () => {
  const result = await soak({ peakSeconds: 3, minutes: 0.15, sampleSeconds: 3 }, narrator('soak'));
  expect(result.errors).toEqual({});
  expect(result.sent).toBeGreaterThan(0);
  expect(result.answered2xx).toBe(result.sent);
  expect(result.rssMb.end).toBeLessThan(result.rssMb.start * 1.5 + 50);
}, TIMEOUT_MS);
