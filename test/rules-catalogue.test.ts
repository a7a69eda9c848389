import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadCatalogue, type Catalogue } from '../src/rules/catalogue';
import { evaluateInventory } from '../src/rules/evaluate-inventory';
import { evaluateRule, NO_ACCOUNT_DEFAULTS, type RuleResource } from '../src/rules/rule-evaluation';

const NOW = new Date('2026-11-26T00:00:00Z');
const FIXTURES = path.join(__dirname, 'fixtures/rules');

interface FixtureResource {
  type?: string;
  tags?: Record<string, string>;
  attributes?: Record<string, unknown>;
  relationships?: RuleResource['relationships'];
  /** Attribute paths known only after apply. */
  unknown_paths?: string[];
}
interface FixtureCase extends FixtureResource {
  related?: FixtureResource[];
  referenced_by?: FixtureResource[];
  /** Account-wide settings of the resource's account, by type (each fixture resource takes the type it is listed under). */
  account_defaults?: Record<string, FixtureResource[]>;
  /** The expected cost estimate of a failing cost rule. */
  monthly_usd?: number;
}

/** Per rule: the failing and passing fixtures, and optionally more of each and ones whose result is unknown. */
const cases: Record<string, { pass: FixtureCase; fail: FixtureCase; also_pass?: FixtureCase[]; also_fail?: FixtureCase[]; unknown?: FixtureCase[] }> = Object.assign(
  {},
  ...readdirSync(path.join(FIXTURES, 'cases')).map((file) => parseYaml(readFileSync(path.join(FIXTURES, 'cases', file), 'utf8'))),
);

let catalogue: Catalogue;
beforeAll(async () => {
  catalogue = await loadCatalogue();
});

function resourceOf(fixture: FixtureResource, defaultType: string, provider: RuleResource['provider'], nativeId: string): RuleResource {
  return {
    id: null,
    type: fixture.type ?? defaultType,
    provider,
    native_id: nativeId,
    region: null,
    name: null,
    tags: fixture.tags ?? {},
    attributes: fixture.attributes ?? {},
    relationships: fixture.relationships ?? [],
    ...(fixture.unknown_paths ? { unknown_paths: fixture.unknown_paths } : {}),
  };
}

