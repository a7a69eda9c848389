// Seeds an organization with N findings with SQL, as the listing and export benchmarks measure them: N/5
// resources with 5 findings each, of the catalogue's rules (so severities and dimensions spread
// as the catalogue's do), about 65% open, 25% resolved, 5% suppressed and 5% risk accepted, all
// from one audit.
import { sql } from 'kysely';
import { SEVERITIES } from '../src/rules/rule-definition';
import type { Db } from '../src/db/database';
import { newId } from '../src/ids';
import { loadCatalogue } from '../src/rules/catalogue';
import { seedAudit } from '../test/support/audits';

const FINDINGS_PER_RESOURCE = 5;
const CHUNK = 250_000;
const AT = new Date(Date.UTC(2026, 10, 22, 8));
const REGIONS = ['eu-west-1', 'eu-central-1', 'us-east-1', 'us-west-2', 'ap-southeast-2'];

const seconds = (since: number): string => ((Date.now() - since) / 1000).toFixed(0);
/** An id of the API's shape (`<prefix>_<ULID>`) made from a counter: hex digits are Crockford base32 ones. */
const idSql = (prefix: string, n: ReturnType<typeof sql.raw>) => sql`${prefix} || lpad(upper(to_hex(${n})), 22, '0')`;

export async function seed(db: Db, organizationId: string, count: number): Promise<void> {
  const accountId = newId('acc');
  await db.insertInto('accounts').values({ id: accountId, organization_id: organizationId, provider: 'aws', external_id: '123456789012', name: 'bench' }).execute();
  const auditId = await seedAudit(db, organizationId, { finishedAt: AT });

  const catalogue = await loadCatalogue();
  const rules = catalogue.rules.map(({ rule }) => ({
    id: rule.id,
    title: rule.title,
    description: rule.description,
    dimension: rule.dimension,
    severity: rule.severity,
    rank: SEVERITIES.indexOf(rule.severity),
    type: rule.resource_types[0],
    remediation: rule.remediation,
    compliance: rule.compliance,
  }));
  const resourceCount = Math.ceil(count / FINDINGS_PER_RESOURCE);
  const types = [...new Set(rules.map((r) => r.type))];

  let started = Date.now();
  await sql`
    with inserted as (
      insert into resources (id, organization_id, account_id, provider, type, native_id, region, name, tags, attributes, relationships,
        content_hash, version, version_recorded_at, first_seen_at, status)
      select ${idSql('res_01JC', sql.raw('n'))}, ${organizationId}, ${accountId}, 'aws', (${types}::text[])[1 + n % ${types.length}],
        'arn:aws:bench:::' || n, (${REGIONS}::text[])[1 + n % ${REGIONS.length}], 'bench-' || n,
        jsonb_build_object('env', (array['prod', 'prod', 'staging', 'dev'])[1 + n % 4], 'team', 'team-' || n % 8), '{}'::jsonb, '[]'::jsonb,
        md5(n::text), 1, ${AT}, ${AT}, 'active'
      from generate_series(1, ${resourceCount}::int) as n
      returning id
    )
    insert into resource_sightings (resource_id, organization_id, last_seen_at) select id, ${organizationId}, ${AT} from inserted`.execute(db);
  console.log(`seeded ${resourceCount} resources in ${seconds(started)} s`);

  // Finding n is on resource (n - 1) / 5 + 1; a resource's 5 findings are 5 consecutive rules
  // from a hashed start, so that no rule fails twice on one resource.
  started = Date.now();
  for (let from = 1; from <= count; from += CHUNK) {
    const to = Math.min(count, from + CHUNK - 1);
    await sql`
      with rules as (
        select (ordinality - 1)::int as idx, value ->> 'id' as rule_id, value ->> 'title' as title, value ->> 'description' as description,
          value ->> 'dimension' as dimension, value ->> 'severity' as severity, (value ->> 'rank')::smallint as severity_rank,
          value ->> 'type' as resource_type, value -> 'remediation' as remediation, value -> 'compliance' as compliance
        from jsonb_array_elements(${JSON.stringify(rules)}::jsonb) with ordinality
      ), f as (
        select n, (n - 1) / ${FINDINGS_PER_RESOURCE} + 1 as r, abs(hashint4(n)) % 100 as draw, abs(hashint4(n + 7919)) % 90 as age
        from generate_series(${from}::int, ${to}::int) as n
      ), s as (
        select f.*, case when draw < 65 then 'open' when draw < 90 then 'resolved' when draw < 95 then 'suppressed' else 'risk_accepted' end as status,
          ${AT}::timestamptz - make_interval(days => age) as first_seen
        from f
      )
      insert into findings (id, organization_id, fingerprint, rule_id, rule_version, resource_id, account_id, resource_type, region,
        title, description, dimension, severity, severity_rank, status, status_reason, expires_at, note, evidence, remediation,
        compliance, cost_monthly_usd, first_seen_at, first_audit_id, resolved_at)
      select ${idSql('fnd_01JD', sql.raw('s.n'))}, ${organizationId}, md5('bench|' || s.n), rules.rule_id, 1,
        ${idSql('res_01JC', sql.raw('s.r'))}, ${accountId}, rules.resource_type, (${REGIONS}::text[])[1 + s.r % ${REGIONS.length}],
        rules.title, rules.description, rules.dimension, rules.severity, rules.severity_rank, s.status,
        case s.status when 'resolved' then 'passed' when 'suppressed' then 'False positive: a test fixture.' when 'risk_accepted' then 'Migration planned.' end,
        case when s.status = 'risk_accepted' then timestamptz '2030-01-01T00:00:00Z' end, null,
        jsonb_build_array(jsonb_build_object('path', 'attributes.id', 'value', 'bench-' || s.r)), rules.remediation, rules.compliance,
        case when rules.dimension = 'cost' then (abs(hashint4(s.n + 104729)) % 50000) / 100.0 end,
        s.first_seen, ${auditId}, case when s.status = 'resolved' then ${AT}::timestamptz end
      from s join rules on rules.idx = (abs(hashint4(s.r)) + (s.n - 1) % ${FINDINGS_PER_RESOURCE}) % ${rules.length}`.execute(db);
    process.stdout.write(`\rseeded ${to} findings in ${seconds(started)} s`);
  }
  await sql`
    insert into finding_sightings (finding_id, organization_id, last_seen_at, last_audit_id, updated_at)
    select id, organization_id, case when status = 'resolved' then greatest(first_seen_at, ${AT}::timestamptz - interval '1 day') else ${AT}::timestamptz end, ${auditId}, ${AT}
    from findings`.execute(db);
  await sql`insert into audit_findings (audit_id, finding_id) select ${auditId}, id from findings where status <> 'resolved'`.execute(db);
  await sql`analyze resources`.execute(db);
  await sql`analyze findings`.execute(db);
  await sql`analyze audit_findings`.execute(db);
  await sql`analyze finding_sightings`.execute(db);
  console.log(`; audit_findings and ANALYZE done in ${seconds(started)} s`);

  const spread = await sql<{ severity: string; status: string; n: string }>`
    select severity, status, count(*) as n from findings group by rollup (severity, status) order by severity, status`.execute(db);
  const matching = await sql<{ n: string }>`select count(*) as n from findings where severity_rank in (3, 4) and status = 'open'`.execute(db);
  const bySeverity = spread.rows.filter((row) => row.severity !== null && row.status === null).map((row) => `${row.severity} ${row.n}`);
  console.log(`  by severity: ${bySeverity.join(', ')}; open high+critical (the listing): ${matching.rows[0]!.n}`);
}

