import { Kysely, PostgresDialect } from 'kysely';
import type { OpenAPIV3_1 } from 'openapi-types';
import pg from 'pg';
import pino from 'pino';
import request from 'supertest';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import type { Database } from '../src/db/schema';
import { loadOpenApiDocument } from '../src/http/openapi-document';
import { JobQueue } from '../src/jobs/job-queue';
import { TEST_SECRET, useTestApp } from './support/app';
import { expectError, expectStandardHeaders } from './support/expectations';

describe('the start-up check of handlers against the served document', () => {
  // createApp opens no connection; a database nothing listens on is enough.
  const pool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 500 });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const config = loadConfig({ JWT_SECRET: TEST_SECRET, DATABASE_URL: 'postgres://127.0.0.1:1/none' });
  const logger = pino({ level: 'silent' });
  const jobs = new JobQueue(db, config, logger);
  const build = (document: OpenAPIV3_1.Document) => createApp({ config, db, logger, signingSecret: TEST_SECRET, jobs, document });
  afterAll(() => db.destroy());

  it('starts with the bundled document', () => {
    expect(() => build(loadOpenApiDocument().document)).not.toThrow();
  });

  it('refuses a handler for an operation the document does not have, naming it', () => {
    const document = structuredClone(loadOpenApiDocument().document);
    delete document.paths!['/v1/compliance/score'];
    expect(() => build(document)).toThrow(
      'The handlers do not match the OpenAPI document: handler(s) for no operation of the served document: getComplianceScore.',
    );
  });

  it('refuses an operation of the document that has no handler, naming it', () => {
    const document = structuredClone(loadOpenApiDocument().document);
    document.paths!['/v1/nothing'] = { get: { operationId: 'getNothing', responses: { 200: { description: 'nothing' } } } };
    expect(() => build(document)).toThrow(
      'The handlers do not match the OpenAPI document: no handler for the operation(s) getNothing (GET /v1/nothing).',
    );
  });
});

describe('dispatch by operation', () => {
  const t = useTestApp();
  let owner: string;
  beforeAll(async () => {
    owner = await t.ownerToken();
  });
  const as = (token: string) => ({ Authorization: `Bearer ${token}` });

  it('hands the handler the path parameters by their spec names, percent-decoded', async () => {
    const plain = await request(t.app).get('/v1/rules/aws.s3.bucket_public_read').set(as(owner));
    expect(plain.status).toBe(200);
    expect(plain.body.id).toBe('aws.s3.bucket_public_read');
    const encoded = await request(t.app).get('/v1/rules/aws.s3.bucket%5Fpublic%5Fread').set(as(owner));
    expect(encoded.status).toBe(200);
    expect(encoded.body.id).toBe('aws.s3.bucket_public_read');
  });

  it('prefers a literal path to a template (GET /v1/policies/schema is not getPolicy)', async () => {
    const response = await request(t.app).get('/v1/policies/schema').set(as(owner));
    expect(response.status).toBe(200);
    expect(response.body).not.toHaveProperty('kind');
  });

  it('answers a trailing slash as the path without it', async () => {
    const response = await request(t.app).get('/v1/rules/aws.s3.bucket_public_read/').set(as(owner));
    expect(response.status).toBe(200);
    expect(response.body.id).toBe('aws.s3.bucket_public_read');
  });

  it('answers HEAD on a GET operation with its headers and no body', async () => {
    const response = await request(t.app).head('/health');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.text).toBeUndefined();
  });

  it('sends an error thrown by an async handler to the error handler', async () => {
    const response = await request(t.app).get('/v1/findings/fnd_01ARZ3NDEKTSV4RRFFQ69G5FAV').set(as(owner));
    expectError(response, 404, 'not_found');
    expectStandardHeaders(response);
  });

  it('answers 405 with Allow for a method the path does not have, and 404 for an unknown path', async () => {
    const wrongMethod = await request(t.app).put('/v1/rules').set(as(owner));
    expectError(wrongMethod, 405, 'method_not_allowed');
    expect(wrongMethod.headers.allow).toBe('GET, HEAD');
    expectError(await request(t.app).get('/v1/nothing').set(as(owner)), 404, 'not_found');
  });
});
