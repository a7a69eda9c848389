/**
 * What PostgreSQL cannot store: text and jsonb refuse U+0000 (NUL), and a lone UTF-16 surrogate
 * is not Unicode at all (jsonb refuses its `\uD800` escape; text would silently get U+FFFD).
 * One check for every string that comes in, so that such input is refused with a 4xx before
 * anything is written, instead of failing half-way in the database with a 500.
 */

// Without the `u` flag a regular expression sees UTF-16 code units, so it can spot unpaired halves.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// eslint-disable-next-line no-control-regex -- finding NUL is the point
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Why this string cannot be stored, or `undefined` when it can. */
export function unstorableIn(text: string): string | undefined {
  if (text.includes('\u0000')) return 'contains a NUL character (U+0000), which cannot be stored';
  if (LONE_SURROGATE.test(text)) return 'contains a lone UTF-16 surrogate (an unpaired \\uD800–\\uDFFF), which is not valid Unicode';
  return undefined;
}

/** `text` with each NUL and lone surrogate written as its JSON escape (`\u0000`), so it can be shown and stored. */
export function escapeUnstorable(text: string): string {
  return text.replace(UNSTORABLE, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export type JsonPath = (string | number)[];

export interface JsonProblem {
  /** Keys and indexes from the scanned value to the offending string, key or container. */
  path: JsonPath;
  issue: string;
}

interface Pending {
  value: unknown;
  key: string | number | undefined;
  parent: Pending | undefined;
  depth: number;
}

/**
 * The first key or string in a parsed JSON value that cannot be stored, or (with `maxDepth`) the
 * first object or array nested deeper than that (the value itself is level 1). Walks without
 * recursion, so no input is too deep for it.
 */
export function findUnstorable(value: unknown, options: { maxDepth?: number; strings?: boolean } = {}): JsonProblem | undefined {
  const { maxDepth = Infinity, strings = true } = options;
  const stack: Pending[] = [{ value, key: undefined, parent: undefined, depth: 1 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    const { value: current, depth } = item;
    if (typeof current === 'string') {
      const issue = strings ? unstorableIn(current) : undefined;
      if (issue) return { path: pathOf(item), issue };
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (depth > maxDepth) return { path: pathOf(item), issue: `is nested more than ${maxDepth} levels deep` };
    const entries: [string | number, unknown][] = Array.isArray(current) ? current.map((v, i) => [i, v]) : Object.entries(current);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      const next: Pending = { value: child, key, parent: item, depth: depth + 1 };
      const issue = strings && typeof key === 'string' ? unstorableIn(key) : undefined;
      if (issue) return { path: pathOf(next), issue: `has a key that ${issue}` };
      stack.push(next);
    }
  }
  return undefined;
}

function pathOf(item: Pending): JsonPath {
  const path: JsonPath = [];
  for (let at: Pending | undefined = item; at?.key !== undefined; at = at.parent) path.push(at.key);
  return path.reverse();
}

/** `a.0.b`, as the request validator names fields; unstorable characters escaped. */
export function dottedPath(path: JsonPath): string {
  return path.map((step) => (typeof step === 'number' ? String(step) : escapeUnstorable(step))).join('.');
}