describe('the built-in catalogue', () => {
  it('has at least 60 rules over every dimension and provider', () => {
    const count = (key: 'dimension' | 'provider', value: string) => catalogue.rules.filter((r) => r.rule[key] === value).length;
    expect(catalogue.rules.length).toBeGreaterThanOrEqual(60);
    expect(count('dimension', 'security')).toBeGreaterThanOrEqual(25);
    expect(count('dimension', 'cost')).toBeGreaterThanOrEqual(12);
    expect(count('dimension', 'architecture')).toBeGreaterThanOrEqual(12);
    expect(count('dimension', 'compliance')).toBeGreaterThanOrEqual(10);
    for (const provider of ['aws', 'azure', 'gcp']) expect(count('provider', provider)).toBeGreaterThan(0);
    expect(catalogue.version).toMatch(/^[0-9a-f]{12}$/);
  });

  it('has a passing and a failing fixture for every rule, and none for unknown rules', () => {
    expect(Object.keys(cases).sort()).toEqual(catalogue.rules.map((r) => r.rule.id));
  });

  it('maps rules to the frameworks, and cost rules estimate a cost', () => {
    expect(catalogue.rules.filter((r) => r.rule.compliance.cis_aws_foundations.length > 0).length).toBeGreaterThanOrEqual(15);
    for (const { rule } of catalogue.rules) expect(rule.cost !== null).toBe(rule.dimension === 'cost');
  });

  describe.each(Object.keys(cases).sort())('%s', (id) => {
    const evaluate = (kind: 'pass' | 'fail', given?: FixtureCase) => {
      const compiled = catalogue.byId.get(id);
      if (!compiled) throw new Error(`no rule ${id}`);
      const fixture = given ?? cases[id]![kind];
      const { rule } = compiled;
      const make = (r: FixtureResource, i: number, role: string) => resourceOf(r, rule.resource_types[0]!, rule.provider, `fixture:${id}:${kind}:${role}${i}`);
      const resource = make(fixture, 0, 'self');
      expect(rule.resource_types).toContain(resource.type);
      return evaluateRule(compiled, resource, {
        related: (fixture.related ?? []).map((r, i) => make(r, i, 'related')),
        referencedBy: (fixture.referenced_by ?? []).map((r, i) => make(r, i, 'referrer')),
        now: NOW,
        accountDefaults: {
          ...NO_ACCOUNT_DEFAULTS,
          ...Object.fromEntries(Object.entries(fixture.account_defaults ?? {}).map(([type, list]) => [type, list.map((r, i) => make({ ...r, type }, i, type))])),
        },
      });
    };

    it('fails on its failing fixture, with evidence', () => {
      const outcome = evaluate('fail');
      expect(outcome).toMatchObject({ outcome: 'fail' });
      if (outcome.outcome !== 'fail') return;
      expect(outcome.evidence.map((e) => e.path)).toEqual(catalogue.byId.get(id)!.rule.evidence);
      const expectedCost = cases[id]!.fail.monthly_usd;
      expect(outcome.monthly_usd).toBe(expectedCost ?? null);
    });

    it('passes on its passing fixture', () => {
      expect(evaluate('pass')).toEqual({ outcome: 'pass' });
    });

    it('fails, passes and is unknown on its further fixtures', () => {
      const { also_fail = [], also_pass = [], unknown = [] } = cases[id]!;
      for (const fixture of also_fail) expect(evaluate('fail', fixture)).toMatchObject({ outcome: 'fail' });
      for (const fixture of also_pass) expect(evaluate('pass', fixture)).toEqual({ outcome: 'pass' });
      for (const fixture of unknown) {
        const outcome = evaluate('pass', fixture);
        expect(outcome).toMatchObject({ outcome: 'unknown' });
        if (outcome.outcome === 'unknown') expect(outcome.unknown_paths.length).toBeGreaterThan(0);
      }
    });
  });

  it('reads attributes only through attr(), which sees values unknown until apply', () => {
    // Direct field access (resource.attributes.x, r.attributes.x) would read an unknown value as
    // missing: an error, or a silent guess through has(). Strings are left out: attr() paths name attributes.
    const direct = catalogue.rules.flatMap(({ rule }) =>
      [rule.condition, rule.cost?.monthly_usd ?? '']
        .map((source) => source.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, "''"))
        .filter((source) => /\battributes\b/.test(source))
        .map(() => rule.id),
    );
    expect(direct).toEqual([]);
  });

  it('reads the items of items() only through attr() and items(), which see the unknowns inside them', () => {
    // `o.domain_name` on an item would read a value known only after apply as missing.
    const direct = catalogue.rules.flatMap(({ rule }) =>
      [...rule.condition.matchAll(/items\([^()]*\)\.\w+\((\w+),/g)].filter(([, item]) => new RegExp(`\\b${item}\\.\\w`).test(rule.condition)).map(() => rule.id),
    );
    expect(direct).toEqual([]);
    expect(catalogue.rules.some(({ rule }) => /items\([^()]*\)\.exists\(\w+,/.test(rule.condition))).toBe(true);
  });

  it('finds exactly the expected misconfigurations of the native fixture inventory', () => {
    const inventory = JSON.parse(readFileSync(path.join(__dirname, 'fixtures/inventory/native.json'), 'utf8')) as { resources: Omit<RuleResource, 'id'>[] };
    const expected = JSON.parse(readFileSync(path.join(FIXTURES, 'expected-native-findings.json'), 'utf8')) as Record<string, string[]>;
    const found: Record<string, string[]> = {};
    for (const { rule, resource, outcome } of evaluateInventory(catalogue, inventory.resources.map((r) => ({ id: null, ...r })), NOW)) {
      expect(outcome.outcome).not.toBe('error');
      if (outcome.outcome === 'fail') (found[rule.rule.id] ??= []).push(resource.native_id);
    }
    for (const ids of Object.values(found)) ids.sort();
    expect(found).toEqual(expected);
  });
});
