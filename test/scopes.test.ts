import fs from 'node:fs';
import path from 'node:path';
import type { OpenAPIV3_1 } from 'openapi-types';
import request from 'supertest';
import { OperationIndex, type Operation } from '../src/http/operations';
import { useTestApp } from './support/app';
import { expectError } from './support/expectations';

// Driven by the spec: every operation that declares scopes refuses a token that lacks them.
const document = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'generated', 'openapi.json'), 'utf8')) as OpenAPIV3_1.Document;
const ALL_SCOPES = document.components!.schemas!.Scope!.enum as string[];
const index = new OperationIndex(document);
const scoped: [string, Operation][] = [];
for (const [route, item] of Object.entries(document.paths ?? {})) {
  for (const method of ['get', 'post', 'put', 'patch', 'delete'] as const) {
    if (!item?.[method]) continue;
    const concrete = route.replace(/\{[^}]+\}/g, 'usr_01JD8X3N5W6Q2R4T7Y9ZABCDEF');
    const match = index.find(method, concrete);
    if (match && 'operation' in match && match.operation.requiredScopes.length > 0) {
      scoped.push([`${method.toUpperCase()} ${route}`, match.operation]);
    }
  }
}

const t = useTestApp();
let owner: string;
beforeAll(async () => {
  owner = await t.ownerToken();
});

it('finds scoped operations in the spec to check', () => {
  expect(scoped.length).toBeGreaterThanOrEqual(6);
});

it.each(scoped)('%s refuses a token lacking its scopes with 403 insufficient_scope', async (_name, operation) => {
  // No token can carry platform:admin: the operations that need it take login sessions, and an
  // owner's session lacks it (no organization role grants it).
  const lacking = ALL_SCOPES.filter((scope) => !operation.requiredScopes.includes(scope) && scope !== 'platform:admin');
  const secret = operation.requiredScopes.includes('platform:admin') ? owner : (await t.createPat(owner, lacking)).secret;
  const concretePath = operation.path.replace(/\{[^}]+\}/g, 'usr_01JD8X3N5W6Q2R4T7Y9ZABCDEF');
  const response = await request(t.app)[operation.method as 'get'](concretePath).set('Authorization', `Bearer ${secret}`).send({});
  expectError(response, 403, 'insufficient_scope');
  expect(response.body.error.message).toContain(operation.requiredScopes.join(' '));
  expect(response.headers['www-authenticate']).toBe(
    `Bearer realm="fourfold", error="insufficient_scope", scope="${operation.requiredScopes.join(' ')}"`,
  );
});
