/**
 * JSON with object keys sorted at every depth, so equal values always serialize alike.
 *
 * The output is what `JSON.stringify` gives for a copy of the value with its keys sorted: a
 * `Date` as its ISO string, `undefined`, functions and symbols left out of objects and `null` in
 * arrays, and, as in any JavaScript object, integer-like keys first in numeric order (content
 * hashes depend on it). Imports hash every resource with it, so it takes the fastest way there:
 * `JSON.stringify` itself, given copies only of the objects whose keys are out of order (or that
 * hold such objects), which measured more than twice as fast as writing each key and value. A
 * value nested deeper than `NATIVE_DEPTH` (a request body may nest thousands of levels;
 * `JSON.stringify` overflows the stack on about 5,000) is written by a walk without recursion.
 */
export function stableJson(value: unknown): string {
  const ordered = orderedForStringify(value, 1);
  return ordered === TOO_DEEP ? stableJsonWalk(value) : (JSON.stringify(ordered) ?? 'null');
}

const NATIVE_DEPTH = 256;
const TOO_DEEP = Symbol('too deep');

/**
 * `value` with every object's keys in sorted order, for `JSON.stringify`: the value itself where
 * it already is (and holds no objects or dates `JSON.stringify` would write otherwise than the
 * walk does), else a copy. Every object other than an array, a date or a plain object with its
 * keys in order is copied as a plain object of its own enumerable keys, as the walk reads it
 * (so no `toJSON` of its own is called).
 */
function orderedForStringify(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > NATIVE_DEPTH) return TOO_DEEP;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === null || typeof item !== 'object') continue;
      const ordered = orderedForStringify(item, depth + 1);
      if (ordered === TOO_DEEP) return TOO_DEEP;
      if (ordered !== item) (copy ??= value.slice())[i] = ordered;
    }
    return copy ?? value;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  const prototype: unknown = Object.getPrototypeOf(record);
  let same = prototype === Object.prototype || prototype === null;
  for (let i = 1; same && i < keys.length; i++) if (keys[i - 1]! > keys[i]!) same = false;
  const items: unknown[] = new Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const item = record[keys[i]!];
    if (typeof item === 'function') {
      same = false; // left out of the copy: one named toJSON would be called
    } else if (item !== null && typeof item === 'object') {
      const ordered = orderedForStringify(item, depth + 1);
      if (ordered === TOO_DEEP) return TOO_DEEP;
      if (ordered !== item) same = false;
      items[i] = ordered;
    } else {
      items[i] = item;
    }
  }
  if (same) return record;
  // Keys inserted sorted list integer-like ones first, in numeric order, as the walk writes them.
  const byKey = new Map<string, unknown>();
  for (let i = 0; i < keys.length; i++) byKey.set(keys[i]!, items[i]);
  const copy: Record<string, unknown> = {};
  for (const key of keys.sort()) {
    const item = byKey.get(key);
    if (item === undefined) continue;
    if (key === '__proto__') Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true });
    else copy[key] = item;
  }
  return copy;
}

/** The walk without recursion, for values too deep for `JSON.stringify`. */
function stableJsonWalk(value: unknown): string {
  const out: string[] = [];
  // Work to do, last first: a value to write, or punctuation to emit after a container's items.
  const work: ({ value: unknown } | { text: string })[] = [{ value }];
  while (work.length > 0) {
    const item = work.pop()!;
    if ('text' in item) {
      out.push(item.text);
      continue;
    }
    const current = item.value instanceof Date ? item.value.toISOString() : item.value;
    if (Array.isArray(current)) {
      out.push('[');
      work.push({ text: ']' });
      for (let i = current.length - 1; i >= 0; i--) {
        work.push({ value: current[i] === undefined || typeof current[i] === 'function' || typeof current[i] === 'symbol' ? null : current[i] });
        if (i > 0) work.push({ text: ',' });
      }
    } else if (current !== null && typeof current === 'object') {
      const record = current as Record<string, unknown>;
      const keys = orderedKeys(Object.keys(record).filter((key) => isWritten(record[key])));
      out.push('{');
      work.push({ text: '}' });
      for (let i = keys.length - 1; i >= 0; i--) {
        work.push({ value: record[keys[i]!] });
        work.push({ text: `${i > 0 ? ',' : ''}${JSON.stringify(keys[i])}:` });
      }
    } else {
      out.push(JSON.stringify(current) ?? 'null');
    }
  }
  return out.join('');
}

function isWritten(value: unknown): boolean {
  return value !== undefined && typeof value !== 'function' && typeof value !== 'symbol';
}

/** Sorted keys in the order an object built by inserting them in that order lists them. */
function orderedKeys(keys: string[]): string[] {
  const ordered: Record<string, true> = Object.create(null) as Record<string, true>;
  for (const key of keys.sort()) ordered[key] = true;
  return Object.keys(ordered);
}
