import request from 'supertest';
import { sql } from 'kysely';
import { loadCatalogue } from '../src/rules/catalogue';
import { evaluateInventory } from '../src/rules/evaluate-inventory';
import type { RuleResource } from '../src/rules/rule-evaluation';
import { as, useTestApp } from './support/app';
import { runAuditThroughHttp } from './support/audits';

// An audit evaluates and writes its resources in chunks of 2,000 (on PostgreSQL each chunk is
// written while the next is evaluated) and its rows in statements of 5,000: an estate of several
// chunks, whose findings fill several statements, must still give exactly what the rules say,
// with one event per change, and an attempt that ends mid-way must write nothing.
const VOLUMES = 4500;
const NOW = new Date('2026-11-26T00:00:00Z');
const t = useTestApp({}, { workers: true, auditSettings: { now: () => NOW } });

function volume(i: number, encrypted: boolean) {
  const id = `vol-${i.toString(16).padStart(17, '0')}`;
  const native_id = `arn:aws:ec2:us-west-2:345678901234:volume/${id}`;
  return {
    type: 'aws_ebs_volume',
    native_id,
    provider: 'aws',
    region: 'us-west-2',
    name: `data-${i}`,
    tags: { env: 'dev' },
    attributes: { arn: native_id, id, availability_zone: 'us-west-2b', encrypted, size: 10 + (i % 90), type: i % 3 === 0 ? 'gp2' : 'gp3', iops: 3000 },
    relationships: [],
  };
}

/** `rule id\nnative id` of every failure the catalogue finds in these resources, evaluated in-process. */
async function expectedFailures(resources: ReturnType<typeof volume>[]): Promise<Set<string>> {
  const subjects = resources.map((r): RuleResource => ({ id: null, account_id: 'one', ...r }) as RuleResource);
  const failures = new Set<string>();
  for (const { rule, resource, outcome } of evaluateInventory(await loadCatalogue(), subjects, NOW)) {
    expect(outcome.outcome).not.toBe('error');
    if (outcome.outcome === 'fail') failures.add(`${rule.rule.id}\n${resource.native_id}`);
  }
  return failures;
}

