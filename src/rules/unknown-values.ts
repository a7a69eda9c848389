import { parsePath, valueAtSteps, type PathStep } from './attribute-path';

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
 * Items handed out by `items()`: the resource they belong to and the unknown paths below them
 * (steps relative to the item; text as the resource names them).
 */
const itemUnknowns = new WeakMap<object, { owner: Record<string, unknown>; paths: { text: string; steps: PathStep[] }[] }>();

/** The unknown paths a map holds, with the map that owns them and the steps from the map to the paths' root; null when none. */
function unknownsOf(map: Record<string, unknown>, steps: readonly PathStep[]): { owner: Record<string, unknown>; relative: readonly PathStep[]; paths: UnknownIndex['paths'] } | null {
  const item = itemUnknowns.get(map);
  if (item !== undefined) return { owner: item.owner, relative: steps, paths: item.paths };
  const index = indexOf(map);
  if (index === null || steps[0] !== 'attributes') return null;
  return { owner: map, relative: steps.slice(1), paths: index.paths };
}

/**
 * The unknown paths a read of `steps` (from the map's root: `attributes`, ... on a resource; from
 * the item on an item of `items()`) touches: the path itself, one above it, or ones below it.
 * Empty when the map holds no unknowns.
 */
export function unknownPathsRead(map: Record<string, unknown>, steps: readonly PathStep[]): readonly string[] {
  const unknowns = unknownsOf(map, steps);
  if (unknowns === null) return NONE;
  const touched: string[] = [];
  for (const path of unknowns.paths) if (overlaps(unknowns.relative, path.steps)) touched.push(path.text);
  return touched;
}

/** The resource whose unknown values a map holds: itself, or for an item of `items()` its resource. */
export function unknownOwner(map: Record<string, unknown>): Record<string, unknown> {
  return itemUnknowns.get(map)?.owner ?? map;
}

/**
 * The items of the list at `steps` (a single value as a one-item list, nothing as none), each
 * readable by `attr()` with the unknown values below it. Raises the unknown signal when how many
 * items there are, or what one of them is as a whole, is unknown: the list or what holds it is an
 * unknown path, or an item is.
 */
export function listItems(map: Record<string, unknown>, steps: readonly PathStep[]): unknown[] {
  const value = valueAtSteps(map, steps);
  const list = Array.isArray(value) ? value : value === null || value === undefined ? [] : [value];
  const unknowns = unknownsOf(map, steps);
  if (unknowns === null) return list;
  const depth = unknowns.relative.length;
  const touched = unknowns.paths.filter((path) => overlaps(unknowns.relative, path.steps));
  const undecided = touched.filter((path) => path.steps.length <= depth + 1 || !Array.isArray(value));
  if (undecided.length > 0) raiseUnknown(unknowns.owner, undecided.map((path) => path.text));
  if (touched.length === 0) return list;
  return list.map((item, i) => {
    const below = touched.filter((path) => path.steps[depth] === i);
    if (below.length === 0) return item;
    // Only a map item can be read with attr(); anything else holding unknowns is undecided as a whole.
    if (typeof item !== 'object' || item === null || Array.isArray(item)) raiseUnknown(unknowns.owner, below.map((path) => path.text));
    const copy: Record<string, unknown> = { ...(item as Record<string, unknown>) };
    itemUnknowns.set(copy, { owner: unknowns.owner, paths: below.map((path) => ({ text: path.text, steps: path.steps.slice(depth + 1) })) });
    return copy;
  });
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
