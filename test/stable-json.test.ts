import { stableJson } from '../src/stable-json';

/** The recursive implementation stableJson replaced: the output must not change (content hashes depend on it). */
function recursiveStableJson(value: unknown): string {
  const withSortedKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(withSortedKeys);
    if (v instanceof Date) return v.toISOString();
    if (v === null || typeof v !== 'object') return v;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(v).sort()) sorted[key] = withSortedKeys((v as Record<string, unknown>)[key]);
    return sorted;
  };
  return JSON.stringify(withSortedKeys(value)) ?? 'null';
}

describe('stableJson', () => {
  it.each([
    ['scalars', [null, true, false, 0, -1.5, 1e21, NaN, Infinity, '', 'a"b\\c\n', '\u{1F600}', 's\ud800x', '\u0000']],
    ['sorted keys at every depth', { b: 1, a: { d: [{ z: 1, y: 2 }], c: null } }],
    ['integer-like keys first, in numeric order, as JavaScript objects list them', { b: 1, 10: 'x', 9: 'y', '01': 'z', a: { 2: 1, 1: 2 } }],
    ['undefined, functions and symbols left out of objects and null in arrays', { a: undefined, b: () => 1, c: Symbol('s'), d: [undefined, () => 1, Symbol('t'), 1] }],
    ['dates as ISO strings', { at: new Date('2026-01-02T03:04:05.678Z'), list: [new Date(0)] }],
    ['empty containers', { a: {}, b: [], c: [[], {}] }],
  ])('writes %s exactly as the recursive version did', (_case, value) => {
    expect(stableJson(value)).toBe(recursiveStableJson(value));
    expect(JSON.parse(stableJson(value))).toEqual(JSON.parse(recursiveStableJson(value)));
  });

  it.each([undefined, () => 1])('writes a top-level %p as null', (value) => {
    expect(stableJson(value)).toBe('null');
  });

  it('writes a value nested 100,000 levels deep (JSON.stringify overflows the stack on it)', () => {
    let value: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) value = i % 2 ? [value] : { a: value };
    const json = stableJson(value);
    expect(json.startsWith('[{"a":[{"a":')).toBe(true);
    expect(json.length).toBe(100_000 / 2 * ('[{"a":'.length + ']}'.length) + '"leaf"'.length);
  });
});
