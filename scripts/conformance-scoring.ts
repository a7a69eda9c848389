/**
 * The scoring of the conformance benchmark (`scripts/conformance.ts`), apart from its I/O so that
 * it can be tested on small inputs: the mapping file's validation, and how fourfold's results on
 * one fixture are compared with a peer tool's expected verdicts.
 *
 * How a verdict is scored:
 * - A mapping says that fourfold rule `fourfold` checks what peer check `peer` checks, on the
 *   resource types `types`. `mode` says how far: `equivalent` (every verdict counts),
 *   `peer_fail_implies` (the rule is broader: a peer fail must be a fourfold fail, but a fourfold
 *   fail where the peer passes is not an error, so only the peer's fails count), or
 *   `fourfold_fail_implies` (the peer is broader: only fourfold's findings count).
 * - Scope `fixture`: a mapped rule fails the fixture when it produced a `fail` on at least one
 *   resource of the mapping's `types`. Scope `resource`: when it produced a `fail` on the resource
 *   at that Terraform address, and that resource's type is one of the mapping's `types`.
 *   Any other outcome (`pass`, `unknown`, `error`, not evaluated) is "no finding".
 * - Several mappings for one peer check are combined: fourfold fails the check when any of their
 *   rules fails. A peer fail counts (TP or FN) when at least one mapping is `equivalent` or
 *   `peer_fail_implies` (the union of the rules then covers the peer's fails), otherwise only when
 *   fourfold failed it (TP). A peer pass counts as FP when a rule of an `equivalent` or
 *   `fourfold_fail_implies` mapping failed it (a broader rule's finding is no error), and as TN
 *   when no rule failed and at least one mapping is `equivalent`. Everything else is `ignored`,
 *   which for one mapping is exactly the mode's definition.
 * - A fixture-scope expectation is not scored (`no_subject`) when the plan holds no resource of
 *   any mapping's types: the mapping claims agreement on those types only.
 * - An expectation is `contradicted` (not scored) when another fixture holds the same plan (the
 *   file's JSON without its `timestamp`, `planContentKey`) and expects the opposite verdict of the same check on the
 *   same subject: some peers' test cases differ only in a mock the plan does not carry, so one of
 *   the two verdicts is wrong for any tool that reads the plan. Both sides are left out, whatever
 *   fourfold answers; the benchmark prints how many and the figures with them scored too.
 */

export const MODES = ['equivalent', 'peer_fail_implies', 'fourfold_fail_implies'] as const;
export type Mode = (typeof MODES)[number];

export interface Mapping {
  peer: string;
  fourfold: string;
  mode: Mode;
  types: string[];
  why: string;
}

/** A mapping file that is not valid; the message names the entry. */
export class MappingError extends Error {
  override name = 'MappingError';
}

/**
 * Validates a parsed mapping file against the peer checks of the labels and the catalogue's rules;
 * throws MappingError naming the first bad entry.
 */
export function validateMappings(document: unknown, known: { peerChecks: ReadonlySet<string>; ruleIds: ReadonlySet<string>; ruleTypes?: ReadonlyMap<string, readonly string[]> }): Mapping[] {
  if (typeof document !== 'object' || document === null || !Array.isArray((document as { mappings?: unknown }).mappings)) {
    throw new MappingError('the mapping file must be an object {"mappings": [...]}');
  }
  const entries = (document as { mappings: unknown[] }).mappings;
  const seen = new Set<string>();
  return entries.map((entry, index) => {
    const e = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    const name = `mappings[${index}] (${String(e.peer)} → ${String(e.fourfold)})`;
    const fail = (message: string): never => {
      throw new MappingError(`${name}: ${message}`);
    };
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail('expected an object');
    const extra = Object.keys(e).filter((key) => !['peer', 'fourfold', 'mode', 'types', 'why'].includes(key));
    if (extra.length > 0) fail(`unknown field ${extra.join(', ')}`);
    if (typeof e.peer !== 'string' || !known.peerChecks.has(e.peer)) fail(`unknown peer check "${String(e.peer)}" (not in the labels' checks)`);
    if (typeof e.fourfold !== 'string' || !known.ruleIds.has(e.fourfold)) fail(`unknown fourfold rule "${String(e.fourfold)}" (not in the catalogue)`);
    if (typeof e.mode !== 'string' || !(MODES as readonly string[]).includes(e.mode)) fail(`bad mode "${String(e.mode)}": expected one of ${MODES.join(', ')}`);
    if (!Array.isArray(e.types) || e.types.length === 0 || !e.types.every((t) => typeof t === 'string' && t !== '')) fail('"types" must be a non-empty list of Terraform resource types');
    const ruleTypes = known.ruleTypes?.get(e.fourfold as string);
    const foreign = ruleTypes ? (e.types as string[]).filter((t) => !ruleTypes.includes(t)) : [];
    if (foreign.length > 0) fail(`the rule does not apply to ${foreign.join(', ')}`);
    if (typeof e.why !== 'string' || e.why.trim() === '') fail('"why" must say in one line why they agree');
    const key = `${String(e.peer)}\u0000${String(e.fourfold)}`;
    if (seen.has(key)) fail('the pair is mapped twice');
    seen.add(key);
    return { peer: e.peer as string, fourfold: e.fourfold as string, mode: e.mode as Mode, types: [...(e.types as string[])], why: e.why as string };
  });
}

