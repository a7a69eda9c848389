/**
 * The conformance benchmark: imports every rulebench fixture (`terraform show -json` plans from
 * other policy tools' test suites) with the import parsers, evaluates the whole rule catalogue over
 * each file's resources, and scores fourfold's findings against the peers' expected verdicts
 * through `scripts/conformance-mapping.json` (peer check → fourfold rule; scoring in
 * `conformance-scoring.ts`). In-process, no server, no database. A benchmark: it exits 0 unless
 * it crashes, or falls below `--min-recall` / `--min-precision` when given.
 *
 *   node --import tsx scripts/conformance.ts [--labels ../shared/rulebench/labels.json]
 *     [--fixtures ../shared/rulebench/fixtures] [--mapping scripts/conformance-mapping.json]
 *     [--disagreements scripts/conformance-disagreements.json]
 *     [--json figures.json] [--check <peer check id>] [--errors] [--top 25] [--now 2026-11-26T00:00:00Z]
 *     [--min-recall 0.5] [--min-precision 0.8]
 *
 * `--check` lists every verdict of one peer check; `--errors` lists every FN and FP of all mapped
 * checks (the contradicted ones too, marked), with the findings behind them. Every run lists the
 * disagreements (FN and FP, contradicted or not) with the cause noted for each in the
 * disagreements file, the ones without a note, and notes that match no disagreement any more;
 * a note explains, it never takes a verdict out of the figures.
 *
 * Relative default paths are taken from the project root; paths given are taken from the current
 * directory. The corpus stays outside the repository.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseInventory } from '../src/imports/import-parsers';
import { resourceLimitProblems } from '../src/imports/resource-limits';
import { unknownAttributesOf } from '../src/imports/resource-content';
import { loadCatalogue } from '../src/rules/catalogue';
import { evaluateInventory } from '../src/rules/evaluate-inventory';
import type { RuleResource } from '../src/rules/rule-evaluation';
import {
  contradictedExpectations,
  contradictionKey,
  emptyTally,
  explainDisagreements,
  mappingsByPeer,
  precisionOf,
  planContentKey,
  problemKind,
  recallOf,
  scoreExpectation,
  validateDisagreementNotes,
  validateMappings,
  withContradicted,
  type Disagreement,
  type DisagreementNote,
  type Expectation,
  type Finding,
  type Tally,
  type Verdict,
} from './conformance-scoring';

const ROOT = path.resolve(__dirname, '..');

interface Labels {
  checks: Record<string, { source: string; title: string; resource_types: string[]; definition: string }>;
  fixtures: Record<string, { resources: { address: string; type: string }[]; expect: Expectation[] }>;
}
interface Manifest {
  fixtures: { id: string; file: string; format?: string }[];
}

async function main(): Promise<number> {
  const { values: options } = parseArgs({
    options: {
      labels: { type: 'string' },
      fixtures: { type: 'string' },
      mapping: { type: 'string' },
      disagreements: { type: 'string' },
      json: { type: 'string' },
      check: { type: 'string' },
      errors: { type: 'boolean', default: false },
      top: { type: 'string', default: '25' },
      now: { type: 'string', default: '2026-11-26T00:00:00Z' },
      'min-recall': { type: 'string' },
      'min-precision': { type: 'string' },
    },
  });
  const labelsFile = options.labels ? path.resolve(options.labels) : path.join(ROOT, '../shared/rulebench/labels.json');
  const fixturesDir = options.fixtures ? path.resolve(options.fixtures) : path.join(ROOT, '../shared/rulebench/fixtures');
  const mappingFile = options.mapping ? path.resolve(options.mapping) : path.join(ROOT, 'scripts/conformance-mapping.json');
  const disagreementsFile = options.disagreements ? path.resolve(options.disagreements) : path.join(ROOT, 'scripts/conformance-disagreements.json');
  const now = new Date(options.now);
  if (Number.isNaN(now.getTime())) throw new Error(`--now: not a date: ${options.now}`);
  const top = Number(options.top);

  const started = process.hrtime.bigint();
  const labels = readJson(labelsFile) as Labels;
  const manifest = readJson(path.join(fixturesDir, 'MANIFEST.json')) as Manifest;
  const catalogue = await loadCatalogue();
  const mappings = validateMappings(readJson(mappingFile), {
    peerChecks: new Set(Object.keys(labels.checks)),
    ruleIds: new Set(catalogue.byId.keys()),
    ruleTypes: new Map(catalogue.rules.map((r) => [r.rule.id, r.rule.resource_types])),
  });
  const byPeer = mappingsByPeer(mappings);
  const notes = validateDisagreementNotes(readJson(disagreementsFile), { peerChecks: new Set(Object.keys(labels.checks)), fixtures: new Set(Object.keys(labels.fixtures)) });
  if (options.check !== undefined && !(options.check in labels.checks)) throw new Error(`--check: no peer check "${options.check}" in ${labelsFile}`);

  const imports = { files: 0, imported: 0, refused: 0, heldOut: 0, heldOutRefused: 0, resources: 0 };
  const refusals = new Map<string, { files: Set<string>; example: string }>();
  const perCheck = new Map<string, Tally>([...byPeer.keys()].map((peer) => [peer, emptyTally()]));
  const notScoredUnmapped = { expectations: 0 };
  const outcomes = new Map<string, Record<string, number>>();
  const errorExamples = new Map<string, string>();
  const traced: { fixture: string; verdict: Verdict | { refused: string }; contradicted?: boolean }[] = [];
  const disagreements: Disagreement[] = [];

  // Fixtures holding the same plan with opposite verdicts of a check: not scored (see conformance-scoring.ts).
  const contradicted = contradictedExpectations(
    manifest.fixtures.map((entry) => ({ id: entry.id, plan: planContentKey(readJson(path.join(fixturesDir, entry.file))), expect: labels.fixtures[entry.id]?.expect ?? [] })),
  );

  for (const entry of manifest.fixtures) {
    const fixture = labels.fixtures[entry.id];
    if (fixture === undefined) throw new Error(`fixture ${entry.id} of the manifest is not in the labels`);
    imports.files++;
    const heldOut = fixture.expect.length === 0;
    if (heldOut) imports.heldOut++;
    const parsed = parseInventory('terraform_show', JSON.parse(readFileSync(path.join(fixturesDir, entry.file), 'utf8')));
    // What an import refuses before writing: the parsers' problems, then the spec's limits.
    parsed.problems.push(...resourceLimitProblems(parsed.resources));
    const mapped = fixture.expect.filter((e) => byPeer.has(e.check));
    notScoredUnmapped.expectations += fixture.expect.length - mapped.length;

    if (parsed.problems.length > 0) {
      imports.refused++;
      if (heldOut) imports.heldOutRefused++;
      for (const kind of new Set(parsed.problems.map((p) => problemKind(p.message)))) {
        const example = parsed.problems.find((p) => problemKind(p.message) === kind);
        const tally = refusals.get(kind) ?? { files: new Set(), example: `${entry.id}: ${example?.item ?? ''}${example?.field ? ` ${example.field}` : ''}: ${example?.message ?? ''}` };
        tally.files.add(entry.id);
        refusals.set(kind, tally);
      }
      for (const e of mapped) (perCheck.get(e.check) as Tally).refused++;
      if (options.check !== undefined && mapped.some((e) => e.check === options.check)) traced.push({ fixture: entry.id, verdict: { refused: parsed.problems[0]?.message ?? '' } });
      continue;
    }
    imports.imported++;
    imports.resources += parsed.resources.length;

    // An import writes a file into one cloud account, whose account-wide settings (account_defaults) its resources share.
    const rulesResources: RuleResource[] = parsed.resources.map(({ source: _source, unknown_paths: _paths, ...resource }, i) => ({
      id: null,
      ...resource,
      unknown_paths: unknownAttributesOf(parsed.resources[i]!),
      account_id: entry.id,
    }));
    const addressOf = new Map(rulesResources.map((r, i) => [r, parsed.resources[i]?.source ?? '']));
    const findings: Finding[] = [];
    for (const { rule, resource, outcome } of evaluateInventory(catalogue, rulesResources, now)) {
      const id = rule.rule.id;
      const counts = outcomes.get(id) ?? {};
      counts[outcome.outcome] = (counts[outcome.outcome] ?? 0) + 1;
      outcomes.set(id, counts);
      if (outcome.outcome === 'fail') findings.push({ rule: id, address: addressOf.get(resource) ?? '', type: resource.type, evidence: outcome.evidence });
      else if (outcome.outcome === 'error' && !errorExamples.has(id)) errorExamples.set(id, `${entry.id} ${addressOf.get(resource) ?? ''}: ${outcome.message}`);
    }
    const results = { resources: new Map(parsed.resources.map((r) => [r.source, r.type])), findings };
    for (const expectation of mapped) {
      const verdict = scoreExpectation(expectation, byPeer.get(expectation.check) ?? [], results);
      const tally = perCheck.get(expectation.check) as Tally;
      const isContradicted = contradicted.get(entry.id)?.has(contradictionKey(expectation)) ?? false;
      if (!isContradicted) tally[verdict.classification as Exclude<Verdict['classification'], 'contradicted'>]++;
      else {
        tally.contradicted++;
        const c = verdict.classification;
        if (c === 'TP' || c === 'FN' || c === 'FP' || c === 'TN') tally.contradicted_scores[c]++;
      }
      const isError = verdict.classification === 'FN' || verdict.classification === 'FP';
      if (isError) disagreements.push({ fixture: entry.id, verdict, contradicted: isContradicted });
      if (expectation.check === options.check || (options.errors && isError)) traced.push({ fixture: entry.id, verdict, contradicted: isContradicted });
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  // Totals over mapped checks; coverage and what is left to map.
  const total = emptyTally();
  for (const tally of perCheck.values()) {
    for (const key of ['TP', 'FN', 'FP', 'TN', 'ignored', 'no_subject', 'refused', 'contradicted'] as const) total[key] += tally[key];
    for (const key of ['TP', 'FN', 'FP', 'TN'] as const) total.contradicted_scores[key] += tally.contradicted_scores[key];
  }
  const allChecks = Object.keys(labels.checks);
  const expectationsOf = new Map<string, number>();
  for (const fixture of Object.values(labels.fixtures)) for (const e of fixture.expect) expectationsOf.set(e.check, (expectationsOf.get(e.check) ?? 0) + 1);
  const fixtureTypes = Object.values(labels.fixtures).map((f) => new Set(f.resources.map((r) => r.type)));
  const unmapped = allChecks
    .filter((id) => !byPeer.has(id))
    .map((id) => {
      const check = labels.checks[id] as Labels['checks'][string];
      return { check: id, title: check.title, resource_types: check.resource_types, fixtures_with_types: fixtureTypes.filter((types) => check.resource_types.some((t) => types.has(t))).length, labelled_expectations: expectationsOf.get(id) ?? 0 };
    })
    .sort((a, b) => b.fixtures_with_types - a.fixtures_with_types || b.labelled_expectations - a.labelled_expectations || (a.check < b.check ? -1 : 1));

  const rows = [...perCheck.entries()]
    .map(([check, t]) => ({ check, rules: (byPeer.get(check) ?? []).map((m) => `${m.fourfold} (${m.mode})`), ...t, recall: recallOf(t), precision: precisionOf(t) }))
    .sort((a, b) => b.FN + b.FP - (a.FN + a.FP) || b.refused - a.refused || (a.check < b.check ? -1 : 1));
  const explanation = explainDisagreements(disagreements, notes);
  const ruleOutcomes = [...outcomes.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([rule, counts]) => ({ rule, ...counts }));

  const figures = {
    catalogue: catalogue.version,
    now: now.toISOString(),
    seconds: Math.round(seconds * 10) / 10,
    imports: { ...imports, refusals: [...refusals.entries()].map(([kind, r]) => ({ kind, files: r.files.size, example: r.example })).sort((a, b) => b.files - a.files) },
    totals: {
      ...total,
      recall: recallOf(total),
      precision: precisionOf(total),
      recall_with_contradicted: recallOf(withContradicted(total)),
      precision_with_contradicted: precisionOf(withContradicted(total)),
      not_scored_unmapped_check: notScoredUnmapped.expectations,
    },
    coverage: { mapped: byPeer.size, checks: allChecks.length, ratio: byPeer.size / allChecks.length, mappings: mappings.length, rules_mapped: new Set(mappings.map((m) => m.fourfold)).size },
    checks: rows,
    disagreements: {
      explained: explanation.explained.map(({ disagreement: d, note }) => ({ check: d.verdict.check, fixture: d.fixture, address: d.verdict.address, classification: d.verdict.classification, contradicted: d.contradicted, cause: note.cause, reason: note.reason })),
      unexplained: explanation.unexplained.map((d) => ({ check: d.verdict.check, fixture: d.fixture, address: d.verdict.address, classification: d.verdict.classification, contradicted: d.contradicted })),
      stale_notes: explanation.stale,
    },
    rule_outcomes: ruleOutcomes,
    unmapped,
  };

  printReport(figures, top, errorExamples, labelsFile, fixturesDir, mappingFile);
  printDisagreements(explanation, disagreementsFile);
  const noteOf = new Map(explanation.explained.map(({ disagreement, note }) => [disagreement.verdict, note]));
  if (options.check !== undefined) printTrace(`Verdicts of ${options.check}`, traced.filter(({ verdict }) => 'refused' in verdict || verdict.check === options.check), byPeer, noteOf);
  if (options.errors) {
    const errors = traced.filter((t): t is { fixture: string; verdict: Verdict; contradicted?: boolean } => !('refused' in t.verdict) && (t.verdict.classification === 'FN' || t.verdict.classification === 'FP'));
    printTrace('FN and FP of every mapped check', errors.sort((a, b) => a.verdict.check.localeCompare(b.verdict.check)), byPeer, noteOf);
  }
  if (options.json !== undefined) writeFileSync(path.resolve(options.json), `${JSON.stringify(figures, null, 2)}\n`);

  let status = 0;
  const bar = (name: string, value: number | null, min: string | undefined) => {
    if (min !== undefined && (value ?? 0) < Number(min)) {
      console.log(`\n${name} ${percent(value)} is below --min-${name} ${min}`);
      status = 1;
    }
  };
  bar('recall', figures.totals.recall, options['min-recall']);
  bar('precision', figures.totals.precision, options['min-precision']);
  return status;
}

type Figures = {
  catalogue: string;
  now: string;
  seconds: number;
  imports: { files: number; imported: number; refused: number; heldOut: number; heldOutRefused: number; resources: number; refusals: { kind: string; files: number; example: string }[] };
  totals: Tally & { recall: number | null; precision: number | null; recall_with_contradicted: number | null; precision_with_contradicted: number | null; not_scored_unmapped_check: number };
  coverage: { mapped: number; checks: number; ratio: number; mappings: number; rules_mapped: number };
  checks: ({ check: string; rules: string[]; recall: number | null; precision: number | null } & Tally)[];
  disagreements: { explained: unknown[]; unexplained: unknown[]; stale_notes: DisagreementNote[] };
  rule_outcomes: ({ rule: string } & Record<string, number | string>)[];
  unmapped: { check: string; title: string; resource_types: string[]; fixtures_with_types: number; labelled_expectations: number }[];
};

function printReport(f: Figures, top: number, errorExamples: Map<string, string>, labelsFile: string, fixturesDir: string, mappingFile: string): void {
  const out = (line = '') => console.log(line);
  out(`fourfold conformance — catalogue ${f.catalogue}, now ${f.now}, ${f.seconds} s`);
  out(`labels ${labelsFile}`);
  out(`fixtures ${fixturesDir}`);
  out(`mapping ${mappingFile}`);

  out('\n== Import (terraform_show) ==');
  out(`files ${f.imports.files}: imported ${f.imports.imported} (${f.imports.resources} resources), refused ${f.imports.refused}`);
  out(`  held out (no labelled verdicts): ${f.imports.heldOut}, of which refused ${f.imports.heldOutRefused}`);
  if (f.imports.refusals.length > 0) out('refusal reasons (files; one example):');
  for (const r of f.imports.refusals) out(`  ${String(r.files).padStart(5)}  ${r.kind}\n         e.g. ${r.example}`);

  out('\n== Mapped peer checks (sorted by errors FN+FP) ==');
  const header = ['TP', 'FN', 'FP', 'TN', 'ign', 'n/s', 'ref', 'contra', 'recall', 'prec'];
  const width = Math.max(10, ...f.checks.map((row) => row.check.length));
  out(`${'peer check'.padEnd(width)} ${header.map((h) => h.padStart(7)).join('')}  fourfold rules`);
  for (const row of f.checks) {
    const cells = [row.TP, row.FN, row.FP, row.TN, row.ignored, row.no_subject, row.refused, row.contradicted].map((n) => String(n).padStart(7)).join('');
    out(`${row.check.padEnd(width)} ${cells}${percent(row.recall).padStart(7)}${percent(row.precision).padStart(7)}  ${row.rules.join(', ')}`);
  }
  out('(ign: verdicts the mode leaves out; n/s: no resource of the mapped types in the plan; ref: not scored, file refused;');
  out(' contra: not scored, another fixture holds the same plan with the opposite verdict of the check)');

  const t = f.totals;
  out('\n== Totals over mapped checks ==');
  out(`TP ${t.TP}  FN ${t.FN}  FP ${t.FP}  TN ${t.TN}   ignored by mode ${t.ignored}, no subject ${t.no_subject}`);
  const c = t.contradicted_scores;
  out(`not scored: file refused ${t.refused}; expectations of unmapped checks ${t.not_scored_unmapped_check}`);
  out(`not scored: contradicted ${t.contradicted} (same plan, opposite verdicts; would score TP ${c.TP} FN ${c.FN} FP ${c.FP} TN ${c.TN})`);
  out(`recall    TP/(TP+FN) = ${percent(t.recall)}   (with the contradicted scored: ${percent(t.recall_with_contradicted)})`);
  out(`precision TP/(TP+FP) = ${percent(t.precision)}   (with the contradicted scored: ${percent(t.precision_with_contradicted)})`);
  out(`coverage  ${f.coverage.mapped} / ${f.coverage.checks} peer checks mapped (${percent(f.coverage.ratio)}), by ${f.coverage.mappings} mappings to ${f.coverage.rules_mapped} rules`);

  out('\n== Rule outcomes over imported files (unknown and error are never findings; an error is a bug) ==');
  const odd = f.rule_outcomes.filter((r) => Object.keys(r).some((k) => k !== 'rule' && k !== 'pass' && k !== 'fail'));
  const sum = (key: string) => f.rule_outcomes.reduce((n, r) => n + (typeof r[key] === 'number' ? r[key] : 0), 0);
  const kinds = [...new Set(f.rule_outcomes.flatMap((r) => Object.keys(r).filter((k) => k !== 'rule')))].sort();
  out(`${f.rule_outcomes.length} rules evaluated: ${kinds.map((k) => `${k} ${sum(k)}`).join(', ')}`);
  for (const r of odd) {
    const counts = Object.entries(r).filter(([k]) => k !== 'rule' && k !== 'pass' && k !== 'fail').map(([k, n]) => `${k} ${String(n)}`).join(', ');
    out(`  ${r.rule.padEnd(50)} ${counts}${errorExamples.has(r.rule) ? `\n      e.g. ${errorExamples.get(r.rule) ?? ''}` : ''}`);
  }

  out(`\n== Unmapped peer checks, by fixtures carrying their resource types (top ${top} of ${f.unmapped.length}) ==`);
  out(`${'fixtures'.padStart(8)} ${'labels'.padStart(6)}  peer check — resource types`);
  for (const u of f.unmapped.slice(0, top)) out(`${String(u.fixtures_with_types).padStart(8)} ${String(u.labelled_expectations).padStart(6)}  ${u.check} — ${u.resource_types.join(', ')}`);
}

function printDisagreements(explanation: ReturnType<typeof explainDisagreements>, disagreementsFile: string): void {
  const out = (line = '') => console.log(line);
  const all = [...explanation.explained.map(({ disagreement }) => disagreement), ...explanation.unexplained];
  out(`\n== Disagreements (FN and FP, contradicted too), all counted in the raw figures; causes from ${path.basename(disagreementsFile)} ==`);
  const count = (list: readonly Disagreement[], c: 'FN' | 'FP') => list.filter((d) => d.verdict.classification === c).length;
  out(`${all.length} disagreements: FN ${count(all, 'FN')}, FP ${count(all, 'FP')}; explained ${explanation.explained.length}, unexplained ${explanation.unexplained.length}`);
  const causes = [...new Set(explanation.explained.map(({ note }) => note.cause))].sort();
  for (const cause of causes) {
    const of = explanation.explained.filter(({ note }) => note.cause === cause);
    out(`\n${cause}: FN ${count(of.map(({ disagreement }) => disagreement), 'FN')}, FP ${count(of.map(({ disagreement }) => disagreement), 'FP')}`);
    for (const { disagreement: d, note } of of) out(`  ${(d.contradicted ? `contra:${d.verdict.classification}` : d.verdict.classification).padEnd(10)} ${d.fixture}${d.verdict.address === null ? '' : ` ${d.verdict.address}`}\n      ${note.reason}`);
  }
  if (explanation.unexplained.length > 0) out('\nunexplained (fourfold errors until shown otherwise):');
  for (const d of explanation.unexplained) out(`  ${(d.contradicted ? `contra:${d.verdict.classification}` : d.verdict.classification).padEnd(10)} ${d.verdict.check} on ${d.fixture}${d.verdict.address === null ? '' : ` ${d.verdict.address}`}`);
  if (explanation.stale.length > 0) out('\nstale notes (no such disagreement any more; remove or rewrite them):');
  for (const n of explanation.stale) out(`  ${n.classification} ${n.peer} on ${n.fixture}`);
}

function printTrace(
  title: string,
  traced: { fixture: string; verdict: Verdict | { refused: string }; contradicted?: boolean }[],
  byPeer: ReadonlyMap<string, readonly { fourfold: string; mode: string; types: string[] }[]>,
  noteOf: ReadonlyMap<Verdict, DisagreementNote>,
): void {
  console.log(`\n== ${title} ==`);
  let check: string | undefined;
  for (const { fixture, verdict, contradicted } of traced) {
    if (!('refused' in verdict) && verdict.check !== check) {
      check = verdict.check;
      const mappings = byPeer.get(check) ?? [];
      console.log(`${check} (${mappings.length === 0 ? 'unmapped' : mappings.map((m) => `${m.fourfold} ${m.mode} on ${m.types.join(', ')}`).join('; ')})`);
    }
    if ('refused' in verdict) {
      console.log(`  refused  ${fixture}: ${verdict.refused}`);
      continue;
    }
    const subject = verdict.address === null ? '' : ` ${verdict.address}`;
    const label = contradicted === true ? `contra:${verdict.classification}` : verdict.classification;
    console.log(`  ${label.padEnd(10)} ${fixture}${subject}: peer ${verdict.peer}, fourfold ${verdict.fourfold}`);
    for (const finding of verdict.findings) console.log(`      ${finding.rule} on ${finding.address}: ${finding.evidence.map((e) => `${e.path}=${JSON.stringify(e.value)}`).join(', ')}`);
    const note = noteOf.get(verdict);
    if (note !== undefined) console.log(`      noted (${note.cause}): ${note.reason}`);
  }
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function percent(value: number | null): string {
  return value === null ? '–' : `${(value * 100).toFixed(1)}%`;
}

main().then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
    process.exitCode = 2;
  },
);
