import type { Response } from 'express';
import express from 'express';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { setCharset } = require('express/lib/utils') as { setCharset: (type: string, charset: string) => string };

const send = express.response.send;

/**
 * `res.json` that hands Node the JSON text itself. Express's `send` turns a body of 1,000
 * characters or more into a Buffer (a copy of every list page, memory outside the heap that
 * hastens collections), which Node then writes apart from the headers; a string goes out in one
 * write with them. Headers and body are Express's: the same `Content-Type` with its charset and
 * `Content-Length` (the app sets no `json replacer`, `json spaces` nor `json escape`). Answers Express's own `send` serves unchanged: small bodies, `HEAD`, 204, 205
 * and 304, a `Transfer-Encoding`, and answers with a validator (`ETag`, or a fresh request).
 */
export function jsonAsText(this: Response, body: unknown): Response {
  const text: string | undefined = JSON.stringify(body);
  if (!this.get('Content-Type')) this.set('Content-Type', 'application/json');
  if (text === undefined || text.length < 1000 || !isPlainAnswer(this)) return send.call(this, text);
  this.set('Content-Type', setCharset(this.get('Content-Type')!, 'utf-8'));
  this.set('Content-Length', String(Buffer.byteLength(text)));
  this.end(text, 'utf8');
  return this;
}

function isPlainAnswer(res: Response): boolean {
  const { statusCode: status } = res;
  return (
    res.req.method !== 'HEAD' &&
    status !== 204 &&
    status !== 205 &&
    status !== 304 &&
    !res.get('Transfer-Encoding') &&
    !res.get('ETag') &&
    typeof res.app.get('etag fn') !== 'function' &&
    !res.req.fresh
  );
}
