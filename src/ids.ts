import { randomFillSync } from 'node:crypto';

/** `cli` OAuth clients; `oau` a user's authorization of one; `ocd`/`otk` OAuth code and token rows, `fev` finding events (internal); `ses` login sessions. */
export type IdPrefix = 'org' | 'usr' | 'req' | 'pat' | 'acc' | 'res' | 'imp' | 'cli' | 'oau' | 'ocd' | 'otk' | 'aud' | 'fnd' | 'fev' | 'pol' | 'rpt' | 'ses' | 'alr' | 'dlv' | 'whe' | 'evt' | 'log' | 'scn' | 'syn' | 'synr' | 'rot' | 'cln' | 'rpol';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const RANDOM_DIGITS = 16;
// Random bytes are drawn in bulk: one getRandomValues call per character (as ulidx makes) cost
// ~4 % of a request's CPU in the profile of issue 20, for the request id alone.
const pool = Buffer.alloc(RANDOM_DIGITS * 256);
let poolOffset = pool.length;
let lastTime = -1;
const random = new Uint8Array(RANDOM_DIGITS);
let timeText = '';

function drawRandom(): void {
  if (poolOffset + RANDOM_DIGITS > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  for (let i = 0; i < RANDOM_DIGITS; i++) random[i] = pool[poolOffset + i]! & 31;
  poolOffset += RANDOM_DIGITS;
}

/** Adds one to the random part (as base-32 digits), as monotonic ULIDs do within one millisecond. */
function incrementRandom(): void {
  for (let i = RANDOM_DIGITS - 1; i >= 0; i--) {
    if (random[i]! < 31) {
      random[i]!++;
      return;
    }
    random[i] = 0;
  }
  throw new Error('ULID random part overflowed within one millisecond');
}

/**
 * A monotonic ULID: ids made by one process sort in the order they were made, even within a
 * millisecond (the random part is incremented) and when the clock steps back (the last time is kept).
 */
export function ulid(): string {
  const now = Date.now();
  if (now <= lastTime) incrementRandom();
  else {
    lastTime = now;
    drawRandom();
    timeText = '';
    for (let t = now, i = 0; i < 10; i++, t = Math.floor(t / 32)) timeText = CROCKFORD[t % 32]! + timeText;
  }
  let text = timeText;
  for (let i = 0; i < RANDOM_DIGITS; i++) text += CROCKFORD[random[i]!];
  return text;
}

/** `<prefix>_<ULID>`, the shape of every id the API hands out. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid()}`;
}
