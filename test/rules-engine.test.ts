import { InvalidExpressionError, loadCelEngine, type CelEngine } from '../src/rules/cel-engine';
import { cidrContains, isWorldOpen, portSpecIncludes } from '../src/rules/network';
import { ResourceGraph } from '../src/rules/resource-graph';
import type { RuleDefinition } from '../src/rules/rule-definition';
import { compileRule, evaluateRule, type RuleResource } from '../src/rules/rule-evaluation';

const NOW = new Date('2026-11-26T00:00:00Z');
let engine: CelEngine;
beforeAll(async () => {
  engine = await loadCelEngine();
});

function resource(attributes: Record<string, unknown>, extra: Partial<RuleResource> = {}): RuleResource {
  return { id: null, type: 'aws_s3_bucket', provider: 'aws', native_id: 'arn:aws:s3:::b', region: null, name: null, tags: {}, attributes, relationships: [], ...extra };
}

function rule(condition: string, extra: Partial<RuleDefinition> = {}): RuleDefinition {
  return {
    id: 'aws.test.rule', version: 1, title: 't', description: 'd', dimension: 'security', severity: 'low', provider: 'aws',
    resource_types: ['aws_s3_bucket'], condition, evidence: ['attributes.acl', 'attributes.versioning[0].enabled'],
    remediation: { text: 'r', terraform: null }, references: ['https://example.com'], compliance: { cis_aws_foundations: [], aws_fsbp: [], cis_azure_foundations: [], cis_gcp_foundations: [], soc2: [], pci_dss: [] }, cost: null, ...extra,
  };
}

function evaluate(condition: string, subject: RuleResource, context: Partial<{ related: RuleResource[]; referencedBy: RuleResource[] }> = {}) {
  return evaluateRule(compileRule(engine, rule(condition)), subject, { related: [], referencedBy: [], now: NOW, ...context });
}

