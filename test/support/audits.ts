import type { Express } from 'express';
import request from 'supertest';
import type { Db } from '../../src/db/database';
import type { AuditStatus, AuditSummaryData } from '../../src/db/schema';
import { newId } from '../../src/ids';
import { as } from './app';

/** Starts an audit through HTTP and polls it until it has ended; answers the ended audit. */
export async function runAuditThroughHttp(app: Express, token: string, body: object = {}) {
  const started = await request(app).post('/v1/audits').set(as(token)).send(body).expect(202);
  return waitForAudit(app, token, started.body.id as string);
}

export async function waitForAudit(app: Express, token: string, id: string) {
  for (let attempt = 0; attempt < 300; attempt++) {
    const response = await request(app).get(`/v1/audits/${id}`).set(as(token)).expect(200);
    if (['succeeded', 'failed', 'canceled'].includes(response.body.status)) return response.body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`audit ${id} did not end`);
}

type RuleResults = AuditSummaryData['rule_results'];

const NO_FINDINGS = { info: 0, low: 0, medium: 0, high: 0, critical: 0 };

/**
 * Seeds an audit straight into the store, as the audit runner would leave it: `rule_results`
 * says how many resources each rule was evaluated and failed on. Answers its id.
 */
export async function seedAudit(
  db: Db,
  organizationId: string,
  { status = 'succeeded', finishedAt = new Date(), ruleResults = {} }: { status?: AuditStatus; finishedAt?: Date; ruleResults?: RuleResults },
): Promise<string> {
  const id = newId('aud');
  const finished = status === 'succeeded' || status === 'failed' || status === 'canceled';
  const summary: AuditSummaryData = {
    findings: { security: NO_FINDINGS, cost: NO_FINDINGS, architecture: NO_FINDINGS, compliance: NO_FINDINGS },
    new: 0,
    recurring: 0,
    resolved: 0,
    weights: { security: { evaluated: 0, failed: 0 }, cost: { evaluated: 0, failed: 0 }, architecture: { evaluated: 0, failed: 0 }, compliance: { evaluated: 0, failed: 0 } },
    coverage: { resources_evaluated: 0, rules_evaluated: Object.keys(ruleResults).length, evaluations: 0, evaluation_errors: 0 },
    rule_results: ruleResults,
    errors: [],
  };
  await db
    .insertInto('audits')
    .values({
      id,
      organization_id: organizationId,
      parent_audit_id: null,
      mode: 'full',
      account_ids: null,
      status,
      error_code: null,
      error_message: null,
      catalogue_version: finished ? 'abc123def456' : null,
      rule_versions: JSON.stringify(finished ? Object.fromEntries(Object.keys(ruleResults).map((rule) => [rule, 1])) : null),
      summary: JSON.stringify(status === 'succeeded' ? summary : null),
      created_by: 'usr_01JD8X3N5W6Q2R4T7Y9ZABCDEF',
      created_at: new Date(finishedAt.getTime() - 60_000),
      started_at: new Date(finishedAt.getTime() - 50_000),
      finished_at: finished ? finishedAt : null,
    })
    .execute();
  return id;
}
