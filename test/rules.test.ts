import request from 'supertest';
import { loadCatalogue } from '../src/rules/catalogue';
import { as, useTestApp } from './support/app';
import { expectError } from './support/expectations';

const t = useTestApp();
let owner: string;
beforeAll(async () => {
  owner = await t.ownerToken();
});

async function ids(query: string): Promise<string[]> {
  const response = await request(t.app).get(`/v1/rules?${query}`).set(as(owner));
  expect(response.status).toBe(200);
  return response.body.data.map((rule: { id: string }) => rule.id);
}

/** Every page of a listing (the catalogue is larger than the largest page). */
async function allRules(query: string): Promise<Rule[]> {
  const rules: Rule[] = [];
  let cursor: string | null = null;
  do {
    const response: request.Response = await request(t.app).get(`/v1/rules?${query}&limit=200${cursor ? `&cursor=${cursor}` : ''}`).set(as(owner));
    expect(response.status).toBe(200);
    rules.push(...response.body.data);
    cursor = response.body.next_cursor;
    expect(response.body.has_more).toBe(cursor !== null);
  } while (cursor);
  return rules;
}

describe('GET /v1/rules', () => {
  it('lists the catalogue in id order', async () => {
    const response = await request(t.app).get('/v1/rules?limit=200').set(as(owner));
    expect(response.status).toBe(200);
    const firstPage: string[] = response.body.data.map((rule: { id: string }) => rule.id);
    expect(firstPage).toHaveLength(200);
    const listed = (await allRules('')).map((r) => r.id);
    expect(listed.length).toBeGreaterThanOrEqual(60);
    expect(listed).toEqual([...listed].sort());
    expect(listed.slice(0, 200)).toEqual(firstPage);
    expect(listed).toEqual((await loadCatalogue()).rules.map(({ rule }) => rule.id));
    // allRules checked every page's has_more against its cursor, down to a last page with next_cursor null.
    expect(response.body.has_more).toBe(listed.length > 200);
  });

  it.each([
    ['dimension=cost', (r: Rule) => r.dimension === 'cost'],
    ['severity=critical', (r: Rule) => r.severity === 'critical'],
    ['provider=gcp', (r: Rule) => r.provider === 'gcp'],
    ['resource_type=aws_db_instance', (r: Rule) => r.resource_types.includes('aws_db_instance')],
    ['framework=cis_aws_foundations', (r: Rule) => r.compliance.cis_aws_foundations.length > 0],
    ['provider=aws&dimension=architecture&severity=medium', (r: Rule) => r.provider === 'aws' && r.dimension === 'architecture' && r.severity === 'medium'],
  ])('filters: %s', async (query, matches) => {
    const all = await allRules('');
    const expected = all.filter(matches).map((r) => r.id);
    expect(expected.length).toBeGreaterThan(0);
    expect((await allRules(query)).map((r) => r.id)).toEqual(expected);
  });

  it('lists the catalogue the issue asks for per cloud: 200+ AWS, 50+ Azure, 50+ GCP rules, 40+ cost rules', async () => {
    const count = async (query: string) => new Set((await allRules(query)).map((r) => r.id)).size;
    expect(await count('provider=aws')).toBeGreaterThanOrEqual(200);
    expect(await count('provider=azure')).toBeGreaterThanOrEqual(50);
    expect(await count('provider=gcp')).toBeGreaterThanOrEqual(50);
    expect(await count('dimension=cost')).toBeGreaterThanOrEqual(40);
    expect(await count('')).toBeGreaterThanOrEqual(300);
  });

  it('includes the publicly-accessible-database rule among the database rules', async () => {
    const listed = await ids('resource_type=aws_db_instance&dimension=security');
    const { rules } = await loadCatalogue();
    expect(listed).toEqual(rules.filter(({ rule }) => rule.dimension === 'security' && rule.resource_types.includes('aws_db_instance')).map(({ rule }) => rule.id));
    expect(listed).toEqual(expect.arrayContaining(['aws.rds.publicly_accessible', 'aws.rds.storage_unencrypted']));
  });

  it('pages with a cursor bound to the filters', async () => {
    const all = await ids('dimension=security&limit=200');
    const first = await request(t.app).get('/v1/rules?dimension=security&limit=10').set(as(owner));
    expect(first.body).toMatchObject({ has_more: true, next_cursor: expect.any(String) });
    const second = await request(t.app).get(`/v1/rules?dimension=security&limit=10&cursor=${first.body.next_cursor}`).set(as(owner));
    expect(second.body.data.map((r: Rule) => r.id)).toEqual(all.slice(10, 20));
    expectError(await request(t.app).get(`/v1/rules?dimension=cost&limit=10&cursor=${first.body.next_cursor}`).set(as(owner)), 400, 'invalid_cursor');
    expectError(await request(t.app).get('/v1/rules?cursor=bm90LWEtY3Vyc29y').set(as(owner)), 400, 'invalid_cursor');
  });

  it('refuses an unknown filter value', async () => {
    expectError(await request(t.app).get('/v1/rules?dimension=speed').set(as(owner)), 422, 'validation_failed');
  });

  it('answers a comma list, which the filters do not take, with the allowed values', async () => {
    const response = await request(t.app).get('/v1/rules?severity=high,critical').set(as(owner));
    expectError(response, 422, 'validation_failed');
    expect(response.body.error.details[0]).toMatchObject({ field: 'query.severity', issue: expect.stringContaining('allowed values') });
  });

  it('needs policies:read', async () => {
    const { secret } = await t.createPat(owner, ['findings:read']);
    expectError(await request(t.app).get('/v1/rules').set(as(secret)), 403, 'insufficient_scope');
    const { secret: reader } = await t.createPat(owner, ['policies:read']);
    expect((await request(t.app).get('/v1/rules').set(as(reader))).status).toBe(200);
    expectError(await request(t.app).get('/v1/rules'), 401, 'unauthenticated');
  });
});

describe('GET /v1/rules/{id}', () => {
  it('answers one rule with every field', async () => {
    const response = await request(t.app).get('/v1/rules/aws.ec2.ebs_volume_unattached').set(as(owner));
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      id: 'aws.ec2.ebs_volume_unattached',
      dimension: 'cost',
      provider: 'aws',
      resource_types: ['aws_ebs_volume'],
      compliance: { cis_aws_foundations: [], aws_fsbp: [], cis_azure_foundations: [], cis_gcp_foundations: [], soc2: [], pci_dss: [] },
      cost: { monthly_usd: expect.stringContaining('attributes.size'), assumptions: expect.stringContaining('gp3') },
      catalogue_version: expect.stringMatching(/^[0-9a-f]{12}$/),
    });
    const security = await request(t.app).get('/v1/rules/aws.rds.publicly_accessible').set(as(owner));
    expect(security.body).toMatchObject({ cost: null, compliance: { cis_aws_foundations: ['2.3.3'] } });
  });

  it('answers 404 for an unknown rule', async () => {
    expectError(await request(t.app).get('/v1/rules/aws.s3.no_such_rule').set(as(owner)), 404, 'not_found');
  });
});

interface Rule {
  id: string;
  dimension: string;
  severity: string;
  provider: string;
  resource_types: string[];
  compliance: { cis_aws_foundations: string[]; soc2: string[]; pci_dss: string[] };
}
