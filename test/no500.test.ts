import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { answerClientErrors } from '../src/http/client-error';
import { MAX_ATTRIBUTE_DEPTH } from '../src/imports/resource-limits';
import { as, startTestApp, type TestApp } from './support/app';
import { expectError, REQUEST_ID } from './support/expectations';

// Issue 16: inputs that used to answer 500 answer a 4xx in the error shape, and store nothing.

let t: TestApp;
let owner: string;
beforeAll(async () => {
  t = await startTestApp();
  owner = await t.ownerToken();
});
afterAll(() => t.close());

async function rowCounts() {
  const count = async (table: 'users' | 'organizations' | 'personal_access_tokens' | 'resources' | 'memberships') =>
    Number((await t.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  return {
    users: await count('users'),
    organizations: await count('organizations'),
    tokens: await count('personal_access_tokens'),
    resources: await count('resources'),
    memberships: await count('memberships'),
  };
}

let accountCount = 0;
async function newAccount(): Promise<string> {
  const externalId = String(200000000000 + ++accountCount);
  return (await request(t.app).post('/v1/accounts').set(as(owner)).send({ provider: 'aws', external_id: externalId, name: `n${accountCount}` }).expect(201)).body.id;
}

const bucket = (attributes: Record<string, unknown>, extra: object = {}) => ({
  resources: [{ type: 'aws_s3_bucket', native_id: 'arn:aws:s3:::b1', provider: 'aws', region: 'eu-west-1', name: 'b1', tags: {}, attributes, relationships: [], ...extra }],
});

describe('a NUL character (U+0000) anywhere in a request', () => {
  it('is refused at login, unauthenticated, with 422 naming the field', async () => {
    const before = await rowCounts();
    const response = await request(t.app).post('/auth/login').send({ username: 'a\u0000b', password: 'whatever-password' });
    expectError(response, 422, 'validation_failed');
    expect(response.body.error.details).toEqual([{ field: 'body.username', issue: expect.stringContaining('U+0000') }]);
    expect(await rowCounts()).toEqual(before);
  });

  it.each([
    ['a token name', 'post', '/v1/tokens', { name: 'x\u0000', scopes: ['findings:read'] }, 'body.name'],
    ['a member username', 'post', '/v1/members', { username: 'm\u0000@example.com', role: 'viewer', password: 'member-password-0123456789' }, 'body.username'],
    ['an organization name', 'patch', '/v1/organization', { name: 'Acme\u0000' }, 'body.name'],
    ['a key of an unknown field', 'post', '/v1/tokens', { name: 'ok', scopes: ['findings:read'], ['k\u0000']: 1 }, 'body.k\\u0000'],
  ])('is refused in %s with 422, storing nothing', async (_case, method, path, body, field) => {
    const before = await rowCounts();
    const response = await (method === 'post' ? request(t.app).post(path) : request(t.app).patch(path)).set(as(owner)).send(body);
    expectError(response, 422, 'validation_failed');
    expect(response.body.error.details).toContainEqual({ field, issue: expect.stringContaining('U+0000') });
    expect(await rowCounts()).toEqual(before);
    expect((await request(t.app).get('/v1/organization').set(as(owner)).expect(200)).body.name).not.toContain('\u0000');
  });

  it.each(['/v1/resources?q=a%00b', '/v1/resources?name=%00', '/v1/resources?tag=env:%00', '/v1/findings?q=%00', '/v1/findings?control=a%00'])(
    'is refused in the query %s with 422 naming the parameter',
    async (url) => {
      const response = await request(t.app).get(url).set(as(owner));
      expectError(response, 422, 'validation_failed');
      const name = new URL(url, 'http://x').searchParams.keys().next().value;
      expect(response.body.error.details).toEqual([{ field: `query.${name}`, issue: expect.stringContaining('U+0000') }]);
    },
  );

  it('is refused in a path parameter with 422', async () => {
    const response = await request(t.app).get('/v1/rules/aws.s3%00x').set(as(owner));
    expectError(response, 422, 'validation_failed');
    expect(response.body.error.details).toEqual([{ field: 'path', issue: expect.stringContaining('U+0000') }]);
  });

  it('is refused in sign-up, storing no organization or user', async () => {
    const signups = await startTestApp({ SIGNUP_ENABLED: 'true' }, { sharing: t });
    const before = await rowCounts();
    const response = await request(signups.app)
      .post('/auth/signup')
      .send({ organization_name: 'Nul\u0000 Inc', slug: 'nul-inc', username: 'nul@example.com', password: 'a-long-random-password-0123' });
    expectError(response, 422, 'validation_failed');
    expect(response.body.error.details).toEqual([{ field: 'body.organization_name', issue: expect.stringContaining('U+0000') }]);
    expect(await rowCounts()).toEqual(before);
  });

  it('is refused in imported attributes with 422 invalid_import naming the item and field', async () => {
    const account = await newAccount();
    const before = await rowCounts();
    const response = await request(t.app)
      .post(`/v1/accounts/${account}/imports?format=native`)
      .set(as(owner))
      .send(bucket({ bucket: 'b1', policy: { Statement: [{ Sid: 'x\u0000y' }] } }));
    expectError(response, 422, 'invalid_import');
    expect(response.body.error.details).toEqual([{ field: 'body', issue: expect.stringMatching(/^resources\[0\] attributes\.policy\.Statement\.0\.Sid: .*U\+0000/) }]);
    expect(await rowCounts()).toEqual(before);
  });

  it('is refused in a Terraform address, which the failed import record still stores', async () => {
    const account = await newAccount();
    const state = {
      version: 4,
      terraform_version: '1.6.0',
      serial: 1,
      lineage: 'x',
      outputs: {},
      resources: [
        {
          mode: 'managed',
          type: 'aws_s3_bucket',
          name: 'b\u0000',
          provider: 'provider["registry.terraform.io/hashicorp/aws"]',
          instances: [{ schema_version: 0, attributes: { id: 'b1', arn: 'arn:aws:s3:::b1', bucket: 'b\u0000', region: 'eu-west-1' } }],
        },
      ],
    };
    const before = await rowCounts();
    const response = await request(t.app).post(`/v1/accounts/${account}/imports?format=terraform_state`).set(as(owner)).send(state);
    expectError(response, 422, 'invalid_import');
    // The address is shown (and kept in the failed import's problems) with the NUL escaped.
    expect(response.body.error.details).toEqual([{ field: 'body', issue: expect.stringMatching(/^aws_s3_bucket\.b\\u0000 attributes\.bucket: .*U\+0000/) }]);
    expect(response.body.error.details[0].issue).not.toContain('\u0000');
    expect(await rowCounts()).toEqual(before);
    const imports = await request(t.app).get(`/v1/accounts/${account}/imports`).set(as(owner)).expect(200);
    expect(imports.body.data).toMatchObject([{ status: 'failed' }]);
  });
});

describe('a lone UTF-16 surrogate in a string', () => {
  it('is refused in an ordinary body with 422 naming the field', async () => {
    const before = await rowCounts();
    const response = await request(t.app)
      .post('/v1/tokens')
      .set(as(owner))
      .set('Content-Type', 'application/json')
      .send('{"name": "s\\ud800x", "scopes": ["findings:read"]}');
    expectError(response, 422, 'validation_failed');
    expect(response.body.error.details).toEqual([{ field: 'body.name', issue: expect.stringContaining('surrogate') }]);
    expect(await rowCounts()).toEqual(before);
  });

  it('is refused in imported attributes with 422 invalid_import naming the item', async () => {
    const account = await newAccount();
    const before = await rowCounts();
    const body = JSON.stringify(bucket({ bucket: 'b1', note: 'PLACEHOLDER' })).replace('PLACEHOLDER', 's\\ud800x');
    const response = await request(t.app).post(`/v1/accounts/${account}/imports?format=native`).set(as(owner)).set('Content-Type', 'application/json').send(body);
    expectError(response, 422, 'invalid_import');
    expect(response.body.error.details).toEqual([{ field: 'body', issue: expect.stringMatching(/^resources\[0\] attributes\.note: .*surrogate/) }]);
    expect(await rowCounts()).toEqual(before);
  });

  it('keeps a well-formed pair (an emoji) and a literal backslash-u text', async () => {
    const account = await newAccount();
    const response = await request(t.app)
      .post(`/v1/accounts/${account}/imports?format=native`)
      .set(as(owner))
      .send(bucket({ bucket: 'b1', note: 'ok \u{1F600}', path: 'C:\\u0000\\ud800' }));
    expect(response.status).toBe(201);
  });
});

describe('deeply nested import attributes', () => {
  // Sent as text: JSON.stringify itself overflows the stack on values this deep.
  const nestedJson = (depth: number) => '{"a":['.repeat(Math.floor(depth / 2)) + (depth % 2 ? '{"a":"leaf"}' : '"leaf"') + ']}'.repeat(Math.floor(depth / 2));
  const withAttribute = (body: object, json: string) => JSON.stringify(body).replace('"PLACEHOLDER"', json);
  const sendImport = (account: string, format: string, json: string) =>
    request(t.app).post(`/v1/accounts/${account}/imports?format=${format}`).set(as(owner)).set('Content-Type', 'application/json').send(json);

  it('refuses attributes nested 5,000 levels deep with 422 invalid_import naming the item', async () => {
    const account = await newAccount();
    const before = await rowCounts();
    const response = await sendImport(account, 'native', withAttribute(bucket({ deep: 'PLACEHOLDER' }), nestedJson(5000)));
    expectError(response, 422, 'invalid_import');
    expect(response.body.error.details).toEqual([{ field: 'body', issue: expect.stringMatching(/^resources\[0\].*nested more than/) }]);
    expect(await rowCounts()).toEqual(before);
  });

  it('refuses a terraform show document nested 5,000 levels deep in sensitive_values', async () => {
    const account = await newAccount();
    const show = {
      format_version: '1.0',
      values: {
        root_module: {
          resources: [
            {
              address: 'aws_s3_bucket.b',
              mode: 'managed',
              type: 'aws_s3_bucket',
              name: 'b',
              provider_name: 'registry.terraform.io/hashicorp/aws',
              values: { id: 'b1', arn: 'arn:aws:s3:::b1', bucket: 'b1', region: 'eu-west-1' },
              sensitive_values: 'PLACEHOLDER',
            },
          ],
        },
      },
    };
    const before = await rowCounts();
    const response = await sendImport(account, 'terraform_show', withAttribute(show, nestedJson(5000)));
    expectError(response, 422, 'invalid_import');
    expect(await rowCounts()).toEqual(before);
  });

  it('refuses a deep body with an Idempotency-Key too (its fingerprint is a stable JSON of the body)', async () => {
    const account = await newAccount();
    const response = await sendImport(account, 'native', withAttribute(bucket({ deep: 'PLACEHOLDER' }), nestedJson(20000))).set('Idempotency-Key', 'deep-1');
    expectError(response, 422, 'invalid_import');
  });

  it(`accepts attributes nested ${MAX_ATTRIBUTE_DEPTH} levels deep, and refuses one more`, async () => {
    const account = await newAccount();
    // `attributes` itself is the first level.
    const ok = await sendImport(account, 'native', withAttribute(bucket({ deep: 'PLACEHOLDER' }), nestedJson(MAX_ATTRIBUTE_DEPTH - 1)));
    expect(ok.status).toBe(201);
    const response = await sendImport(account, 'native', withAttribute(bucket({ deep: 'PLACEHOLDER' }), nestedJson(MAX_ATTRIBUTE_DEPTH)));
    expectError(response, 422, 'invalid_import');
    expect(response.body.error.details).toEqual([{ field: 'body', issue: expect.stringContaining(`nested more than ${MAX_ATTRIBUTE_DEPTH} levels`) }]);
  });
});

describe('a body that is not validly compressed', () => {
  it.each(['gzip', 'deflate', 'br'])('answers Content-Encoding: %s with 400 malformed_body', async (encoding) => {
    const before = await rowCounts();
    const response = await request(t.app)
      .post('/auth/login')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', encoding)
      .send('{"username": "a", "password": "b"} not compressed');
    expectError(response, 400, 'malformed_body');
    expect(response.body.error.message).toContain(encoding);
    expect(await rowCounts()).toEqual(before);
  });
});

describe('a request line or headers over the server limit', () => {
  it('answers 431 in the error shape with X-Request-Id, on a real server', async () => {
    const server = http.createServer(t.app);
    answerClientErrors(server, t.logger);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1');
        let received = '';
        socket.on('data', (chunk) => (received += chunk.toString('utf8')));
        socket.on('end', () => resolve(received));
        socket.on('close', () => resolve(received));
        socket.on('error', reject);
        socket.write(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
      });
      const [head, body] = raw.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 431 /);
      expect(head).toMatch(/\r\ncontent-type: application\/json/i);
      const requestId = /\r\nx-request-id: (\S+)/i.exec(head!)?.[1];
      expect(requestId).toMatch(REQUEST_ID);
      expect(JSON.parse(body!)).toEqual({ error: { code: 'request_header_too_large', message: expect.any(String), request_id: requestId, details: [] } });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('smaller fixes', () => {
  it('says a body is missing, not that it lacks a Content-Type, when none was sent', async () => {
    const response = await request(t.app).post('/auth/login');
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(response.body.error.message).not.toContain('has a body');
  });

  it('answers disabled sign-up with 404 every time, never 429', async () => {
    for (let i = 0; i < 7; i++) {
      const response = await request(t.app)
        .post('/auth/signup')
        .send({ organization_name: `Off ${i}`, slug: `off-${i}`, username: `off-${i}@example.com`, password: 'a-long-random-password-0123' });
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('not_found');
    }
  });
});