/** One peer expectation of a fixture, as in labels.json. */
export interface Expectation {
  check: string;
  scope: 'fixture' | 'resource';
  address?: string;
  result: 'pass' | 'fail';
}

/** A `fail` of a rule on one resource of the fixture. */
export interface Finding {
  rule: string;
  address: string;
  type: string;
  evidence: readonly { path: string; value: unknown }[];
}

/** What fourfold made of one fixture: its resources (address → type) and the rules' fails. */
export interface FixtureResults {
  resources: ReadonlyMap<string, string>;
  findings: readonly Finding[];
}

export type Classification = 'TP' | 'FN' | 'FP' | 'TN' | 'ignored' | 'no_subject' | 'contradicted';

export interface Verdict {
  check: string;
  scope: Expectation['scope'];
  address: string | null;
  peer: Expectation['result'];
  fourfold: 'fail' | 'pass';
  classification: Classification;
  /** The findings of mapped rules that made fourfold's verdict. */
  findings: Finding[];
}

/** Mappings grouped by peer check. */
export function mappingsByPeer(mappings: readonly Mapping[]): Map<string, Mapping[]> {
  const byPeer = new Map<string, Mapping[]>();
  for (const mapping of mappings) byPeer.set(mapping.peer, [...(byPeer.get(mapping.peer) ?? []), mapping]);
  return byPeer;
}

/** The key of an expectation's subject: its check and, in resource scope, its address. */
const subjectKey = (e: Expectation): string => `${e.check}\u0000${e.scope}\u0000${e.scope === 'resource' ? (e.address ?? '') : ''}`;

/**
 * The expectations contradicted by another fixture holding the same plan (`plan`: a key of the
 * plan's content, equal for equal plans): per fixture id, the subject keys (`contradictionKey`)
 * that are labelled both `pass` and `fail` across fixtures sharing a plan.
 */
export function contradictedExpectations(fixtures: readonly { id: string; plan: string; expect: readonly Expectation[] }[]): Map<string, Set<string>> {
  const results = new Map<string, Set<Expectation['result']>>();
  for (const fixture of fixtures) {
    for (const e of fixture.expect) {
      const key = `${fixture.plan}\u0000${subjectKey(e)}`;
      results.set(key, (results.get(key) ?? new Set()).add(e.result));
    }
  }
  const contradicted = new Map<string, Set<string>>();
  for (const fixture of fixtures) {
    for (const e of fixture.expect) {
      if ((results.get(`${fixture.plan}\u0000${subjectKey(e)}`)?.size ?? 0) > 1) contradicted.set(fixture.id, (contradicted.get(fixture.id) ?? new Set()).add(subjectKey(e)));
    }
  }
  return contradicted;
}

/** The key `contradictedExpectations` uses for an expectation. */
export const contradictionKey = subjectKey;

/**
 * The content key of a plan for `contradictedExpectations`: its JSON with keys sorted, without
 * the top-level `timestamp` (when the plan was written is no part of what it says), and its
 * `relevant_attributes` taken as the set it is.
 */
