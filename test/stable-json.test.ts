import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseInventory } from '../src/imports/import-parsers';
import { contentHashOf, contentJson } from '../src/imports/resource-content';
import { stableJson } from '../src/stable-json';
import { syntheticResources } from '../scripts/synthetic-inventory';

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

/** The walk without recursion stableJson was before it handed JSON.stringify sorted values (stored content hashes come from it). */
function walkedStableJson(value: unknown): string {
  const out: string[] = [];
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
      const written = Object.keys(record).filter((key) => record[key] !== undefined && typeof record[key] !== 'function' && typeof record[key] !== 'symbol');
      const ordered: Record<string, true> = Object.create(null) as Record<string, true>;
      for (const key of written.sort()) ordered[key] = true;
      const keys = Object.keys(ordered);
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

/** Random JSON-like values, deterministic for `seed`: keys that sort and list in every way, text of every kind, holes and left-out values. */
function randomValues(seed: number, count: number): unknown[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const keys = ['a', 'b', 'B', 'Z', '_', 'aa', 'ab', 'é', '\u{1F600}', '0', '1', '2', '10', '01', '-1', '1.5', '4294967294', '4294967295', '__proto__', 'toJSON', '', ' ', 'key with space', '\u0000', '\ud800'];
  const strings = ['', 'x', 'a"b\\c', 'line\nbreak', '\u2028', '\u{1F600}', '\ud800', '\u0000', 'é', 'arn:aws:s3:::bucket'];
  const value = (depth: number): unknown => {
    const kind = depth > 6 ? Math.floor(random() * 5) : Math.floor(random() * 9);
    switch (kind) {
      case 0: return null;
      case 1: return pick([true, false]);
      case 2: return pick([0, -0, 1, -1.5, 1e21, 1e-7, 2 ** 53, NaN, Infinity]);
      case 3: return pick(strings);
      case 4: return pick([undefined, () => 1, Symbol('s'), new Date(Math.floor(random() * 2e12))]);
      case 5:
      case 6: {
        const object: Record<string, unknown> = {};
        for (let n = Math.floor(random() * 8); n > 0; n--) {
          const key = pick(keys);
          if (key === '__proto__') Object.defineProperty(object, key, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
          else object[key] = value(depth + 1);
        }
        return object;
      }
      default: {
        const array = Array.from({ length: Math.floor(random() * 6) }, () => value(depth + 1));
        if (array.length > 2 && random() < 0.2) delete array[1];
        return array;
      }
    }
  };
  return Array.from({ length: count }, () => value(0));
}

describe('stableJson', () => {
  it('writes random values exactly as the walk before it did', () => {
    for (const value of randomValues(20, 5000)) expect(stableJson(value)).toBe(walkedStableJson(value));
  });

  it.each([
    ['a class instance', new (class { b = 1; a = 2; })()],
    ['boxed scalars, a map, an object without prototype', { s: new String('ab'), n: new Number(3), m: new Map([[1, 2]]), o: Object.assign(Object.create(null) as object, { b: 1, a: 2 }) }],
    ['an own toJSON', { b: 1, a: { toJSON: () => 'replaced', z: 1 } }],
    ['a parsed __proto__ key', JSON.parse('{"b": 1, "__proto__": {"y": 1, "x": 2}, "a": [{"__proto__": 3}]}') as unknown],
    ['objects nested just below, at and just above the depth JSON.stringify is handed', [255, 256, 257, 300].map((levels) => {
      let value: unknown = 'leaf';
      for (let i = 0; i < levels; i++) value = { b: i, a: value };
      return value;
    })],
  ])('writes %s exactly as the walk before it did', (_case, value) => {
    expect(stableJson(value)).toBe(walkedStableJson(value));
  });

  it('gives the resources of the fixtures and of a synthetic inventory the content hashes they were stored with', () => {
    const fixtures = path.join(__dirname, 'fixtures/inventory');
    const digestOf = (resources: Parameters<typeof contentJson>[0][]) => {
      const all = createHash('sha256');
      for (const resource of resources) {
        expect(contentJson(resource)).toBe(walkedStableJson(JSON.parse(contentJson(resource)) as unknown));
        all.update(contentHashOf(contentJson(resource)));
      }
      return all.digest('hex');
    };
    const parsed = (file: string, format: 'native' | 'terraform_state' | 'terraform_show') =>
      parseInventory(format, JSON.parse(fs.readFileSync(path.join(fixtures, file), 'utf8'))).resources;
    // Digests of the resources' content hashes as the walk made them (before this implementation).
    expect(digestOf(parsed('native.json', 'native'))).toBe('8aaa2be214b4190bf21c106fe9631f10ea7c2690eb1df239d3d5f386420064b1');
    expect(digestOf(parsed('terraform.tfstate', 'terraform_state'))).toBe('1ece22ed6fee07cc4f21f80831c01bcda0771031bd948548c7818f00f846172c');
    expect(digestOf(parsed('show-plan.json', 'terraform_show'))).toBe('7901ea8fb9878ccd15d8e87c2d56dd280cb33486be60c71562404c1b581c08b3');
    expect(digestOf([...syntheticResources(3000, 3)])).toBe('e1f6e847a46caa061c84085a02df53aee13310b5a8e92f23ebe68e4af66b91d4');
  });

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
