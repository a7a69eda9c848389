import express, { type Response } from 'express';

/**
 * The text of `JSON.stringify(value)` in pieces: the JSON of each element of an array (at the top
 * or in a property of a top-level object) is a piece of its own.
 */
export function jsonPieces(value: unknown[] | Record<string, unknown>): string[] {
  const pieces: string[] = [];
  if (Array.isArray(value)) pushArray(pieces, value);
  else pushObject(pieces, value);
  return pieces;
}

/**
 * Encoding one large string costs about twice as much as encoding the same text in element-sized
 * strings, and three times as much when one character of it is outside Latin-1 (then the whole
 * text is two bytes a character): a list page of 100 findings paid 0.9 to 1.6 ms for it (issue
 * 20). Below this many characters, one string is cheaper: it goes out in one write with the headers.
 */
const PIECEWISE_FROM_CHARACTERS = 16_384;

/** The UTF-8 bytes of `pieces`, each encoded on its own. */
function bytesOf(pieces: string[]): Buffer {
  let length = 0;
  for (const piece of pieces) length += Buffer.byteLength(piece);
  const bytes = Buffer.allocUnsafe(length);
  let offset = 0;
  for (const piece of pieces) offset += bytes.write(piece, offset);
  return bytes;
}

/** An object JSON.stringify writes as its own enumerable properties (no prototype of its own, no `toJSON`). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return (prototype === Object.prototype || prototype === null) && typeof (value as { toJSON?: unknown }).toJSON !== 'function';
}

function pushArray(pieces: string[], items: unknown[]): void {
  pieces.push('[');
  items.forEach((item, i) => pieces.push(`${i === 0 ? '' : ','}${JSON.stringify(item) ?? 'null'}`));
  pieces.push(']');
}

function pushObject(pieces: string[], object: Record<string, unknown>): void {
  let separator = '{';
  for (const key of Object.keys(object)) {
    const value = object[key];
    if (Array.isArray(value)) {
      pieces.push(`${separator}${JSON.stringify(key)}:`);
      pushArray(pieces, value);
    } else {
      const text = JSON.stringify(value);
      // As JSON.stringify: a property whose value has no JSON (undefined, a function) is left out.
      if (text === undefined) continue;
      pieces.push(`${separator}${JSON.stringify(key)}:${text}`);
    }
    separator = ',';
  }
  pieces.push(separator === '{' ? '{}' : '}');
}

/**
 * `res.json` for the app (installed as `app.response.json`): Express's, with a large body that is
 * an array or a plain object encoded piece by piece (see PIECEWISE_FROM_CHARACTERS). The app sets no `json replacer`, `json spaces`
 * or `json escape`. Any other value, and a response whose Content-Type a handler already set (to
 * which Express adds the charset), goes through Express's own.
 */
export function sendJson(this: Response, value: unknown): Response {
  if (this.get('Content-Type') !== undefined || !(Array.isArray(value) || isPlainObject(value))) return express.response.json.call(this, value);
  const pieces = jsonPieces(value);
  let characters = 0;
  for (const piece of pieces) characters += piece.length;
  if (characters < PIECEWISE_FROM_CHARACTERS) {
    // As Express's res.json: send adds the charset to the type.
    this.set('Content-Type', 'application/json');
    return this.send(pieces.join(''));
  }
  this.set('Content-Type', 'application/json; charset=utf-8');
  return this.send(bytesOf(pieces));
}
