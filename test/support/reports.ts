import type { Express } from 'express';
import request from 'supertest';
import { as } from './app';

/** Polls a report until it is ready or failed; answers it. */
export async function waitForReport(app: Express, token: string, id: string) {
  for (let attempt = 0; attempt < 400; attempt++) {
    const response = await request(app).get(`/v1/reports/${id}`).set(as(token)).expect(200);
    if (['ready', 'failed'].includes(response.body.status)) return response.body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`report ${id} did not end`);
}
