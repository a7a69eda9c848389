import request from 'supertest';
import { useTestApp } from './support/app';
import { expectError } from './support/expectations';

// A handler that drifts from the contract: /v1/me gains a field the spec's `Me` does not have.
jest.mock('../src/auth/auth.mapper', () => {
  const actual = jest.requireActual('../src/auth/auth.mapper');
  return { toMe: (...args: unknown[]) => ({ ...actual.toMe(...args), password_hash: 'leaked' }) };
});

const t = useTestApp();

it('turns a response with a field the spec lacks into a 500, so the drift fails its test', async () => {
  const response = await request(t.app).get('/v1/me').set('Authorization', `Bearer ${await t.ownerToken()}`);
  expectError(response, 500, 'internal_error');
  expect(JSON.stringify(response.body)).not.toContain('leaked');
  const line = t.logs.find((l) => l.request_id === response.headers['x-request-id']) as { err: { message: string } };
  expect(line.err.message).toMatch(/password_hash|additional properties/);
});
