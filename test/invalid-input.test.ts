import type { OpenAPIV3_1 } from 'openapi-types';
import request from 'supertest';
import type { Operation } from '../src/http/operations';
import { as, OWNER, useTestApp } from './support/app';
import { expectAsSpecified, operationObject, requestExample, requiredQuery, resolved, SPEC, specOperations } from './support/spec-conformance';

// Driven by the spec, as a schema-based fuzzer would: every operation is sent each of its
// parameters (query, path, header) with a value its schema refuses, and bodies of the wrong shape
// or with one field of the wrong type. Each is refused with a 4xx the operation documents, in the
// media type the spec gives it, with its required headers: never accepted, never a 500.

// A fuzzer's volume, not a person's: the per-minute budgets are out of its way.
const t = useTestApp({ PLATFORM_ADMINS: OWNER.username, RATE_LIMIT_PER_MINUTE: '100000', RATE_LIMIT_HEAVY_PER_MINUTE: '100000' });
let owner: string;
beforeAll(async () => {
  owner = await t.ownerToken();
});

type Schema = OpenAPIV3_1.SchemaObject;

/** A value `schema` refuses, as text for a query, path or header; undefined when no simple one is known. */
function invalidText(schema: Schema): string | undefined {
  if (schema.enum) return 'not-a-listed-value';
  switch (schema.type) {
    case 'integer':
    case 'number':
      return 'not-a-number';
    case 'boolean':
      return 'maybe';
    case 'array':
      return schema.items ? invalidText(resolved<Schema>(schema.items)) : undefined;
    case 'string':
      if (schema.format === 'date-time') return 'yesterday';
      if (schema.pattern && !new RegExp(schema.pattern, 'u').test('!!')) return '!!';
      if (schema.maxLength !== undefined) return 'x'.repeat(schema.maxLength + 1);
      return undefined;
    default:
      return undefined;
  }
}

/** A JSON value of another type than `schema` allows. */
function wrongType(schema: Schema): unknown {
  const types = [schema.type ?? []].flat();
  if (types.length === 0 || schema.oneOf || schema.anyOf || schema.allOf) return undefined;
  if (!types.includes('string')) return 'a string';
  if (!types.includes('integer') && !types.includes('number')) return 12345;
  return undefined;
}

/** The OAuth endpoints ignore unknown parameters, as RFC 6749 §3.1 and §3.2 require. */
function ignoresUnknownQuery(op: Operation): boolean {
  return (operationObject(op) as Record<string, unknown>)['x-eov-allow-unknown-query-parameters'] === true;
}

function parametersOf(op: Operation): OpenAPIV3_1.ParameterObject[] {
  return [...(SPEC.paths![op.path]!.parameters ?? []), ...(operationObject(op).parameters ?? [])].map((p) => resolved<OpenAPIV3_1.ParameterObject>(p));
}

interface Variant {
  name: string;
  op: Operation;
  path: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string>;
  body?: unknown;
  /** Sent as this raw text with this Content-Type instead of `body`. */
  raw?: { type: string; text: string };
}

function jsonSchemaOf(op: Operation): Schema | undefined {
  const body = operationObject(op).requestBody;
  const schema = body ? resolved<OpenAPIV3_1.RequestBodyObject>(body).content['application/json']?.schema : undefined;
  return schema ? resolved<Schema>(schema) : undefined;
}

