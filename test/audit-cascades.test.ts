import { sql } from 'kysely';
import request from 'supertest';
import { lockAuditedAccounts, lockOrganization } from '../src/audits/audits.repository';
import { as, useTestApp } from './support/app';
import { runAuditThroughHttp } from './support/audits';
import { seedResources } from './support/inventory';

// Migrations 0048 and 0049: what an audit writes per finding and resource no longer has a foreign
// key checked per row; deleting what those rows name (an account's resources and their findings,
// an audit) still deletes them, by statement; and an account's deletion waits for an audit that
// writes about its resources.
const t = useTestApp({}, { workers: true });

describe('rows an audit writes, when what they name is deleted', () => {
  it('go with the findings of a deleted account and with a deleted audit, and only those', async () => {
    const owner = await t.ownerToken();
    const organizationId = (await request(t.app).get('/v1/me').set(as(owner)).expect(200)).body.organization.id as string;
    const account = async (externalId: string) =>
      (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: externalId, name: externalId }).expect(201)).body.id as string;
    const doomed = await account('111111111111');
    const kept = await account('222222222222');
    const doomedResources = await seedResources(t.db, organizationId, doomed, [{ type: 'aws_s3_bucket' }, { type: 'aws_s3_bucket' }]);
    const [keptResource] = await seedResources(t.db, organizationId, kept, [{ type: 'aws_s3_bucket' }]);
    const audit = await runAuditThroughHttp(t.app, owner, { mode: 'full' });
    expect(audit.status).toBe('succeeded');
    // Outcomes pass/fail cannot tell, as an audit stores them for undecided conditions.
    await t.db
      .insertInto('audit_rule_outcomes')
      .values([...doomedResources, keptResource!].map((resource_id) => ({ audit_id: audit.id, resource_id, rule_id: 'aws.s3.test', outcome: 'error', unknown_paths: null, message: 'test' })))
      .execute();
    const namingResources = async (table: 'audit_resources' | 'audit_rule_outcomes', resourceIds: string[]) =>
      (await t.db.selectFrom(table).select('resource_id').where('resource_id', 'in', resourceIds).execute()).length;
    expect(await namingResources('audit_resources', doomedResources)).toBe(2);
    expect(await namingResources('audit_rule_outcomes', doomedResources)).toBe(2);

    const findingsOf = async (accountId: string) =>
      (await t.db.selectFrom('findings').select('id').where('account_id', '=', accountId).execute()).map((f) => f.id);
    const rowsNaming = async (findingIds: string[]) => ({
      events: findingIds.length === 0 ? 0 : (await t.db.selectFrom('finding_events').select('id').where('finding_id', 'in', findingIds).execute()).length,
      audit_findings: findingIds.length === 0 ? 0 : (await t.db.selectFrom('audit_findings').select('finding_id').where('finding_id', 'in', findingIds).execute()).length,
      sightings: findingIds.length === 0 ? 0 : (await t.db.selectFrom('finding_sightings').select('finding_id').where('finding_id', 'in', findingIds).execute()).length,
    });
    const doomedFindings = await findingsOf(doomed);
    const keptFindings = await findingsOf(kept);
    expect(doomedFindings.length).toBeGreaterThan(0);
    expect(keptFindings.length).toBeGreaterThan(0);
    expect(await rowsNaming(doomedFindings)).toEqual({ events: doomedFindings.length, audit_findings: doomedFindings.length, sightings: doomedFindings.length });

    await request(t.app).delete(`/v1/accounts/${doomed}?force=true`).set(as(owner)).expect(204);
    expect(await findingsOf(doomed)).toEqual([]);
    expect(await t.db.selectFrom('findings').select('id').where('resource_id', 'in', doomedResources).execute()).toEqual([]);
    expect(await namingResources('audit_resources', doomedResources)).toBe(0);
    expect(await namingResources('audit_rule_outcomes', doomedResources)).toBe(0);
    expect(await namingResources('audit_rule_outcomes', [keptResource!])).toBe(1);
    expect(await rowsNaming(doomedFindings)).toEqual({ events: 0, audit_findings: 0, sightings: 0 });
    expect(await rowsNaming(keptFindings)).toEqual({ events: keptFindings.length, audit_findings: keptFindings.length, sightings: keptFindings.length });
    const ofAudit = async (table: 'audit_findings' | 'audit_resources') => (await t.db.selectFrom(table).select('audit_id').where('audit_id', '=', audit.id).execute()).length;
    expect(await ofAudit('audit_findings')).toBe(keptFindings.length);
    expect(await ofAudit('audit_resources')).toBe(1);
    const listed = await request(t.app).get(`/v1/findings?audit_id=${audit.id}&limit=100`).set(as(owner)).expect(200);
    expect(listed.body.data.map((f: { id: string }) => f.id).sort()).toEqual([...keptFindings].sort());

    await t.db.deleteFrom('audits').where('id', '=', audit.id).execute();
    expect(await ofAudit('audit_findings')).toBe(0);
    expect(await ofAudit('audit_resources')).toBe(0);
    expect((await findingsOf(kept)).sort()).toEqual([...keptFindings].sort());
    expect(await rowsNaming(keptFindings)).toEqual({ events: keptFindings.length, audit_findings: 0, sightings: keptFindings.length });
  }, 120_000);
});

