import request from 'supertest';
import { as, logInAs, OWNER, useTestApp, type TestApp } from './support/app';
import { waitForAudit } from './support/audits';
import { startWorkers } from '../src/workers';

// Fair queues (issue 16): jobs are queued while no worker runs, then one worker process starts;
// the order in which it runs them is what these tests check, not how long anything takes.

const PASSWORD = 'tenant-password-0123456789';

/** A second organization, created through the platform API; answers its owner's login token. */
async function createTenant(t: TestApp, operator: string, slug: string): Promise<string> {
  const username = `owner-${slug}@example.com`;
  await request(t.app)
    .post('/v1/platform/organizations')
    .set(as(operator))
    .send({ name: slug, slug, owner: { username, password: PASSWORD } })
    .expect(201);
  return logInAs(t.app, username, PASSWORD);
}

async function queueAudit(t: TestApp, token: string): Promise<string> {
  const response = await request(t.app).post('/v1/audits').set(as(token)).send({}).expect(202);
  return response.body.id as string;
}

/** Audit ids in the order the workers finished them, from the workers' log. */
function finishOrder(t: TestApp): string[] {
  return t.logs.filter((line) => line.msg === 'audit finished').map((line) => line.audit as string);
}

/** Organization A queues three audits, then organization B one; a worker starts; all end. */
async function queueAndRun(t: TestApp) {
  const operator = await t.ownerToken();
  const a = operator;
  const b = await createTenant(t, operator, 'tenant-b');
  const [a1, a2, a3] = [await queueAudit(t, a), await queueAudit(t, a), await queueAudit(t, a)];
  const b1 = await queueAudit(t, b);
  await startWorkers({ jobs: t.jobs, db: t.db, logger: t.logger });
  for (const [token, id] of [[a, a1], [a, a2], [a, a3], [b, b1]] as const) {
    expect(await waitForAudit(t.app, token, id)).toMatchObject({ status: 'succeeded' });
  }
  return { a1: a1!, a2: a2!, a3: a3!, b1, a, b };
}

describe('fair queueing between organizations', () => {
  const t = useTestApp({ PLATFORM_ADMINS: OWNER.username, WORKER_CONCURRENCY: '1', ORGANIZATION_JOB_CONCURRENCY: '1' });

  it("starts B's audit, queued after A's three, before A's remaining ones", async () => {
    const { a1, a2, a3, b1 } = await queueAndRun(t);
    // A's first was alone in its round; B's first comes before A's second and third.
    expect(finishOrder(t)).toEqual([a1, b1, a2, a3]);
  });
});

describe('without fair queueing (one first-in, first-out worker, as before)', () => {
  const t = useTestApp({ PLATFORM_ADMINS: OWNER.username, WORKER_CONCURRENCY: '1', ORGANIZATION_JOB_CONCURRENCY: '0', FAIR_QUEUEING: 'false' });

  it("runs B's audit after all of A's", async () => {
    const { a1, a2, a3, b1 } = await queueAndRun(t);
    expect(finishOrder(t)).toEqual([a1, a2, a3, b1]);
  });
});

describe('the cap per organization', () => {
  const t = useTestApp({ PLATFORM_ADMINS: OWNER.username, WORKER_CONCURRENCY: '3', ORGANIZATION_JOB_CONCURRENCY: '1' });

  it("runs one of A's audits at a time however many workers are free, and B's beside them", async () => {
    const { a1, a2, a3, b1, a, b } = await queueAndRun(t);
    const audits = await Promise.all(
      [a1, a2, a3].map(async (id) => (await request(t.app).get(`/v1/audits/${id}`).set(as(a)).expect(200)).body as { started_at: string; finished_at: string }),
    );
    const spans = audits.map((audit) => [Date.parse(audit.started_at), Date.parse(audit.finished_at)] as const).sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    // B's audit did not wait for all of A's: it started before A's last one.
    const bAudit = (await request(t.app).get(`/v1/audits/${b1}`).set(as(b)).expect(200)).body as { started_at: string };
    expect(Date.parse(bAudit.started_at)).toBeLessThan(spans[2]![0]);
  });
});
