import { assessCompliance, percent, type AuditBasis, type ControlMapping } from '../src/compliance/compliance.service';

// A catalogue small enough to work out by hand: framework cis_aws_foundations with controls
// A (rules r1, r2), B (rule r3), C (rule r4), D (no rule); soc2 with control S (rules r1, r3).
const mapping: ControlMapping = {
  version: 'cafe00000000',
  frameworks: [
    { id: 'cis_aws_foundations', name: 'CIS', version: '1', controls: ['A', 'B', 'C', 'D'].map((id) => ({ id, title: `control ${id}` })) },
    { id: 'soc2', name: 'SOC 2', version: '1', controls: [{ id: 'S', title: 'control S' }] },
    { id: 'pci_dss', name: 'PCI DSS', version: '1', controls: [] },
  ],
  rules: [
    { id: 'r1', cis: ['A'], soc2: ['S'] },
    { id: 'r2', cis: ['A'], soc2: [] },
    { id: 'r3', cis: ['B'], soc2: ['S'] },
    { id: 'r4', cis: ['C'], soc2: [] },
  ].map(({ id, cis, soc2 }) => ({ rule: { id, title: `rule ${id}`, severity: 'high' as const, resource_types: ['aws_s3_bucket'], compliance: { cis_aws_foundations: cis, soc2, pci_dss: [] } } })),
};

const audit: AuditBasis = {
  id: 'aud_01JD8X3N5W6Q2R4T7Y9ZABCDEF',
  finishedAt: new Date('2026-11-22T08:00:00Z'),
  catalogueVersion: 'beef00000000',
  ruleResults: {
    r1: { evaluated: 3, failed: 2, errors: 0 },
    r2: { evaluated: 3, failed: 1, errors: 1 },
    r3: { evaluated: 5, failed: 0, errors: 0 },
  },
};

// r1 fails on x and y, r2 on x again (the pair twice, as duplicate findings would give).
const failures = [
  { ruleId: 'r1', resourceId: 'x' },
  { ruleId: 'r1', resourceId: 'y' },
  { ruleId: 'r2', resourceId: 'x' },
  { ruleId: 'r2', resourceId: 'x' },
];

describe('assessCompliance', () => {
  const result = assessCompliance(mapping, audit, failures);
  const [cis, soc2, pci] = result.frameworks;

  it('fails a control on the distinct resources its rules failed on', () => {
    expect(cis!.controls[0]).toEqual({
      id: 'A',
      title: 'control A',
      status: 'failed',
      failingResources: 2,
      rules: [
        { id: 'r1', title: 'rule r1', severity: 'high', resourceTypes: ['aws_s3_bucket'], evaluated: 3, errors: 0, failingResources: 2 },
        { id: 'r2', title: 'rule r2', severity: 'high', resourceTypes: ['aws_s3_bucket'], evaluated: 3, errors: 1, failingResources: 1 },
      ],
    });
  });

  it('passes an evaluated control without failures; leaves unevaluated and rule-less ones out', () => {
    expect(cis!.controls.map((c) => c.status)).toEqual(['failed', 'passed', 'not_evaluated', 'not_evaluated']);
    expect(soc2!.controls[0]).toMatchObject({ status: 'failed', failingResources: 2 });
  });

  it('scores each framework and overall from the counts', () => {
    // CIS: 1 passed, 1 failed, 2 not evaluated: 100 × 1 / 2 = 50; coverage 100 × 2 / 4 = 50
    expect(cis!.tally).toEqual({ passed: 1, failed: 1, notEvaluated: 2, score: 50, coverage: 50 });
    // SOC 2: 0 passed, 1 failed: 0; coverage 100
    expect(soc2!.tally).toEqual({ passed: 0, failed: 1, notEvaluated: 0, score: 0, coverage: 100 });
    // PCI DSS: no control at all: nothing to score nor cover
    expect(pci!.tally).toEqual({ passed: 0, failed: 0, notEvaluated: 0, score: null, coverage: null });
    // Overall: 100 × 1 / (1 + 2) = 33.3; coverage 100 × 3 / 5 = 60
    expect(result.overall).toEqual({ passed: 1, failed: 2, notEvaluated: 2, score: 33.3, coverage: 60 });
  });

  it("carries the audit's provenance", () => {
    expect(result.audit).toEqual({ id: audit.id, finishedAt: audit.finishedAt });
    expect(result.catalogueVersion).toBe('beef00000000');
  });

  it('without an audit, evaluates nothing and scores null', () => {
    const none = assessCompliance(mapping, null, []);
    expect(none.audit).toBeNull();
    expect(none.catalogueVersion).toBe('cafe00000000');
    expect(none.frameworks.flatMap((f) => f.controls.map((c) => c.status))).toEqual(Array(5).fill('not_evaluated'));
    expect(none.overall).toEqual({ passed: 0, failed: 0, notEvaluated: 5, score: null, coverage: 0 });
  });
});

describe('percent', () => {
  it.each([
    [2, 3, 66.7],
    [1, 3, 33.3],
    [5, 11, 45.5],
    [1, 8, 12.5],
    [1, 16, 6.3],
    [3, 3, 100],
    [0, 4, 0],
    [0, 0, null],
  ])('100 × %i / %i = %p', (numerator, denominator, expected) => {
    expect(percent(numerator, denominator)).toBe(expected);
  });
});
