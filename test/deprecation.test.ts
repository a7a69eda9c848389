import type { OpenAPIV3_1 } from 'openapi-types';
import request from 'supertest';
import { loadOpenApiDocument } from '../src/http/openapi-document';
import { OperationIndex } from '../src/http/operations';
import { useTestApp } from './support/app';

type Extended = OpenAPIV3_1.OperationObject & { 'x-deprecated-at'?: string; 'x-sunset'?: string };

/** The bundled spec with GET /health marked deprecated as `marks` say. */
function deprecatingHealth(marks: Partial<Extended>): OpenAPIV3_1.Document {
  const document = structuredClone(loadOpenApiDocument().document);
  Object.assign(document.paths!['/health']!.get!, { deprecated: true, ...marks });
  return document;
}

const t = useTestApp({}, { document: deprecatingHealth({ 'x-deprecated-at': '2026-11-01T00:00:00Z', 'x-sunset': '2027-05-01T12:00:00Z' }) });

describe('a deprecated operation', () => {
  it('answers Deprecation (RFC 9745) and Sunset (RFC 8594) from its x-deprecated-at and x-sunset', async () => {
    const response = await request(t.app).get('/health');
    expect(response.status).toBe(200);
    expect(response.headers.deprecation).toBe(`@${Date.UTC(2026, 10, 1) / 1000}`);
    expect(response.headers.sunset).toBe('Sat, 01 May 2027 12:00:00 GMT');
  });

  it('says so on its error answers too', async () => {
    const response = await request(t.app).get('/health?verbose=1');
    expect(response.status).toBe(422);
    expect(response.headers.deprecation).toBe(`@${Date.UTC(2026, 10, 1) / 1000}`);
    expect(response.headers.sunset).toBe('Sat, 01 May 2027 12:00:00 GMT');
  });

  it('leaves the other operations without the headers', async () => {
    const response = await request(t.app).get('/v1/openapi.json');
    expect(response.status).toBe(200);
    expect(response.headers.deprecation).toBeUndefined();
    expect(response.headers.sunset).toBeUndefined();
  });

  it.each([
    [{}, 'x-deprecated-at'],
    [{ 'x-deprecated-at': '2026-11-01T00:00:00Z' }, 'x-sunset'],
    [{ 'x-deprecated-at': '2026-11-01', 'x-sunset': '2027-05-01T00:00:00Z' }, 'x-deprecated-at'],
    [{ 'x-deprecated-at': '2027-05-01T00:00:00Z', 'x-sunset': '2026-11-01T00:00:00Z' }, 'x-sunset must come after'],
  ])('without both dates in order (%j) refuses to load the spec', (marks, message) => {
    expect(() => new OperationIndex(deprecatingHealth(marks))).toThrow(message);
  });
});

it('the published spec marks no operation deprecated without its dates', () => {
  expect(() => new OperationIndex(loadOpenApiDocument().document)).not.toThrow();
});