function variantsOf(op: Operation): Variant[] {
  const parameters = parametersOf(op);
  const base = {
    op,
    path: Object.fromEntries(parameters.filter((p) => p.in === 'path').map((p) => [p.name, String(p.example ?? resolved<Schema>(p.schema ?? {}).examples?.[0] ?? 'x')])),
    query: requiredQuery(op),
    headers: {},
    body: requestExample(op),
  };
  const variants: Variant[] = [];
  for (const parameter of parameters) {
    const value = invalidText(resolved<Schema>(parameter.schema ?? {}));
    if (value === undefined) continue;
    const name = `${parameter.in} ${parameter.name}=${value.length > 20 ? `${value.slice(0, 8)}… (${value.length} characters)` : value}`;
    if (parameter.in === 'query') variants.push({ ...base, name, query: { ...base.query, [parameter.name]: value } });
    if (parameter.in === 'path') variants.push({ ...base, name, path: { ...base.path, [parameter.name]: value } });
    if (parameter.in === 'header') variants.push({ ...base, name, headers: { [parameter.name]: value } });
  }
  if (!ignoresUnknownQuery(op)) variants.push({ ...base, name: 'an unknown query parameter', query: { ...base.query, no_such_parameter: '1' } });
  const schema = jsonSchemaOf(op);
  if (schema) {
    variants.push({ ...base, name: 'a JSON array for a body', body: [] }, { ...base, name: 'a JSON string for a body', body: 'text' });
    variants.push({ ...base, name: 'a body that is not JSON', raw: { type: 'application/json', text: '{"unterminated": ' } });
    variants.push({ ...base, name: 'a body in text/plain', raw: { type: 'text/plain', text: 'plain text' } });
    if ((schema.required ?? []).length > 0) variants.push({ ...base, name: 'an empty object for a body', body: {} });
    const example = base.body;
    if (example && typeof example === 'object' && !Array.isArray(example)) {
      for (const [property, propertySchema] of Object.entries(schema.properties ?? {})) {
        const wrong = wrongType(resolved<Schema>(propertySchema));
        if (wrong !== undefined) variants.push({ ...base, name: `body.${property} of the wrong type`, body: { ...example, [property]: wrong } });
      }
      if (schema.additionalProperties === false) variants.push({ ...base, name: 'an unknown body field', body: { ...example, no_such_field: 1 } });
    }
  }
  return variants;
}

const variants = specOperations().flatMap(variantsOf);

it('finds invalid variants of the spec operations to send', () => {
  expect(variants.length).toBeGreaterThan(300);
});

it.each(variants.map((v) => [`${v.op.method.toUpperCase()} ${v.op.path}: ${v.name}`, v] as const))('%s is refused with a documented 4xx', async (_name, v) => {
  const url = v.op.path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(v.path[name]!));
  let call = request(t.app)[v.op.method as 'get'](url).query(v.query).set(as(owner)).set(v.headers);
  if (v.raw) call = call.set('Content-Type', v.raw.type).send(v.raw.text);
  else if (v.body !== undefined) call = call.send(v.body as object);
  const response = await call;
  expect({ status: response.status, refused: response.status >= 400 && response.status < 500 }).toEqual({ status: response.status, refused: true });
  expectAsSpecified(response);
  // The OAuth endpoints answer errors in RFC 6749's shape, which the response validation checks.
  if (response.headers['content-type']?.startsWith('application/json') && !v.op.path.startsWith('/oauth/')) {
    expect(response.body.error).toEqual({ code: expect.any(String), message: expect.any(String), request_id: response.headers['x-request-id'], details: expect.any(Array) });
  }
});

const ignoring = specOperations().filter(ignoresUnknownQuery);

it('finds the operations that ignore unknown query parameters', () => {
  expect(ignoring.map((op) => op.operationId).sort()).toEqual(['authorizeClient', 'createOAuthToken', 'introspectOAuthToken', 'revokeOAuthToken']);
});

it.each(ignoring.map((op) => [`${op.method.toUpperCase()} ${op.path}`, op] as const))('%s answers as if an unknown query parameter were not there', async (_name, op) => {
  const example = requestExample(op, 'application/x-www-form-urlencoded');
  const send = (query: Record<string, string>) => {
    const call = request(t.app)[op.method as 'get'](op.path).query(query);
    return example ? call.type('form').send(example) : call;
  };
  const without = await send({});
  const withUnknown = await send({ no_such_parameter: '1' });
  expectAsSpecified(withUnknown);
  expect({ status: withUnknown.status, error: withUnknown.body?.error }).toEqual({ status: without.status, error: without.body?.error });
});
