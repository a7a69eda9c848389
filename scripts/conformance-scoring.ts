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

export type Classification = 'TP' | 'FN' | 'FP' | 'TN' | 'ignored' | 'no_subject';

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
}

export const emptyTally = (): Tally => ({ TP: 0, FN: 0, FP: 0, TN: 0, ignored: 0, no_subject: 0, refused: 0 });

/** TP/(TP+FN), or null with no peer fail scored. */
export const recallOf = (t: Tally): number | null => (t.TP + t.FN === 0 ? null : t.TP / (t.TP + t.FN));
/** TP/(TP+FP), or null with no fourfold finding scored. */
export const precisionOf = (t: Tally): number | null => (t.TP + t.FP === 0 ? null : t.TP / (t.TP + t.FP));

/** Groups import problem messages that differ only in names, quoted values and numbers. */
export function problemKind(message: string): string {
  return message
    .replace(/"[^"]*"/g, '"…"')
    .replace(/`[^`]*`/g, '`…`')
    .replace(/\b\d+(\.\d+)*\b/g, 'N')
    .trim();
}
