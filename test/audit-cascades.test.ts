import request from 'supertest';
import { as, useTestApp } from './support/app';
import { runAuditThroughHttp } from './support/audits';
import { seedResources } from './support/inventory';

// Migration 0048: what an audit writes per finding and resource no longer has a foreign key
// checked per row; deleting what those rows name (an account's resources and their findings, an
// audit) still deletes them, by statement.
const t = useTestApp({}, { workers: true });

describe('rows an audit writes, when what they name is deleted', () => {
  it('go with the findings of a deleted account and with a deleted audit, and only those', async () => {
    const owner = await t.ownerToken();
    const organizationId = (await request(t.app).get('/v1/me').set(as(owner)).expect(200)).body.organization.id as string;
    const account = async (externalId: string) =>
      (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: externalId, name: externalId }).expect(201)).body.id as string;
    const doomed = await account('111111111111');
    const kept = await account('222222222222');
    await seedResources(t.db, organizationId, doomed, [{ type: 'aws_s3_bucket' }, { type: 'aws_s3_bucket' }]);
    await seedResources(t.db, organizationId, kept, [{ type: 'aws_s3_bucket' }]);
    const audit = await runAuditThroughHttp(t.app, owner, { mode: 'full' });
    expect(audit.status).toBe('succeeded');

    const findingsOf = async (accountId: string) =>
      (await t.db.selectFrom('findings').select('id').where('account_id', '=', accountId).execute()).map((f) => f.id);
    const rowsNaming = async (findingIds: string[]) => ({
      events: findingIds.length === 0 ? 0 : (await t.db.selectFrom('finding_events').select('id').where('finding_id', 'in', findingIds).execute()).length,
      audit_findings: findingIds.length === 0 ? 0 : (await t.db.selectFrom('audit_findings').select('finding_id').where('finding_id', 'in', findingIds).execute()).length,
    });
    const doomedFindings = await findingsOf(doomed);
    const keptFindings = await findingsOf(kept);
    expect(doomedFindings.length).toBeGreaterThan(0);
    expect(keptFindings.length).toBeGreaterThan(0);
    expect(await rowsNaming(doomedFindings)).toEqual({ events: doomedFindings.length, audit_findings: doomedFindings.length });

    await request(t.app).delete(`/v1/accounts/${doomed}?force=true`).set(as(owner)).expect(204);
    expect(await findingsOf(doomed)).toEqual([]);
    expect(await rowsNaming(doomedFindings)).toEqual({ events: 0, audit_findings: 0 });
    expect(await rowsNaming(keptFindings)).toEqual({ events: keptFindings.length, audit_findings: keptFindings.length });
    const ofAudit = async (table: 'audit_findings' | 'audit_resources') => (await t.db.selectFrom(table).select('audit_id').where('audit_id', '=', audit.id).execute()).length;
    expect(await ofAudit('audit_findings')).toBe(keptFindings.length);
    expect(await ofAudit('audit_resources')).toBe(1);
    const listed = await request(t.app).get(`/v1/findings?audit_id=${audit.id}&limit=100`).set(as(owner)).expect(200);
    expect(listed.body.data.map((f: { id: string }) => f.id).sort()).toEqual([...keptFindings].sort());

    await t.db.deleteFrom('audits').where('id', '=', audit.id).execute();
    expect(await ofAudit('audit_findings')).toBe(0);
    expect(await ofAudit('audit_resources')).toBe(0);
    expect((await findingsOf(kept)).sort()).toEqual([...keptFindings].sort());
    expect(await rowsNaming(keptFindings)).toEqual({ events: keptFindings.length, audit_findings: 0 });
  }, 120_000);
});