export function planContentKey(plan: unknown): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
    }
    return value;
  };
  if (typeof plan !== 'object' || plan === null || Array.isArray(plan)) return JSON.stringify(canonical(plan));
  const { timestamp: _timestamp, relevant_attributes: relevant, ...body } = plan as Record<string, unknown>;
  // relevant_attributes is a set (Terraform writes it in no stable order).
  const relevantSet = Array.isArray(relevant) ? relevant.map((item) => JSON.stringify(canonical(item))).sort() : relevant;
  return JSON.stringify(canonical({ ...body, relevant_attributes: relevantSet }));
}

/** Scores one expectation against fourfold's results, with every mapping of its check (at least one). */
export function scoreExpectation(expectation: Expectation, mappings: readonly Mapping[], results: FixtureResults): Verdict {
  const address = expectation.scope === 'resource' ? (expectation.address ?? null) : null;
  const matches = (mapping: Mapping, finding: Finding): boolean =>
    finding.rule === mapping.fourfold && mapping.types.includes(finding.type) && (address === null || finding.address === address);
  const failing = mappings.filter((m) => results.findings.some((f) => matches(m, f)));
  const findings = results.findings.filter((f) => mappings.some((m) => matches(m, f)));
  const fourfold = failing.length > 0 ? 'fail' : 'pass';
  const verdict = (classification: Classification): Verdict => ({ check: expectation.check, scope: expectation.scope, address, peer: expectation.result, fourfold, classification, findings });

  if (expectation.scope === 'fixture') {
    const types = new Set(mappings.flatMap((m) => m.types));
    if (![...results.resources.values()].some((type) => types.has(type))) return verdict('no_subject');
  }
  const has = (list: readonly Mapping[], ...modes: Mode[]) => list.some((m) => modes.includes(m.mode));
  if (expectation.result === 'fail') {
    if (fourfold === 'fail') return verdict('TP');
    return verdict(has(mappings, 'equivalent', 'peer_fail_implies') ? 'FN' : 'ignored');
  }
  if (has(failing, 'equivalent', 'fourfold_fail_implies')) return verdict('FP');
  if (fourfold === 'pass' && has(mappings, 'equivalent')) return verdict('TN');
  return verdict('ignored');
}

export interface Tally {
  TP: number;
  FN: number;
  FP: number;
  TN: number;
  ignored: number;
  no_subject: number;
  refused: number;
  /** Contradicted expectations, by what they would have scored. */
  contradicted: number;
  contradicted_scores: { TP: number; FN: number; FP: number; TN: number };
}

export const emptyTally = (): Tally => ({ TP: 0, FN: 0, FP: 0, TN: 0, ignored: 0, no_subject: 0, refused: 0, contradicted: 0, contradicted_scores: { TP: 0, FN: 0, FP: 0, TN: 0 } });

/** The tally with the contradicted expectations scored as they came out. */
export const withContradicted = (t: Tally): Tally => ({
  ...t,
  TP: t.TP + t.contradicted_scores.TP,
  FN: t.FN + t.contradicted_scores.FN,
  FP: t.FP + t.contradicted_scores.FP,
  TN: t.TN + t.contradicted_scores.TN,
});

/** TP/(TP+FN), or null with no peer fail scored. */
export const recallOf = (t: Tally): number | null => (t.TP + t.FN === 0 ? null : t.TP / (t.TP + t.FN));
/** TP/(TP+FP), or null with no fourfold finding scored. */
export const precisionOf = (t: Tally): number | null => (t.TP + t.FP === 0 ? null : t.TP / (t.TP + t.FP));

/**
 * Why a disagreement that stays counted is not fourfold's error (`scripts/conformance-disagreements.json`):
 * - `peer_label`: the peer's label contradicts its own definition applied to the plan in the corpus
 *   (a Sentinel test whose mock edits its `planned_values` but ships the unedited plan as `raw`, a
 *   policy bug), or another of its labels for the same plan (`contradicted`);
 * - `unknown_at_plan`: the value is known only after apply; fourfold answers `unknown`, never a finding;
 * - `provider_default`: the peer fails an attribute left out, whose provider default complies;
 * - `peer_scope`: the peer judges resources the control it implements leaves out.
 */
export const DISAGREEMENT_CAUSES = ['peer_label', 'unknown_at_plan', 'provider_default', 'peer_scope'] as const;
export type DisagreementCause = (typeof DISAGREEMENT_CAUSES)[number];

