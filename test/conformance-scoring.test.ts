import {
  MappingError,
  contradictedExpectations,
  contradictionKey,
  emptyTally,
  explainDisagreements,
  validateDisagreementNotes,
  planContentKey,
  withContradicted,
  precisionOf,
  problemKind,
  recallOf,
  scoreExpectation,
  validateMappings,
  type Disagreement,
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
    const tally = { ...emptyTally(), TP: 3, FN: 1, FP: 1, TN: 5 };
    expect(recallOf(tally)).toBe(0.75);
    expect(precisionOf(tally)).toBe(0.75);
    expect(recallOf({ ...tally, TP: 0, FN: 0 })).toBeNull();
  });

  it('scores the contradicted expectations apart, and with them on demand', () => {
    const tally = { ...emptyTally(), TP: 3, FN: 1, contradicted: 2, contradicted_scores: { TP: 0, FN: 1, FP: 1, TN: 0 } };
    expect(recallOf(tally)).toBe(0.75);
    expect(recallOf(withContradicted(tally))).toBe(0.6);
    expect(precisionOf(withContradicted(tally))).toBe(0.75);
  });
});

describe('conformance scoring: contradicted labels', () => {
  const plan = (attrs: object, timestamp = '2024-01-01T00:00:00Z') => ({ format_version: '1.2', timestamp, planned_values: { root_module: { resources: [{ address: 'a', values: attrs }] } } });

  it('keys a plan by its content: key order and the timestamp do not matter, a value does', () => {
    expect(planContentKey(plan({ x: 1, y: 2 }))).toBe(planContentKey({ ...plan({ y: 2, x: 1 }, '2025-05-05T00:00:00Z') }));
    expect(planContentKey(plan({ x: 1 }))).not.toBe(planContentKey(plan({ x: 2 })));
    const relevant = (...items: string[]) => ({ ...plan({ x: 1 }), relevant_attributes: items.map((resource) => ({ resource, attribute: ['id'] })) });
    expect(planContentKey(relevant('a', 'b'))).toBe(planContentKey(relevant('b', 'a')));
    expect(planContentKey(relevant('a', 'b'))).not.toBe(planContentKey(relevant('a', 'c')));
  });

  it('leaves out both sides of opposite verdicts on the same plan, and nothing else', () => {
    const same = planContentKey(plan({ x: 1 }));
    const other = planContentKey(plan({ x: 2 }));
    const contradicted = contradictedExpectations([
      { id: 'f1', plan: same, expect: [fixtureExpect('fail'), { ...fixtureExpect('pass'), check: 'peer:other' }] },
      { id: 'f2', plan: same, expect: [fixtureExpect('pass'), { ...fixtureExpect('pass'), check: 'peer:other' }] },
      { id: 'f3', plan: other, expect: [fixtureExpect('fail')] },
      { id: 'f4', plan: same, expect: [resourceExpect('aws_s3_bucket.a', 'fail')] },
      { id: 'f5', plan: same, expect: [resourceExpect('aws_s3_bucket.b', 'pass')] },
    ]);
    expect([...contradicted.keys()].sort()).toEqual(['f1', 'f2']);
    expect(contradicted.get('f1')).toEqual(new Set([contradictionKey(fixtureExpect('fail'))]));
    expect(contradicted.get('f2')?.has(contradictionKey({ ...fixtureExpect('pass'), check: 'peer:other' }))).toBe(false);
  });

  it('groups import problems that differ only in names and numbers', () => {
    expect(problemKind('unsupported `terraform show -json` format_version "0.1": fourfold reads format 1.x')).toBe(
      problemKind('unsupported `terraform show -json` format_version "0.2": fourfold reads format 1.x'),
    );
  });
});

describe('conformance scoring: explained disagreements', () => {
  const known = { peerChecks: new Set(['peer:check']), fixtures: new Set(['f1', 'f2', 'f3']) };
  const note = { peer: 'peer:check', fixture: 'f1', classification: 'FN', cause: 'peer_label', reason: 'the plan says delete_protection = true' };
  const disagreement = (fixture: string, classification: 'FN' | 'FP', address: string | null = null): Disagreement => ({
    fixture,
    contradicted: false,
    verdict: { check: 'peer:check', scope: address === null ? 'fixture' : 'resource', address, peer: classification === 'FN' ? 'fail' : 'pass', fourfold: classification === 'FN' ? 'pass' : 'fail', classification, findings: [] },
  });

  it('accepts a valid note, with an address for a resource-scope verdict', () => {
    expect(validateDisagreementNotes({ disagreements: [note, { ...note, fixture: 'f2', address: 'aws_s3_bucket.a' }] }, known)).toEqual([note, { ...note, fixture: 'f2', address: 'aws_s3_bucket.a' }]);
  });

  it.each([
    [{ ...note, peer: 'peer:nope' }, /disagreements\[0\] \(peer:nope on f1\): unknown peer check/],
    [{ ...note, fixture: 'f9' }, /unknown fixture/],
    [{ ...note, classification: 'TP' }, /"classification" must be FN or FP/],
    [{ ...note, cause: 'because' }, /bad cause "because"/],
    [{ ...note, reason: ' ' }, /"reason"/],
    [{ ...note, address: '' }, /"address"/],
    [{ ...note, verdict: 'pass' }, /unknown field verdict/],
  ])('rejects a bad note, naming it: %#', (entry, message) => {
    expect(() => validateDisagreementNotes({ disagreements: [entry] }, known)).toThrow(MappingError);
    expect(() => validateDisagreementNotes({ disagreements: [entry] }, known)).toThrow(message);
  });

  it('rejects a note given twice and a file without notes', () => {
    expect(() => validateDisagreementNotes({ disagreements: [note, note] }, known)).toThrow(/disagreements\[1\].*noted twice/);
    expect(() => validateDisagreementNotes({ mappings: [] }, known)).toThrow(MappingError);
  });

  it('explains a disagreement only by a note of the same check, subject and classification, and reports stale notes', () => {
    const notes = validateDisagreementNotes(
      { disagreements: [note, { ...note, fixture: 'f2', classification: 'FP' }, { ...note, fixture: 'f3', address: 'aws_s3_bucket.a' }, { ...note, fixture: 'f3' }] },
      known,
    );
    const f1 = disagreement('f1', 'FN');
    const f2 = disagreement('f2', 'FN');
    const f3 = disagreement('f3', 'FN', 'aws_s3_bucket.a');
    const result = explainDisagreements([f1, f2, f3], notes);
    expect(result.explained.map(({ disagreement: d, note: n }) => [d.fixture, n.cause])).toEqual([
      ['f1', 'peer_label'],
      ['f3', 'peer_label'],
    ]);
    // f2's note is for an FP: the FN it became is unexplained, and the note is stale.
    expect(result.unexplained).toEqual([f2]);
    expect(result.stale.map((n) => [n.fixture, n.classification, n.address ?? null])).toEqual([
      ['f2', 'FP', null],
      ['f3', 'FN', null],
    ]);
  });
});
