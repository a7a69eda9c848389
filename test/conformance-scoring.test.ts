import {
  MappingError,
  precisionOf,
  problemKind,
  recallOf,
  scoreExpectation,
  validateMappings,
  type Expectation,
  type FixtureResults,
  type Mapping,
  type Mode,
} from '../scripts/conformance-scoring';

const mapping = (mode: Mode, fourfold = 'aws.s3.rule', types = ['aws_s3_bucket']): Mapping => ({ peer: 'peer:check', fourfold, mode, types, why: 'test' });
const fixtureExpect = (result: 'pass' | 'fail'): Expectation => ({ check: 'peer:check', scope: 'fixture', result });
const resourceExpect = (address: string, result: 'pass' | 'fail'): Expectation => ({ check: 'peer:check', scope: 'resource', address, result });

const resources = new Map([
  ['aws_s3_bucket.a', 'aws_s3_bucket'],
  ['aws_s3_bucket.b', 'aws_s3_bucket'],
  ['aws_s3_bucket_policy.p', 'aws_s3_bucket_policy'],
]);
const failingOn = (...fails: [rule: string, address: string][]): FixtureResults => ({
  resources,
  findings: fails.map(([rule, address]) => ({ rule, address, type: resources.get(address) ?? '', evidence: [] })),
});
const none = failingOn();
const failA = failingOn(['aws.s3.rule', 'aws_s3_bucket.a']);

describe('conformance scoring: modes (fixture scope)', () => {
  it.each([
    ['equivalent', 'fail', failA, 'TP'],
    ['equivalent', 'fail', none, 'FN'],
    ['equivalent', 'pass', failA, 'FP'],
    ['equivalent', 'pass', none, 'TN'],
    ['peer_fail_implies', 'fail', failA, 'TP'],
    ['peer_fail_implies', 'fail', none, 'FN'],
    ['peer_fail_implies', 'pass', failA, 'ignored'],
    ['peer_fail_implies', 'pass', none, 'ignored'],
    ['fourfold_fail_implies', 'fail', failA, 'TP'],
    ['fourfold_fail_implies', 'fail', none, 'ignored'],
    ['fourfold_fail_implies', 'pass', failA, 'FP'],
    ['fourfold_fail_implies', 'pass', none, 'ignored'],
  ] as const)('%s, peer %s → %#', (mode, peer, results, expected) => {
    expect(scoreExpectation(fixtureExpect(peer), [mapping(mode)], results).classification).toBe(expected);
  });

  it('counts only fails on the mapping types, and leaves out a plan with none of them', () => {
    const onPolicy = failingOn(['aws.s3.rule', 'aws_s3_bucket_policy.p']);
    expect(scoreExpectation(fixtureExpect('fail'), [mapping('equivalent')], onPolicy).classification).toBe('FN');
    const noBucket: FixtureResults = { resources: new Map([['aws_s3_bucket_policy.p', 'aws_s3_bucket_policy']]), findings: [] };
    expect(scoreExpectation(fixtureExpect('fail'), [mapping('equivalent')], noBucket).classification).toBe('no_subject');
  });

  it('ignores fails of rules that are not mapped to the check', () => {
    expect(scoreExpectation(fixtureExpect('pass'), [mapping('equivalent')], failingOn(['aws.s3.other', 'aws_s3_bucket.a'])).classification).toBe('TN');
  });
});

describe('conformance scoring: resource scope', () => {
  it('judges the resource at the address only', () => {
    const [m] = [mapping('equivalent')];
    expect(scoreExpectation(resourceExpect('aws_s3_bucket.a', 'fail'), [m], failA)).toMatchObject({ classification: 'TP', address: 'aws_s3_bucket.a', fourfold: 'fail' });
    expect(scoreExpectation(resourceExpect('aws_s3_bucket.b', 'pass'), [m], failA)).toMatchObject({ classification: 'TN', fourfold: 'pass' });
    expect(scoreExpectation(resourceExpect('aws_s3_bucket.b', 'fail'), [m], failA).classification).toBe('FN');
    expect(scoreExpectation(resourceExpect('aws_s3_bucket.a', 'pass'), [m], failA).classification).toBe('FP');
  });

  it('applies the modes per resource', () => {
    expect(scoreExpectation(resourceExpect('aws_s3_bucket.a', 'pass'), [mapping('peer_fail_implies')], failA).classification).toBe('ignored');
    expect(scoreExpectation(resourceExpect('aws_s3_bucket.b', 'fail'), [mapping('fourfold_fail_implies')], failA).classification).toBe('ignored');
    expect(scoreExpectation(resourceExpect('aws_s3_bucket.a', 'pass'), [mapping('fourfold_fail_implies')], failA).classification).toBe('FP');
  });

  it('keeps the findings that made the verdict, with their evidence', () => {
    const results: FixtureResults = { resources, findings: [{ rule: 'aws.s3.rule', address: 'aws_s3_bucket.a', type: 'aws_s3_bucket', evidence: [{ path: 'attributes.acl', value: 'public-read' }] }] };
    expect(scoreExpectation(resourceExpect('aws_s3_bucket.a', 'fail'), [mapping('equivalent')], results).findings).toEqual(results.findings);
  });
});

