import { sql } from 'kysely';
import request from 'supertest';
import { useTestApp } from './support/app';
import { expectError } from './support/expectations';

const t = useTestApp({ BODY_LIMIT_BYTES: '2048' });

describe('errors in the spec shape', () => {
  it('answers an unknown path with 404 not_found', async () => {
    const response = await request(t.app).get('/v1/nothing-here');
    expectError(response, 404, 'not_found');
    expect(response.body.error.message).toContain('/v1/nothing-here');
  });

  it('answers a wrong method with 405 method_not_allowed and an Allow header', async () => {
    const response = await request(t.app).delete('/auth/login');
    expectError(response, 405, 'method_not_allowed');
    expect(response.headers.allow).toBe('POST');
  });

  it('answers malformed JSON with 400 malformed_json', async () => {
    const response = await request(t.app)
      .post('/auth/login')
      .set('Content-Type', 'application/json')
      .send('{"username": "a",');
    expectError(response, 400, 'malformed_json');
  });

  it.each(['null', '42', '"text"'])('answers a JSON body that is not an object (%s) with 422 validation_failed', async (body) => {
    const response = await request(t.app).post('/auth/login').set('Content-Type', 'application/json').send(body);
    expectError(response, 422, 'validation_failed');
    expect(response.body.error.details).toEqual([{ field: 'body', issue: 'must be object' }]);
  });

  it('answers an invalid field with 422 validation_failed and one detail per field', async () => {
    const response = await request(t.app).post('/auth/login').send({ username: 'has space', extra: true });
    expectError(response, 422, 'validation_failed');
    const fields = (response.body.error.details as { field: string }[]).map((d) => d.field).sort();
    expect(fields).toEqual(['body.extra', 'body.password', 'body.username']);
    for (const detail of response.body.error.details) expect(detail.issue).toEqual(expect.any(String));
  });

  it('answers an unknown query parameter with 422 naming it', async () => {
    const response = await request(t.app).get('/health?verbose=1');
    expectError(response, 422, 'validation_failed');
    expect(response.body.error.details).toEqual([{ field: 'query.verbose', issue: expect.stringContaining('verbose') }]);
  });

  it('answers a body in the wrong content type with 415 unsupported_media_type', async () => {
    const response = await request(t.app)
      .post('/auth/login')
      .set('Content-Type', 'text/plain')
      .send('username=a&password=b');
    expectError(response, 415, 'unsupported_media_type');
    expect(response.body.error.message).toContain('text/plain');
  });

  it('answers an oversize body with 413 payload_too_large', async () => {
    const response = await request(t.app)
      .post('/auth/login')
      .send({ username: 'a', password: 'x'.repeat(4000) });
    expectError(response, 413, 'payload_too_large');
    expect(response.body.error.message).toContain('2048');
  });

  it('answers an unexpected failure with 500 internal_error that reveals nothing, and logs it', async () => {
    await sql`alter table users rename to users_gone`.execute(t.db);
    let response;
    try {
      response = await request(t.app).post('/auth/login').send({ username: 'a', password: 'b' });
    } finally {
      await sql`alter table users_gone rename to users`.execute(t.db);
    }
    expectError(response, 500, 'internal_error');
    expect(JSON.stringify(response.body)).not.toMatch(/users|relation|select|\.ts|stack/i);
    const line = t.logs.find((l) => l.request_id === response.headers['x-request-id']);
    expect(line).toMatchObject({ level: 50, res: { status: 500 }, err: { message: expect.stringContaining('users') } });
  });
});

describe('error details', () => {
  it('names a path parameter as path.<name>', async () => {
    const token = await t.ownerToken();
    const response = await request(t.app).get('/v1/members/xyz').set('Authorization', `Bearer ${token}`);
    expectError(response, 422, 'validation_failed');
    expect(response.body.error.details[0].field).toBe('path.user_id');
  });

  it('validates the path parameters of every request to an operation, not only of its first', async () => {
    const token = await t.ownerToken();
    const auth = { Authorization: `Bearer ${token}` };
    const me = (await request(t.app).get('/v1/me').set(auth)).body.user as { id: string };
    const known = await request(t.app).get(`/v1/members/${me.id}`).set(auth);
    expect(known.status).toBe(200);
    expect(known.body.user_id).toBe(me.id);
    const invalid = await request(t.app).get('/v1/members/usr_not-valid').set(auth);
    expectError(invalid, 422, 'validation_failed');
    expect(invalid.body.error.details[0].field).toBe('path.user_id');
    const malformed = await request(t.app).get('/v1/members/usr_%E0%A4%A').set(auth);
    expect(malformed.status).toBeGreaterThanOrEqual(400);
    expect(malformed.status).toBeLessThan(500);
    expect(malformed.body.error.request_id).toBe(malformed.headers['x-request-id']);
  });

  it('says when a body comes without a Content-Type', async () => {
    const response = await request(t.app).post('/auth/login').set('Content-Type', '').send('x');
    expectError(response, 415, 'unsupported_media_type');
    expect(response.body.error.message).not.toContain('undefined');
  });
});
