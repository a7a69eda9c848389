import { monotonicFactory } from 'ulidx';

export type IdPrefix = 'org' | 'usr' | 'req' | 'pat' | 'acc' | 'res' | 'imp';

// Monotonic, so ids made by one process sort in the order they were made, even within a millisecond.
const ulid = monotonicFactory();

/** `<prefix>_<ULID>`, the shape of every id the API hands out. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid()}`;
}
