import fs from 'node:fs';
import path from 'node:path';
import type { OpenAPIV3_1 } from 'openapi-types';
import type { Response } from 'supertest';
import { OperationIndex, type Operation } from '../../src/http/operations';

/** The bundled spec, as integrators and client generators read it. */
export const SPEC = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'generated', 'openapi.json'), 'utf8')) as OpenAPIV3_1.Document;
const index = new OperationIndex(SPEC);

/** A `$ref` of the spec resolved to what it points at. */
export function resolved<T>(node: T | OpenAPIV3_1.ReferenceObject): T {
  let current: unknown = node;
  while (current && typeof current === 'object' && '$ref' in current) {
    const pointer = (current as OpenAPIV3_1.ReferenceObject).$ref.slice(2).split('/');
    current = pointer.reduce<unknown>((at, key) => (at as Record<string, unknown>)[key.replaceAll('~1', '/').replaceAll('~0', '~')], SPEC);
  }
  return current as T;
}

/** Every operation of the spec, with its template path. */
export function specOperations(): Operation[] {
  return index.operations();
}

/** The spec's operation object of `operation`. */
export function operationObject(operation: Operation): OpenAPIV3_1.OperationObject {
  return SPEC.paths![operation.path]![operation.method as 'get']!;
}

/** The first request example the spec gives `operation` for `mediaType`, if any. */
export function requestExample(operation: Operation, mediaType = 'application/json'): Record<string, unknown> | undefined {
  const body = operationObject(operation).requestBody;
  if (!body) return undefined;
  const content = resolved<OpenAPIV3_1.RequestBodyObject>(body).content[mediaType];
  if (!content) return undefined;
  if (content.example !== undefined) return structuredClone(content.example) as Record<string, unknown>;
  const first = Object.values(content.examples ?? {})[0];
  return first ? (structuredClone(resolved<OpenAPIV3_1.ExampleObject>(first).value) as Record<string, unknown>) : undefined;
}

/** A valid value for each query parameter `operation` requires: its example, else its schema's first enum value or default. */
export function requiredQuery(operation: Operation): Record<string, string> {
  const query: Record<string, string> = {};
  for (const parameter of operationObject(operation).parameters ?? []) {
    const { in: location, name, required, example, schema } = resolved<OpenAPIV3_1.ParameterObject>(parameter);
    if (location !== 'query' || !required) continue;
    const s = schema ? resolved<OpenAPIV3_1.SchemaObject>(schema) : {};
    query[name] = String(example ?? s.examples?.[0] ?? s.enum?.[0] ?? s.default);
  }
  return query;
}

/**
 * The answer is one the spec documents for the operation the request reached: its status is
 * listed, its Content-Type is a media type listed for that status (none on a body-less answer),
 * and every header the spec marks required for that status is present.
 */
export function expectAsSpecified(response: Response): void {
  const req = (response as unknown as { req: { method: string; path: string } }).req;
  const url = new URL(req.path, 'http://x');
  const where = `${req.method} ${url.pathname} answered ${response.status}`;
  const match = index.find(req.method, url.pathname);
  if (!match || !('operation' in match)) throw new Error(`${where}: no operation of the spec`);
  const responses = operationObject(match.operation).responses ?? {};
  const status = String(response.status);
  const key = [status, `${status[0]}XX`, 'default'].find((candidate) => candidate in responses);
  expect({ where, documented: key !== undefined }).toEqual({ where, documented: true });
  const documented = resolved<OpenAPIV3_1.ResponseObject>(responses[key!]!);
  const mediaTypes = Object.keys(documented.content ?? {});
  const contentType = response.headers['content-type']?.split(';')[0]!.trim();
  if (mediaTypes.length === 0) {
    expect({ where, contentType }).toEqual({ where, contentType: undefined });
  } else if (response.status !== 304) {
    expect({ where, contentType, listed: mediaTypes.includes(contentType!) }).toEqual({ where, contentType, listed: true });
  }
  const missing = Object.entries(documented.headers ?? {})
    .filter(([, header]) => resolved<OpenAPIV3_1.HeaderObject>(header).required)
    .map(([name]) => name)
    .filter((name) => response.headers[name.toLowerCase()] === undefined);
  expect({ where, missing }).toEqual({ where, missing: [] });
}
