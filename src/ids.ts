import { monotonicFactory } from 'ulidx';

/** `cli` OAuth clients; `oau` a user's authorization of one; `ocd`/`otk` OAuth code and token rows, `fev` finding events (internal); `ses` login sessions. */
export type IdPrefix = 'org' | 'usr' | 'req' | 'pat' | 'acc' | 'res' | 'imp' | 'cli' | 'oau' | 'ocd' | 'otk' | 'aud' | 'fnd' | 'fev' | 'pol' | 'rpt' | 'ses' | 'alr' | 'dlv' | 'whe' | 'evt' | 'scn';

// Monotonic, so ids made by one process sort in the order they were made, even within a millisecond.
const ulid = monotonicFactory();

/** `<prefix>_<ULID>`, the shape of every id the API hands out. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid()}`;
}