describe('conformance scoring: several rules for one peer check', () => {
  const narrowA = mapping('fourfold_fail_implies', 'aws.s3.a');
  const narrowB = mapping('fourfold_fail_implies', 'aws.s3.b');
  const broad = mapping('peer_fail_implies', 'aws.s3.broad');

  it('fails the check when any mapped rule fails', () => {
    expect(scoreExpectation(fixtureExpect('fail'), [narrowA, narrowB], failingOn(['aws.s3.b', 'aws_s3_bucket.b'])).classification).toBe('TP');
  });

  it('counts a missed peer fail only when some mapping claims to cover the peer', () => {
    expect(scoreExpectation(fixtureExpect('fail'), [narrowA, narrowB], none).classification).toBe('ignored');
    expect(scoreExpectation(fixtureExpect('fail'), [narrowA, broad], none).classification).toBe('FN');
  });

  it('counts a fail on a peer pass only from a rule that claims to imply the peer', () => {
    expect(scoreExpectation(fixtureExpect('pass'), [narrowA, broad], failingOn(['aws.s3.broad', 'aws_s3_bucket.a'])).classification).toBe('ignored');
    expect(scoreExpectation(fixtureExpect('pass'), [narrowA, broad], failingOn(['aws.s3.a', 'aws_s3_bucket.a'])).classification).toBe('FP');
  });

  it('counts a true negative only with an equivalent mapping', () => {
    expect(scoreExpectation(fixtureExpect('pass'), [narrowA, broad], none).classification).toBe('ignored');
    expect(scoreExpectation(fixtureExpect('pass'), [narrowA, mapping('equivalent', 'aws.s3.eq')], none).classification).toBe('TN');
  });
});

describe('conformance scoring: mapping file and figures', () => {
  const known = { peerChecks: new Set(['peer:check']), ruleIds: new Set(['aws.s3.rule']), ruleTypes: new Map([['aws.s3.rule', ['aws_s3_bucket']]]) };
  const valid = { peer: 'peer:check', fourfold: 'aws.s3.rule', mode: 'equivalent', types: ['aws_s3_bucket'], why: 'same attribute' };

  it('accepts a valid mapping', () => {
    expect(validateMappings({ mappings: [valid] }, known)).toEqual([valid]);
  });

  it.each([
    [{ ...valid, peer: 'peer:nope' }, /mappings\[0\] \(peer:nope → aws\.s3\.rule\): unknown peer check "peer:nope"/],
    [{ ...valid, fourfold: 'aws.s3.nope' }, /unknown fourfold rule "aws\.s3\.nope"/],
    [{ ...valid, mode: 'roughly' }, /bad mode "roughly"/],
    [{ ...valid, types: [] }, /"types"/],
    [{ ...valid, types: ['aws_s3_bucket_policy'] }, /does not apply to aws_s3_bucket_policy/],
    [{ ...valid, why: '' }, /"why"/],
    [{ ...valid, note: 'x' }, /unknown field note/],
  ])('rejects a bad entry, naming it: %#', (entry, message) => {
    expect(() => validateMappings({ mappings: [entry] }, known)).toThrow(MappingError);
    expect(() => validateMappings({ mappings: [entry] }, known)).toThrow(message);
  });

  it('rejects a pair mapped twice and a file without mappings', () => {
    expect(() => validateMappings({ mappings: [valid, valid] }, known)).toThrow(/mappings\[1\].*mapped twice/);
    expect(() => validateMappings([], known)).toThrow(MappingError);
  });

  it('computes recall and precision, null without a denominator', () => {
    const tally = { TP: 3, FN: 1, FP: 1, TN: 5, ignored: 0, no_subject: 0, refused: 0 };
    expect(recallOf(tally)).toBe(0.75);
    expect(precisionOf(tally)).toBe(0.75);
    expect(recallOf({ ...tally, TP: 0, FN: 0 })).toBeNull();
  });

  it('groups import problems that differ only in names and numbers', () => {
    expect(problemKind('unsupported `terraform show -json` format_version "0.1": fourfold reads format 1.x')).toBe(
      problemKind('unsupported `terraform show -json` format_version "0.2": fourfold reads format 1.x'),
    );
  });
});