/** One explained FN or FP: still counted in every figure, listed with its cause. */
export interface DisagreementNote {
  peer: string;
  fixture: string;
  address?: string;
  classification: 'FN' | 'FP';
  cause: DisagreementCause;
  reason: string;
}

/** Validates the disagreements file against the labels; throws MappingError naming the first bad entry. */
export function validateDisagreementNotes(document: unknown, known: { peerChecks: ReadonlySet<string>; fixtures: ReadonlySet<string> }): DisagreementNote[] {
  if (typeof document !== 'object' || document === null || !Array.isArray((document as { disagreements?: unknown }).disagreements)) {
    throw new MappingError('the disagreements file must be an object {"disagreements": [...]}');
  }
  const seen = new Set<string>();
  return (document as { disagreements: unknown[] }).disagreements.map((entry, index) => {
    const e = (typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? entry : {}) as Record<string, unknown>;
    const fail = (message: string): never => {
      throw new MappingError(`disagreements[${index}] (${String(e.peer)} on ${String(e.fixture)}): ${message}`);
    };
    const extra = Object.keys(e).filter((key) => !['peer', 'fixture', 'address', 'classification', 'cause', 'reason'].includes(key));
    if (extra.length > 0) fail(`unknown field ${extra.join(', ')}`);
    if (typeof e.peer !== 'string' || !known.peerChecks.has(e.peer)) fail('unknown peer check (not in the labels\' checks)');
    if (typeof e.fixture !== 'string' || !known.fixtures.has(e.fixture)) fail('unknown fixture (not in the labels)');
    if (e.address !== undefined && (typeof e.address !== 'string' || e.address === '')) fail('"address" must be a Terraform address');
    if (e.classification !== 'FN' && e.classification !== 'FP') fail('"classification" must be FN or FP');
    if (typeof e.cause !== 'string' || !(DISAGREEMENT_CAUSES as readonly string[]).includes(e.cause)) fail(`bad cause "${String(e.cause)}": expected one of ${DISAGREEMENT_CAUSES.join(', ')}`);
    if (typeof e.reason !== 'string' || e.reason.trim() === '') fail('"reason" must say in one line why the verdict is not fourfold\'s error');
    const note: DisagreementNote = { peer: e.peer as string, fixture: e.fixture as string, classification: e.classification as 'FN' | 'FP', cause: e.cause as DisagreementCause, reason: e.reason as string };
    if (e.address !== undefined) note.address = e.address as string;
    const key = noteKey(note);
    if (seen.has(key)) fail('noted twice');
    seen.add(key);
    return note;
  });
}

const noteKey = (n: { peer: string; fixture: string; address?: string | null }): string => `${n.peer}\u0000${n.fixture}\u0000${n.address ?? ''}`;

/** A scored FN or FP (contradicted or not). */
export interface Disagreement {
  fixture: string;
  verdict: Verdict;
  contradicted: boolean;
}

/**
 * Pairs every disagreement with its note: `explained` (the note's classification matches),
 * `unexplained` (no note, or a note for the other classification), and `stale` notes that match
 * no disagreement any more (a rule or the reading changed: the note must go or be rewritten).
 */
export function explainDisagreements(disagreements: readonly Disagreement[], notes: readonly DisagreementNote[]): { explained: { disagreement: Disagreement; note: DisagreementNote }[]; unexplained: Disagreement[]; stale: DisagreementNote[] } {
  const byKey = new Map(notes.map((n) => [noteKey(n), n]));
  const used = new Set<DisagreementNote>();
  const explained: { disagreement: Disagreement; note: DisagreementNote }[] = [];
  const unexplained: Disagreement[] = [];
  for (const d of disagreements) {
    const note = byKey.get(noteKey({ peer: d.verdict.check, fixture: d.fixture, address: d.verdict.address }));
    if (note !== undefined && note.classification === d.verdict.classification) {
      explained.push({ disagreement: d, note });
      used.add(note);
    } else unexplained.push(d);
  }
  return { explained, unexplained, stale: notes.filter((n) => !used.has(n)) };
}

/** Groups import problem messages that differ only in names, quoted values and numbers. */
export function problemKind(message: string): string {
  return message
    .replace(/"[^"]*"/g, '"…"')
    .replace(/`[^`]*`/g, '`…`')
    .replace(/\b\d+(\.\d+)*\b/g, 'N')
    .trim();
}
