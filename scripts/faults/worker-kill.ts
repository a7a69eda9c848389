import { syntheticResources } from '../synthetic-inventory';
import { FourfoldProcess, logDirectory, ownerToken, PrivatePostgres, send, sleep, type Say } from './support';

export interface WorkerKillOptions {
  /** Resources in the audited account: enough for the audit and the report to take a while. */
  resources: number;
  /** AUDIT_TIMEOUT_SECONDS and JOB_TIMEOUT_SECONDS: how soon a job of a dead worker is retried. */
  auditTimeoutSeconds: number;
  jobTimeoutSeconds: number;
}

export interface WorkerKillResult {
  audit: { statusWhenKilled: string; finalStatus: string; secondsToFinish: number; findings: number; summaryFindings: number };
  report: { statusWhenKilled: string; finalStatus: string; secondsToFinish: number; sizeBytes: number };
  duplicates: { findings: number; events: number; auditFindings: number };
}

/**
 * A worker killed with SIGKILL in the middle of an audit, then in the middle of a report: each
 * finishes once another worker runs, with no finding, finding event or audit link written twice.
 */
export async function workerKilled(options: WorkerKillOptions, say: Say): Promise<WorkerKillResult> {
  const logs = logDirectory();
  const postgres = await PrivatePostgres.start(say);
  const env = {
    DATABASE_URL: postgres.url(),
    RUN_WORKERS: 'false',
    RATE_LIMIT_PER_MINUTE: '1000000',
    RATE_LIMIT_HEAVY_PER_MINUTE: '1000000',
    IMPORT_INLINE_MAX_RESOURCES: '1000000',
    IMPORT_BODY_LIMIT_BYTES: String(1024 * 1024 * 1024),
    AUDIT_TIMEOUT_SECONDS: String(options.auditTimeoutSeconds),
    JOB_TIMEOUT_SECONDS: String(options.jobTimeoutSeconds),
    JOB_MAINTENANCE_SECONDS: '1',
    JOB_POLLING_SECONDS: '1',
  };
  const processes: FourfoldProcess[] = [];
  try {
    const api = await FourfoldProcess.api(env, logs);
    processes.push(api);
    const { port } = api;
    say(`API started on port ${port} without workers (AUDIT_TIMEOUT_SECONDS=${options.auditTimeoutSeconds}, JOB_TIMEOUT_SECONDS=${options.jobTimeoutSeconds}, JOB_MAINTENANCE_SECONDS=1; logs in ${logs})`);
    const token = await ownerToken(port);
    const call = async (method: string, url: string, body?: unknown) => {
      const answer = await send(port, method, url, { token, body, timeoutMs: 600_000 });
      if (answer.status >= 300) throw new Error(`${method} ${url}: ${answer.status} ${JSON.stringify(answer.body)}`);
      return answer.body;
    };
    const account = (await call('POST', '/v1/accounts', { provider: 'aws', external_id: '123456789012', name: 'faults' })).id as string;
    const resources = [];
    for (const resource of syntheticResources(options.resources * 4, 7)) {
      if (resource.provider !== 'aws') continue;
      const { source: _source, ...rest } = resource;
      resources.push(rest);
      if (resources.length === options.resources) break;
    }
    await call('POST', `/v1/accounts/${account}/imports?format=native&mode=full`, { resources });
    say(`imported ${resources.length} resources`);

    const startWorker = async (what: string) => {
      const worker = await FourfoldProcess.worker(env, logs);
      processes.push(worker);
      say(`worker started (pid ${worker.child.pid}) ${what}`);
      return worker;
    };
    /** Polls `url` until `ready(body)` or the deadline; answers the last body. */
    const pollUntil = async (url: string, ready: (body: Record<string, unknown>) => boolean, deadlineMs: number, everyMs = 20) => {
      const until = Date.now() + deadlineMs;
      for (;;) {
        const body = await call('GET', url);
        if (ready(body) || Date.now() > until) return body;
        await sleep(everyMs);
      }
    };
    const killDeadline = 120_000;
    const finishDeadline = (options.auditTimeoutSeconds + options.jobTimeoutSeconds + 120) * 1000;

    // The audit.
    let worker = await startWorker('');
    const audit = (await call('POST', '/v1/audits', { mode: 'full' })).id as string;
    await pollUntil(`/v1/audits/${audit}`, (body) => body.status !== 'queued', killDeadline);
    await worker.kill('SIGKILL');
    const auditWhenKilled = await postgres.query<{ status: string }>('select status from audits where id = $1', [audit]);
    say(`SIGKILL to the worker while audit ${audit} was ${auditWhenKilled[0]!.status}`);
    let started = Date.now();
    worker = await startWorker('again');
    const finishedAudit = await pollUntil(`/v1/audits/${audit}`, (body) => !['queued', 'running'].includes(body.status as string), finishDeadline, 250);
    const auditSeconds = (Date.now() - started) / 1000;
    const summary = finishedAudit.summary as { new: number; recurring: number } | null;
    const findings = Number((await postgres.query<{ n: string }>('select count(*) as n from findings'))[0]!.n);
    say(`audit ${String(finishedAudit.status)} ${auditSeconds.toFixed(1)} s after the new worker was launched: ${summary ? summary.new + summary.recurring : '?'} findings in its summary, ${findings} in the database`);

    // The report.
    const report = (await call('POST', '/v1/reports', { type: 'remediation_plan', format: 'pdf', audit_id: audit })).id as string;
    await pollUntil(`/v1/reports/${report}`, (body) => body.status !== 'queued', killDeadline);
    await worker.kill('SIGKILL');
    const reportWhenKilled = await postgres.query<{ status: string }>('select status from reports where id = $1', [report]);
    say(`SIGKILL to the worker while report ${report} was ${reportWhenKilled[0]!.status}`);
    started = Date.now();
    await startWorker('again');
    const finishedReport = await pollUntil(`/v1/reports/${report}`, (body) => !['queued', 'generating'].includes(body.status as string), finishDeadline, 250);
    const reportSeconds = (Date.now() - started) / 1000;
    say(`report ${String(finishedReport.status)} ${reportSeconds.toFixed(1)} s after the new worker was launched (${String(finishedReport.size_bytes)} bytes)`);

    const count = async (text: string) => Number((await postgres.query<{ n: string }>(text))[0]!.n);
    const duplicates = {
      findings: await count('select count(*) as n from (select 1 from findings group by organization_id, fingerprint having count(*) > 1) d'),
      events: await count('select count(*) as n from (select 1 from finding_events group by finding_id, type, audit_id having count(*) > 1) d'),
      auditFindings: await count('select count(*) as n from (select 1 from audit_findings group by audit_id, finding_id having count(*) > 1) d'),
    };
    const events = await count('select count(*) as n from finding_events');
    say(`duplicates: ${duplicates.findings} findings (of ${findings}), ${duplicates.events} finding events (of ${events}), ${duplicates.auditFindings} audit-finding links`);
    return {
      audit: {
        statusWhenKilled: auditWhenKilled[0]!.status,
        finalStatus: finishedAudit.status as string,
        secondsToFinish: auditSeconds,
        findings,
        summaryFindings: summary ? summary.new + summary.recurring : -1,
      },
      report: {
        statusWhenKilled: reportWhenKilled[0]!.status,
        finalStatus: finishedReport.status as string,
        secondsToFinish: reportSeconds,
        sizeBytes: Number(finishedReport.size_bytes ?? 0),
      },
      duplicates,
    };
  } finally {
    for (const process of processes) await process.kill();
    await postgres.destroy();
  }
}
