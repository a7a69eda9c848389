import { ulid } from 'ulidx';

/** `cli` OAuth clients; `oau` a user's authorization of one; `ocd`/`otk` OAuth code and token rows (internal). */
export type IdPrefix = 'org' | 'usr' | 'req' | 'cli' | 'oau' | 'ocd' | 'otk';

/** `<prefix>_<ULID>`, the shape of every id the API hands out. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid()}`;
}