describe('audits of several chunks', () => {
  let owner: string;
  let account: string;
  const stored = async () => {
    const rows = await t.db
      .selectFrom('findings as f')
      .innerJoin('resources as r', 'r.id', 'f.resource_id')
      .select(['f.id', 'f.rule_id', 'r.native_id', 'f.status', 'f.status_reason'])
      .execute();
    return new Map(rows.map((row) => [`${row.rule_id}\n${row.native_id}`, row]));
  };
  const eventsOf = (auditId: string) => t.db.selectFrom('finding_events').select(['finding_id', 'type', 'reason']).where('audit_id', '=', auditId).execute();
  const importVolumes = (resources: ReturnType<typeof volume>[]) =>
    request(t.app).post(`/v1/accounts/${account}/imports?format=native&mode=full`).set(as(owner)).send({ resources }).expect(201);

  beforeAll(async () => {
    owner = await t.ownerToken();
    account = (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: '345678901234', name: 'chunks' }).expect(201)).body.id;
  });

  it('opens exactly the failing evaluations, each with one opened event; a second audit resolves and keeps them across chunks', async () => {
    const first = Array.from({ length: VOLUMES }, (_, i) => volume(i, i % 2 === 0));
    await importVolumes(first);
    const expected = await expectedFailures(first);
    expect(expected.size).toBeGreaterThan(5000);

    const audit = await runAuditThroughHttp(t.app, owner);
    expect(audit).toMatchObject({ status: 'succeeded', summary: { new: expected.size, recurring: 0, resolved: 0 }, progress: { resources_evaluated: VOLUMES } });
    const findings = await stored();
    expect(new Set(findings.keys())).toEqual(expected);
    const opened = await eventsOf(audit.id);
    expect(opened).toHaveLength(expected.size);
    expect(new Set(opened.map((e) => e.finding_id)).size).toBe(expected.size);
    expect(opened.every((e) => e.type === 'opened')).toBe(true);
    const seen = await t.db.selectFrom('audit_findings').select('finding_id').where('audit_id', '=', audit.id).execute();
    expect(seen).toHaveLength(expected.size);
    const versions = await t.db.selectFrom('audit_resources').select(t.db.fn.countAll<string>().as('n')).where('audit_id', '=', audit.id).executeTakeFirstOrThrow();
    expect(Number(versions.n)).toBe(VOLUMES);

    // The first 3,000 volumes (two chunks and a half) encrypted: their unencrypted findings resolve.
    const second = first.map((r, i) => (i < 3000 ? volume(i, true) : r));
    await importVolumes(second);
    const stillFailing = await expectedFailures(second);
    const resolvedKeys = [...expected].filter((key) => !stillFailing.has(key));
    expect(resolvedKeys.length).toBeGreaterThan(1000);
    const again = await runAuditThroughHttp(t.app, owner);
    expect(again).toMatchObject({ status: 'succeeded', summary: { new: 0, recurring: stillFailing.size, resolved: resolvedKeys.length } });
    const after = await stored();
    expect(after.size).toBe(expected.size);
    for (const [key, finding] of after) {
      expect({ key, status: finding.status, reason: finding.status_reason }).toEqual(
        stillFailing.has(key) ? { key, status: 'open', reason: null } : { key, status: 'resolved', reason: 'passed' },
      );
      expect(finding.id).toBe(findings.get(key)!.id);
    }
    const resolved = await eventsOf(again.id);
    expect(resolved).toHaveLength(resolvedKeys.length);
    expect(new Set(resolved.map((e) => e.finding_id))).toEqual(new Set(resolvedKeys.map((key) => after.get(key)!.id)));
    expect(resolved.every((e) => e.type === 'resolved' && e.reason === 'passed')).toBe(true);
  }, 180_000);

  it('an audit canceled after some chunks were written leaves no trace; the next one decides as if it had not run', async () => {
    const before = await stored();
    // Cancels the first audit that reports 4,000 resources evaluated, when its first chunks are written
    // (on PostgreSQL). The trigger stays until no audit runs: dropping it (DDL) while the canceled
    // audit's transaction is still open would queue that audit's next progress update behind the DDL,
    // a wait across two connections that PostgreSQL cannot see as a deadlock.
    await sql`create table cancel_mid_audit_done (audit_id text)`.execute(t.db);
    await sql`
      create function cancel_mid_audit() returns trigger language plpgsql as $$
      begin
        if not exists (select 1 from cancel_mid_audit_done) then
          insert into cancel_mid_audit_done values (new.id);
          new.status := 'canceled'; new.finished_at := now();
        end if;
        return new;
      end $$`.execute(t.db);
    await sql`
      create trigger cancel_mid_audit before update on audits for each row
      when (new.status = 'running' and new.resources_evaluated >= 4000) execute function cancel_mid_audit()`.execute(t.db);
    const canceled = await runAuditThroughHttp(t.app, owner);
    expect(canceled).toMatchObject({ status: 'canceled', summary: null });
    expect(await eventsOf(canceled.id)).toEqual([]);
    for (const table of ['audit_findings', 'audit_resources', 'audit_rule_outcomes'] as const) {
      const rows = await t.db.selectFrom(table).select('audit_id').where('audit_id', '=', canceled.id).execute();
      expect({ table, rows }).toEqual({ table, rows: [] });
    }
    expect(await stored()).toEqual(before);

    const next = await runAuditThroughHttp(t.app, owner).finally(async () => {
      await sql`drop trigger cancel_mid_audit on audits`.execute(t.db);
      await sql`drop function cancel_mid_audit()`.execute(t.db);
      await sql`drop table cancel_mid_audit_done`.execute(t.db);
    });
    const open = [...before.values()].filter((f) => f.status === 'open').length;
    expect(next).toMatchObject({ status: 'succeeded', summary: { new: 0, recurring: open, resolved: 0 } });
    expect(await eventsOf(next.id)).toEqual([]);
  }, 180_000);
});
