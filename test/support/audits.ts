import request from 'supertest';
import type { Express } from 'express';
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
