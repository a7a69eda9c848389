import express, { type Response } from 'express';
import request from 'supertest';
import { jsonPieces, sendJson } from '../src/http/json-response';

const page = {
  data: [
    { id: 'fnd_1', title: 'Confidential VM not enabled (N2D, C2D, C3…)', note: null, evidence: { ports: [22, 3389], skipped: undefined } },
    { id: 'fnd_2', title: 'Ascii only', at: new Date(Date.UTC(2026, 10, 22, 8)) },
    { id: 'fnd_3', title: 'emoji 🔥 and a lone surrogate \ud800 and "quotes"\n' },
    undefined,
  ],
  next_cursor: 'eyJrIjpbMF19',
  has_more: true,
  omitted: undefined,
  handler: () => 1,
};

/** A page long enough to be encoded piece by piece. */
const largePage = { ...page, data: Array.from({ length: 200 }, () => page.data).flat() };

describe('jsonPieces', () => {
  it.each([
    ['a list page with text outside Latin-1, a Date, undefined and a function', page],
    ['a top-level array', [1, 'é', null, undefined, { a: [] }]],
    ['an empty object', {}],
    ['an object whose properties all have no JSON', { a: undefined, b: () => 1 }],
    ['an object whose first property has no JSON', { a: undefined, b: [], c: 'x' }],
    ['an object with a null prototype', Object.assign(Object.create(null) as object, { data: ['ü'] })],
  ])('are the text of JSON.stringify for %s', (_name, value) => {
    expect(jsonPieces(value as Record<string, unknown>).join('')).toBe(JSON.stringify(value));
  });
});

describe('sendJson', () => {
  /** An app answering `value` with `res.json`, Express's own or sendJson, after `prepare`. */
  function appAnswering(json: 'express' | 'sendJson', value: unknown, prepare: (res: Response) => void = () => {}) {
    const app = express();
    app.set('etag', false);
    if (json === 'sendJson') app.response.json = sendJson;
    app.all('/', (_req, res) => {
      prepare(res);
      res.json(value);
    });
    return app;
  }

  it.each<[string, unknown, (res: Response) => void]>([
    ['a list page', page, () => {}],
    ['a large list page', largePage, () => {}],
    ['a large list page with a status', largePage, (res) => void res.status(201)],
    ['a large list page with a Content-Type already set', largePage, (res) => void res.type('application/problem+json')],
    ['a large top-level array', largePage.data, () => {}],
    ['a 204', { data: [] }, (res) => void res.status(204)],
    ['a string', 'naïve', () => {}],
    ['null', null, () => {}],
    ['a Date', new Date(0), () => {}],
  ])('answers %s exactly as Express does, to GET and HEAD', async (_name, value, prepare) => {
    for (const method of ['get', 'head'] as const) {
      const expected = await request(appAnswering('express', value, prepare))[method]('/').buffer(true).parse(bytes);
      const actual = await request(appAnswering('sendJson', value, prepare))[method]('/').buffer(true).parse(bytes);
      expect(actual.status).toBe(expected.status);
      expect(actual.headers['content-type']).toBe(expected.headers['content-type']);
      expect(actual.headers['content-length']).toBe(expected.headers['content-length']);
      expect((actual.body as Buffer).toString('hex')).toBe((expected.body as Buffer).toString('hex'));
    }
  });
});

/** A supertest parser keeping the body's bytes. */
const bytes: Parameters<request.Test['parse']>[0] = (res, done: (error: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => done(null, Buffer.concat(chunks)));
};
