import { parsePath, type PathStep } from './attribute-path';

/**
 * Values Terraform only knows after apply (`after_unknown` in a plan), or that an import could not
 * carry. A resource lists them as `unknown_paths`: attribute paths relative to `attributes`, in
 * the `attr()` syntax (`versioning[0].enabled`, or a whole block: `versioning`).
 *
 * Inside an evaluation, `attr()` on a resource (the evaluated one, a `related` or `referenced_by`
 * entry, an `account_defaults` entry) raises the "unknown value" signal (UnknownValueError) when
 * the path it reads
 *  - is an unknown path, or lies below one (`versioning[0].enabled` when `versioning` is unknown), or
 *  - is a parent of one (`versioning` when `versioning[0].enabled` is unknown): the subtree it
 *    answers is incomplete, so whatever the condition does with it is undecided.
 * CEL's `||` and `&&` absorb the signal when their other side decides (see evaluateRule), so a
 * known branch that already decides the result wins; an undecided result is `unknown`.
 */
export class UnknownValueError extends Error {
  override name = 'UnknownValueError';
  constructor(readonly paths: readonly string[]) {
    super(`unknown value: ${paths.join(', ')} (known only after apply)`);
  }
}

interface UnknownIndex {
  /** Each unknown path as steps, with its text. */
  paths: { text: string; steps: PathStep[] }[];
}

const indexes = new WeakMap<object, UnknownIndex | null>();

/** The unknown paths of a resource-shaped map (one with `unknown_paths`), parsed once per object. */
function indexOf(map: Record<string, unknown>): UnknownIndex | null {
  const declared = map.unknown_paths;
  // Most resources have every value known: no index to look up.
  if (declared === undefined) return null;
  let index = indexes.get(map);
  if (index !== undefined) return index;
  index = null;
  if (Array.isArray(declared) && declared.length > 0) {
    const paths: UnknownIndex['paths'] = [];
    for (const text of declared) {
      if (typeof text !== 'string') continue;
      try {
        paths.push({ text, steps: parsePath(text) });
      } catch {
        // A malformed path from an import is ignored rather than failing every rule.
      }
    }
    index = paths.length > 0 ? { paths } : null;
  }
  indexes.set(map, index);
  return index;
}

/** Whether one list of steps is a prefix of the other (either way). */
function overlaps(a: readonly PathStep[], b: readonly PathStep[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The unknown paths a read of `steps` (from the map's root: `attributes`, ...) touches: the path
 * itself, one above it, or ones below it. Empty when the map is not a resource with unknowns.
 */
export function unknownPathsRead(map: Record<string, unknown>, steps: readonly PathStep[]): readonly string[] {
  if (steps[0] !== 'attributes') return NONE;
  const index = indexOf(map);
  if (index === null) return NONE;
  const relative = steps.slice(1);
  const touched: string[] = [];
  for (const path of index.paths) if (overlaps(relative, path.steps)) touched.push(path.text);
  return touched;
}

const NONE: readonly string[] = Object.freeze([]);

/** How another resource's unknown path is reported: `type[native_id].path`. */
export function qualifiedPath(map: Record<string, unknown>, path: string): string {
  return `${String(map.type)}[${String(map.native_id)}].${path}`;
}

/**
 * The unknown paths read during the evaluation running now (evaluation is synchronous, so one
 * collector serves the process); null outside an evaluation.
 */
let collector: { self: unknown; reads: Set<string> | null } | null = null;

/**
 * Runs `run(argument)` collecting the unknown paths `attr()` reads; `self` is the evaluated
 * resource (its paths are reported unqualified). Called once per evaluation, so it allocates
 * nothing more when no unknown value is read (the common case).
 */
export function collectingUnknownReads<A, T>(self: unknown, run: (argument: A) => T, argument: A): { value: T; reads: readonly string[] } | { error: unknown; reads: readonly string[] } {
  const previous = collector;
  const current: { self: unknown; reads: Set<string> | null } = { self, reads: null };
  collector = current;
  try {
    const value = run(argument);
    return { value, reads: current.reads === null ? NONE : [...current.reads] };
  } catch (error) {
    return { error, reads: current.reads === null ? NONE : [...current.reads] };
  } finally {
    collector = previous;
  }
}

/** Raises the unknown signal for these paths of `map`, recording them for the evaluation. */
export function raiseUnknown(map: Record<string, unknown>, paths: readonly string[]): never {
  const reported = collector !== null && map !== collector.self ? paths.map((p) => qualifiedPath(map, p)) : [...paths];
  if (collector !== null) for (const path of reported) (collector.reads ??= new Set()).add(path);
  throw new UnknownValueError(reported);
}
