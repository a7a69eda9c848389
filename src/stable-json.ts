/**
 * JSON with object keys sorted at every depth, so equal values always serialize alike.
 *
 * It walks without recursion, so no value is too deep for it (a request body may nest thousands
 * of levels; `JSON.stringify` itself overflows the stack on about 5,000). The output is what
 * `JSON.stringify` gives for a copy of the value with its keys sorted: a `Date` as its ISO
 * string, `undefined`, functions and symbols left out of objects and `null` in arrays, and, as
 * in any JavaScript object, integer-like keys first in numeric order (content hashes depend on it).
 */
export function stableJson(value: unknown): string {
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
