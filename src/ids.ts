import { ulid } from 'ulidx';

export type IdPrefix = 'org' | 'usr' | 'req' | 'pat';

/** `<prefix>_<ULID>`, the shape of every id the API hands out. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid()}`;
}
