import express from 'express';
import type { OpenAPIV3_1 } from 'openapi-types';
import request from 'supertest';
import { responseValidator } from '../src/http/openapi-validation';
import { OperationIndex } from '../src/http/operations';
import { resolveOperation } from '../src/http/resolve-operation';

// The response validator on a document of its own: a component referred to from a response
// schema, a response object that is itself a `$ref`, a format of OpenAPI's (`int32`).
const document: OpenAPIV3_1.Document = {
  openapi: '3.1.0',
  info: { title: 'validator test', version: '1' },
  paths: {
    '/things/{kind}': {
      get: {
        operationId: 'getThing',
        parameters: [{ name: 'kind', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': { description: 'a thing', content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } },
          '404': { $ref: '#/components/responses/NotFound' },
          '5XX': { description: 'a failure', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        },
      },
    },
  },
  components: {
    schemas: {
      Thing: {
        type: 'object',
        required: ['id', 'count'],
        additionalProperties: false,
        properties: { id: { type: 'string' }, count: { type: 'integer', format: 'int32' } },
      },
      Error: {
        type: 'object',
        required: ['error'],
        properties: { error: { type: 'object', required: ['code'], properties: { code: { type: 'string' } } } },
      },
    },
    responses: {
      NotFound: { description: 'not found', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    },
  },
};

/** What each `kind` answers: right, or wrong in one way. */
const answers: Record<string, (res: express.Response) => void> = {
  right: (res) => void res.json({ id: 't1', count: 3 }),
  'extra-field': (res) => void res.json({ id: 't1', count: 3, secret: 'leaked' }),
  'int32-overflow': (res) => void res.json({ id: 't1', count: 2 ** 31 }),
  'not-found': (res) => void res.status(404).json({ error: { code: 'not_found' } }),
  'not-found-wrong-shape': (res) => void res.status(404).json({ message: 'gone' }),
  'unlisted-status': (res) => void res.status(409).json({ error: { code: 'conflict' } }),
  'unlisted-media-type': (res) => void res.type('application/vnd.thing+json').json({ id: 't1', count: 3 }),
};

const app = express();
app.use((req, res, next) => {
  req.id = 'req_test';
  next();
});
app.use(resolveOperation(new OperationIndex(document)));
app.use(responseValidator(document));
app.get('/things/:kind', (req, res) => answers[req.params.kind]!(res));

it('lets a body that matches its status schema through, components and response $refs resolved', async () => {
  expect((await request(app).get('/things/right').expect(200)).body).toEqual({ id: 't1', count: 3 });
  expect((await request(app).get('/things/not-found').expect(404)).body).toEqual({ error: { code: 'not_found' } });
});

it.each(['extra-field', 'int32-overflow', 'not-found-wrong-shape', 'unlisted-status', 'unlisted-media-type'])(
  'answers 500 internal_error instead of a body outside the spec (%s)',
  async (kind) => {
    const response = await request(app).get(`/things/${kind}`);
    expect(response.status).toBe(500);
    expect(response.body.error).toMatchObject({ code: 'internal_error', request_id: 'req_test' });
    expect(JSON.stringify(response.body)).not.toContain('leaked');
  },
);