describe("an audit's write transaction and the deletion of its accounts", () => {
  const setUp = async () => {
    const owner = await t.ownerToken();
    const organizationId = (await request(t.app).get('/v1/me').set(as(owner)).expect(200)).body.organization.id as string;
    const externalId = String(Math.floor(Math.random() * 1e12)).padStart(12, '3');
    const accountId = (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: externalId, name: externalId }).expect(201)).body.id as string;
    const [resourceId] = await seedResources(t.db, organizationId, accountId, [{ type: 'aws_s3_bucket' }]);
    const audit = await runAuditThroughHttp(t.app, owner, { mode: 'full', account_ids: [accountId] });
    expect(audit.status).toBe('succeeded');
    return { owner, organizationId, accountId, resourceId: resourceId!, auditId: audit.id as string };
  };

  it('fails the write, as the foreign key did, when an audited account went after the audit read its resources', async () => {
    const { owner, organizationId, accountId, resourceId } = await setUp();
    await request(t.app).delete(`/v1/accounts/${accountId}?force=true`).set(as(owner)).expect(204);
    await expect(
      t.db.transaction().execute(async (trx) => {
        await lockOrganization(trx, organizationId);
        await lockAuditedAccounts(trx, organizationId, [{ account_id: accountId }]);
        await trx.insertInto('audit_resources').values({ audit_id: 'aud_none', resource_id: resourceId, version: 1 }).execute();
      }),
    ).rejects.toThrow(`The audited accounts ${accountId} were deleted while the audit ran.`);
    expect(await t.db.selectFrom('audit_resources').select('audit_id').where('resource_id', '=', resourceId).execute()).toEqual([]);
  }, 120_000);

  // One PGlite connection runs one transaction at a time: there the deletion cannot even start
  // while the audit writes, so only the server can show that it waits.
  if (process.env.DATABASE_URL) {
    it('on PostgreSQL, makes a deletion of the account started meanwhile wait for its commit, then delete what it wrote', async () => {
      const { owner, organizationId, accountId, resourceId, auditId } = await setUp();
      let deleted = false;
      let deletion: Promise<unknown> | undefined;
      await t.db.transaction().execute(async (trx) => {
        await lockOrganization(trx, organizationId);
        await lockAuditedAccounts(trx, organizationId, [{ account_id: accountId }]);
        deletion = request(t.app)
          .delete(`/v1/accounts/${accountId}?force=true`)
          .set(as(owner))
          .then((response) => {
            deleted = true;
            return response;
          });
        // Until the deletion waits for a lock, it may not have reached the server yet.
        for (let waited = 0; waited < 100; waited++) {
          const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(t.db);
          if (waiting.rows[0]!.n > 0) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(deleted).toBe(false);
        await trx.insertInto('audit_rule_outcomes').values({ audit_id: auditId, resource_id: resourceId, rule_id: 'aws.s3.test', outcome: 'error', unknown_paths: null, message: 'test' }).execute();
      });
      expect(await deletion).toMatchObject({ status: 204 });
      expect(await t.db.selectFrom('resources').select('id').where('id', '=', resourceId).execute()).toEqual([]);
      expect(await t.db.selectFrom('audit_rule_outcomes').select('audit_id').where('resource_id', '=', resourceId).execute()).toEqual([]);
      expect(await t.db.selectFrom('audit_resources').select('audit_id').where('resource_id', '=', resourceId).execute()).toEqual([]);
    }, 120_000);
  }
});
