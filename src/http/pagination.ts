import { createHash } from 'node:crypto';
import { AppError } from '../errors';
import { stableJson } from '../stable-json';

const DEFAULT_LIMIT = 50;

/** A keyset position: the sort keys of the last row of a page, in sort order. */
export type CursorKeys = (string | number)[];

/**
 * Cursors are opaque to clients: base64url JSON of the last row's sort keys and a digest of the
 * filters and sort that produced the page, so a cursor reused with other filters is refused.
 */
export function encodeCursor(keys: CursorKeys, binding: unknown): string {
  return Buffer.from(JSON.stringify({ k: keys, b: digest(binding) })).toString('base64url');
}

/** What each key of a cursor must be: an API id, an RFC 3339 timestamp, any text, an integer, any finite number. */
export type CursorKeyKind = 'id' | 'timestamp' | 'text' | 'integer' | 'number';

/** The value a key of that kind has (distributes over a union of kinds). */
type CursorKeyOf<Kind> = Kind extends 'integer' | 'number' ? number : string;

/** The keyset position of a cursor whose keys are of `Kinds`, in order. */
export type CursorKeysOf<Kinds extends readonly CursorKeyKind[]> = { -readonly [I in keyof Kinds]: CursorKeyOf<Kinds[I]> };

/** The list envelope. */
export interface Page<Item> {
  data: Item[];
  next_cursor: string | null;
  has_more: boolean;
}

/**
 * A page of a keyset-paginated list: `query.limit` (default 50) items after the position in
 * `query.cursor`, and the cursor of the next page. The cursor is bound to `binding` (the list,
 * its filters and its sort), so one reused with other filters answers 400 `invalid_cursor`.
 *
 * `fetch` answers up to `limitPlusOne` rows after `after` (or from the start) in the list's
 * order; the extra row only says whether another page follows. `keysOf` answers a row's sort
 * keys, of the kinds `keyKinds` names, in order.
 */
export async function paginate<const Kinds extends readonly CursorKeyKind[], Row, Item>({
  query,
  binding,
  keyKinds,
  fetch,
  keysOf,
  toItem,
}: {
  query: { limit?: number; cursor?: string };
  binding: unknown;
  keyKinds: Kinds;
  fetch: (after: CursorKeysOf<Kinds> | undefined, limitPlusOne: number) => Promise<Row[]> | Row[];
  keysOf: (row: Row) => CursorKeysOf<Kinds>;
  toItem: (row: Row) => Item;
}): Promise<Page<Item>> {
  const limit = query.limit ?? DEFAULT_LIMIT;
  const after = query.cursor ? (decodeCursor(query.cursor, binding, keyKinds) as CursorKeysOf<Kinds>) : undefined;
  const rows = await fetch(after, limit + 1);
  return toPage(rows, limit, binding, keysOf, toItem);
}

const KEY_CHECKS: Record<CursorKeyKind, (key: unknown) => boolean> = {
  id: (key) => typeof key === 'string' && /^[a-z]{3}_[0-9A-HJKMNP-TV-Z]{26}$/.test(key),
  timestamp: (key) => typeof key === 'string' && /^\d{4}-\d\d-\d\dT/.test(key) && !Number.isNaN(Date.parse(key)),
  text: (key) => typeof key === 'string',
  integer: (key) => Number.isSafeInteger(key),
  number: (key) => typeof key === 'number' && Number.isFinite(key),
};

/**
 * The keyset position in `cursor`, its keys of the `kinds` given; 400 `invalid_cursor` if it is
 * corrupt (a hand-edited cursor included) or was made for other filters or sort.
 */
function decodeCursor(cursor: string, binding: unknown, kinds: readonly CursorKeyKind[]): CursorKeys {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  const { k, b } = (decoded ?? {}) as { k?: unknown; b?: unknown };
  const keysValid = Array.isArray(k) && k.length === kinds.length && kinds.every((kind, i) => KEY_CHECKS[kind](k[i]));
  if (!keysValid) {
    throw new AppError('invalid_cursor', 'The cursor is not one this API issued.', [{ field: 'query.cursor', issue: 'corrupt cursor' }]);
  }
  if (b !== digest(binding)) {
    throw new AppError('invalid_cursor', 'The cursor belongs to a listing with other filters or sort; start again without it.', [
      { field: 'query.cursor', issue: 'made for other filters or sort' },
    ]);
  }
  return k as CursorKeys;
}

/**
 * Turns `limit + 1` rows fetched after the cursor into a page of the list envelope; the extra row
 * only says whether another page follows.
 */
function toPage<Row, Item>(rows: Row[], limit: number, binding: unknown, keysOf: (row: Row) => CursorKeys, toItem: (row: Row) => Item): Page<Item> {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const last = pageRows.at(-1);
  return {
    data: pageRows.map(toItem),
    next_cursor: hasMore && last !== undefined ? encodeCursor(keysOf(last), binding) : null,
    has_more: hasMore,
  };
}

function digest(binding: unknown): string {
  return createHash('sha256').update(stableJson(binding)).digest('base64url').slice(0, 16);
}