describe('network helpers', () => {
  it.each([
    ['0.0.0.0/0', '10.1.2.3', true],
    ['10.0.0.0/8', '10.1.2.0/24', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['10.0.0.0/24', '10.0.0.0/8', false],
    ['::/0', '2001:db8::1', true],
    ['2001:db8::/32', '2001:db8:ffff::/48', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['0.0.0.0/0', '::1', false],
    ['not-a-cidr', '10.0.0.1', false],
    ['10.0.0.0/33', '10.0.0.1', false],
  ])('cidrContains(%s, %s) is %s', (outer, inner, expected) => {
    expect(cidrContains(outer, inner)).toBe(expected);
  });

  it.each([
    ['0.0.0.0/0', true], ['::/0', true], ['0:0:0:0:0:0:0:0/0', true], ['*', true], ['Internet', true], ['Any', true],
    ['0.0.0.0/1', false], ['10.0.0.0/8', false], ['VirtualNetwork', false], ['', false],
  ])('isWorldOpen(%s) is %s', (source, expected) => {
    expect(isWorldOpen(source)).toBe(expected);
  });

  it.each([
    ['22', 22, true], ['20-30', 22, true], ['23-30', 22, false], ['*', 3389, true], [[], 22, true], [['80', '443'], 22, false], [['80', '1-1024'], 22, true], [null, 22, false],
  ])('portSpecIncludes(%j, %d) is %s', (spec, port, expected) => {
    expect(portSpecIncludes(spec, port)).toBe(expected);
  });
});

describe('evaluating a condition', () => {
  it('fails when the condition is true, with the evidence paths and their values (missing → null)', () => {
    expect(evaluate("resource.attributes.acl == 'public-read'", resource({ acl: 'public-read' }))).toEqual({
      outcome: 'fail',
      evidence: [{ path: 'attributes.acl', value: 'public-read' }, { path: 'attributes.versioning[0].enabled', value: null }],
      monthly_usd: null,
    });
    expect(evaluate("resource.attributes.acl == 'public-read'", resource({ acl: 'private' }))).toEqual({ outcome: 'pass' });
  });

  it('reads nested blocks with attr() and its default', () => {
    const condition = "!attr(resource, 'attributes.versioning[0].enabled', false)";
    expect(evaluate(condition, resource({ versioning: [{ enabled: true }] })).outcome).toBe('pass');
    expect(evaluate(condition, resource({ versioning: [] })).outcome).toBe('fail');
    expect(evaluate(condition, resource({ versioning: [{ enabled: null }] })).outcome).toBe('fail');
  });

  it('measures ages from the audit time, not the clock', () => {
    const condition = "daysBetween(resource.attributes.created, now) > 90.0";
    expect(evaluate(condition, resource({ created: '2026-08-27T23:00:00Z' })).outcome).toBe('fail');
    expect(evaluate(condition, resource({ created: '2026-08-28T01:00:00Z' })).outcome).toBe('pass');
    expect(evaluate("now - timestamp(resource.attributes.created) > duration('2160h')", resource({ created: '2026-08-27T23:00:00Z' })).outcome).toBe('fail');
    expect(evaluate('daysBetween(now, resource.attributes.not_after) < 30.0', resource({ not_after: 'soon' }))).toEqual({ outcome: 'error', message: expect.stringContaining('not a timestamp') });
  });

  it('sees related and referencing resources', () => {
    const volume = resource({}, { type: 'aws_ebs_volume', native_id: 'vol-1' });
    const attachment = resource({}, { type: 'aws_volume_attachment', native_id: 'att-1', relationships: [{ type: 'attached_to', resource_native_id: 'vol-1' }] });
    const graph = new ResourceGraph([volume, attachment]);
    const compiled = compileRule(engine, rule("!referenced_by.exists(r, r.type == 'aws_volume_attachment')"));
    expect(evaluateRule(compiled, volume, graph.contextOf(volume, NOW)).outcome).toBe('pass');
    expect(graph.contextOf(attachment, NOW).related).toEqual([volume]);
    expect(evaluateRule(compiled, volume, { related: [], referencedBy: [], now: NOW }).outcome).toBe('fail');
  });

  it('answers runtime errors as an error outcome instead of throwing', () => {
    expect(evaluate('resource.attributes.missing.deeper == 1', resource({}))).toEqual({ outcome: 'error', message: 'No such key: missing' });
    expect(evaluate("parseJson(resource.attributes.policy).Statement.size() > 0", resource({ policy: '{not json' })).outcome).toBe('error');
    expect(evaluate('resource.attributes.flag', resource({ flag: 'yes' }))).toEqual({ outcome: 'error', message: 'the condition evaluated to a string, not a bool' });
  });

  it('estimates the monthly cost of a failing cost rule', () => {
    const compiled = compileRule(engine, rule('true', { dimension: 'cost', cost: { monthly_usd: 'double(resource.attributes.size) * 0.08', assumptions: 'gp3' } }));
    expect(evaluateRule(compiled, resource({ size: 125 }), { related: [], referencedBy: [], now: NOW })).toMatchObject({ outcome: 'fail', monthly_usd: 10 });
    expect(evaluateRule(compiled, resource({}), { related: [], referencedBy: [], now: NOW })).toMatchObject({ outcome: 'fail', monthly_usd: null });
  });

  it('runs a compiled expression many times without compiling again', () => {
    const compiled = engine.compileCondition("resource.attributes.n > 1");
    const spy = jest.spyOn(engine, 'compileCondition');
    for (const n of [0, 2, 3]) compiled.run({ resource: { attributes: { n } }, related: [], referenced_by: [], account_defaults: {}, now: NOW });
    expect(spy).not.toHaveBeenCalled();
    expect(compiled.run({ resource: { attributes: { n: 2 } }, related: [], referenced_by: [], account_defaults: {}, now: NOW })).toBe(true);
  });
});

describe('compiling', () => {
  const compileError = (source: string): InvalidExpressionError => {
    try {
      engine.compileCondition(source);
    } catch (error) {
      if (error instanceof InvalidExpressionError) return error;
      throw error;
    }
    throw new Error(`compiled: ${source}`);
  };

  it('reports syntax errors with line and column', () => {
    const error = compileError("resource.type == 'aws_s3_bucket' &&\n  resource.attributes.acl ==");
    expect({ line: error.line, column: error.column }).toEqual({ line: 2, column: 29 });
    expect(error.reason).toMatch(/unexpected/i);
  });

  it('reports unknown variables and functions with their position', () => {
    expect(compileError('resource.tags.env == "prod" && nope.x')).toMatchObject({ line: 1, column: 32, reason: 'Unknown variable: nope' });
    expect(compileError('\nundefinedFn(resource)')).toMatchObject({ line: 2, column: 1 });
  });

  it('requires a bool condition and a numeric cost', () => {
    expect(compileError("'text'").reason).toContain('must evaluate to bool');
    expect(() => engine.compileExpression('1.5 * 2.0', 'double')).not.toThrow();
    expect(() => engine.compileExpression("'x'", 'double')).toThrow(InvalidExpressionError);
  });

  it('bounds the size and nesting of expressions, and leaves regular expressions out', () => {
    expect(compileError(`resource.name == '${'x'.repeat(5000)}'`).reason).toContain('at most 4096');
    expect(compileError(Array.from({ length: 400 }, (_, i) => `resource.attributes.a${i} == 1`).join(' || ').slice(0, 4000)).reason).toMatch(/maxAstNodes|Exceeded/);
    expect(compileError('related.exists(a, related.exists(b, related.exists(c, related.exists(d, true))))').reason).toContain('nest at most 3');
    expect(compileError("resource.name.matches('(a+)+$')")).toMatchObject({ line: 1, column: 1, reason: expect.stringContaining('regular expressions') });
    expect(compileError('  ').reason).toBe('the expression is empty');
  });
});

describe('three-valued results', () => {
  const evaluate = (condition: string, subject: RuleResource, context: Partial<Parameters<typeof evaluateRule>[2]> = {}) =>
    evaluateRule(compileRule(engine, rule(condition)), subject, { related: [], referencedBy: [], now: NOW, ...context });

  it('is unknown, with the paths read, when attr() reads a value known only after apply (the path, below it, or above it)', () => {
    const bucket = resource({ versioning: [{ mfa_delete: false }] }, { unknown_paths: ['versioning[0].enabled'] });
    expect(evaluate("!attr(resource, 'attributes.versioning[0].enabled', false)", bucket)).toEqual({ outcome: 'unknown', unknown_paths: ['versioning[0].enabled'] });
    expect(evaluate("size(attr(resource, 'attributes.versioning', [])) == 0", bucket)).toEqual({ outcome: 'unknown', unknown_paths: ['versioning[0].enabled'] });
    const whole = resource({}, { unknown_paths: ['versioning'] });
    expect(evaluate("!attr(resource, 'attributes.versioning[0].enabled', false)", whole)).toEqual({ outcome: 'unknown', unknown_paths: ['versioning'] });
    // Other attributes stay known.
    expect(evaluate("attr(resource, 'attributes.acl', 'private') == 'public-read'", bucket)).toEqual({ outcome: 'pass' });
  });

  it('lets a known branch of || or && decide despite an unknown one (the library absorbs errors there)', () => {
    const bucket = resource({ acl: 'public-read' }, { unknown_paths: ['versioning'] });
    expect(evaluate("attr(resource, 'attributes.versioning[0].enabled', false) || attr(resource, 'attributes.acl', '') == 'public-read'", bucket)).toMatchObject({ outcome: 'fail' });
    expect(evaluate("attr(resource, 'attributes.acl', '') == 'private' && !attr(resource, 'attributes.versioning[0].enabled', false)", bucket)).toEqual({ outcome: 'pass' });
    expect(evaluate("attr(resource, 'attributes.acl', '') == 'public-read' && !attr(resource, 'attributes.versioning[0].enabled', false)", bucket)).toMatchObject({ outcome: 'unknown' });
  });

  it('reads the items of a list with items(): an unknown inside one item leaves the count and the other fields decided', () => {
    const distribution = resource(
      { origin: [{ custom_origin_config: [{ origin_ssl_protocols: ['TLSv1.2'] }] }, { custom_origin_config: [{ origin_ssl_protocols: ['SSLv3'] }] }] },
      { unknown_paths: ['origin[0].domain_name', 'origin[1].custom_origin_config[0].origin_ssl_protocols'] },
    );
    // attr() on the list itself holds the unknowns below it.
    expect(evaluate("size(attr(resource, 'attributes.origin', [])) == 2", distribution)).toMatchObject({ outcome: 'unknown' });
    expect(evaluate("size(items(resource, 'attributes.origin')) == 2", distribution)).toMatchObject({ outcome: 'fail' });
    expect(evaluate("items(resource, 'attributes.origin').exists(o, attr(o, 'custom_origin_config[0].origin_ssl_protocols', []) == ['TLSv1.2'])", distribution)).toMatchObject({ outcome: 'fail' });
    // What an item holds unknown stays unknown, reported as the resource's path; one that is another resource's is qualified.
    expect(evaluate("items(resource, 'attributes.origin').exists(o, attr(o, 'domain_name', '') == 'x')", distribution)).toEqual({ outcome: 'unknown', unknown_paths: ['origin[0].domain_name'] });
    const holder = { ...resource({ rule: [{ priority: 1 }] }, { unknown_paths: ['rule[0].rule_id'] }), type: 'aws_waf_web_acl', native_id: 'acl1' };
    expect(evaluate("referenced_by.exists(r, items(r, 'attributes.rule').exists(i, attr(i, 'rule_id', '') == ''))", resource({}), { referencedBy: [holder] })).toEqual({
      outcome: 'unknown',
      unknown_paths: ['aws_waf_web_acl[acl1].rule[0].rule_id'],
    });
    // The list, what holds it, or a whole item unknown: how many there are is unknown.
    for (const unknownPath of ['origin', 'origin[1]']) {
      expect(evaluate("size(items(resource, 'attributes.origin')) == 0", { ...distribution, unknown_paths: [unknownPath] })).toEqual({ outcome: 'unknown', unknown_paths: [unknownPath] });
    }
    expect(evaluate("size(items(resource, 'attributes.origin')) == 0", resource({}))).toMatchObject({ outcome: 'fail' });
  });

  it('makes a required attribute (attr without a default) unknown when it is missing', () => {
    expect(evaluate("daysBetween(attr(resource, 'attributes.create_date'), now) > 90.0", resource({}))).toEqual({ outcome: 'unknown', unknown_paths: ['create_date'] });
  });

  it('is unknown when a related resource holds the unknown value, naming it', () => {
    const versioning: RuleResource = { ...resource({}, { unknown_paths: ['versioning_configuration'] }), type: 'aws_s3_bucket_versioning', native_id: 'v1' };
    const outcome = evaluate("!referenced_by.exists(r, r.type == 'aws_s3_bucket_versioning' && attr(r, 'attributes.versioning_configuration[0].status', '') == 'Enabled')", resource({}), {
      referencedBy: [versioning],
    });
    expect(outcome).toEqual({ outcome: 'unknown', unknown_paths: ['aws_s3_bucket_versioning[v1].versioning_configuration'] });
  });

  it('shows account-wide settings of the same account through account_defaults', () => {
    const block: RuleResource = { ...resource({ block_public_acls: true }), type: 'aws_s3_account_public_access_block', native_id: 'pab', account_id: 'acc_1' };
    const bucket: RuleResource = { ...resource({}), native_id: 'b1', account_id: 'acc_1' };
    const elsewhere: RuleResource = { ...resource({}), native_id: 'b2', account_id: 'acc_2' };
    const graph = new ResourceGraph([block, bucket, elsewhere]);
    const condition = "!account_defaults.aws_s3_account_public_access_block.exists(b, attr(b, 'attributes.block_public_acls', false)) && size(account_defaults.aws_guardduty_detector) == 0";
    expect(evaluate(condition, bucket, graph.contextOf(bucket, NOW))).toEqual({ outcome: 'pass' });
    expect(evaluate(condition, elsewhere, graph.contextOf(elsewhere, NOW))).toMatchObject({ outcome: 'fail' });
    expect(graph.contextOf(bucket, NOW).accountDefaults).toBe(graph.contextOf(block, NOW).accountDefaults);
  });
});
