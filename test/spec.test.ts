import fs from 'node:fs';
import path from 'node:path';
import type { OpenAPIV3_1 } from 'openapi-types';

// The conventions of DESIGN.md that the linters do not check, over the bundled document.
const document = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', 'generated', 'openapi.json'), 'utf8'),
) as OpenAPIV3_1.Document;

function resolve<T>(value: T | OpenAPIV3_1.ReferenceObject): T {
  if (value && typeof value === 'object' && '$ref' in value) {
    const target = value.$ref
      .slice(2)
      .split('/')
      .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key.replace(/~1/g, '/')], document);
    return resolve(target as T);
  }
  return value as T;
}

const operations = Object.entries(document.paths ?? {}).flatMap(([route, item]) =>
  (['get', 'put', 'post', 'delete', 'patch'] as const)
    .filter((method) => item?.[method])
    .map((method) => [`${method.toUpperCase()} ${route}`, item![method]!] as const),
);

describe.each(operations)('%s', (_name, operation) => {
  it('has a camelCase verbNoun operationId, one tag, a summary and a description', () => {
    expect(operation.operationId).toMatch(/^(get|list|create|update|delete|replace|start|cancel|reanalyze|test|import|export|revoke|download|authorize|approve|introspect|accept|redeliver|rotate|verify)[A-Z][A-Za-z]*$/);
    expect(operation.tags).toHaveLength(1);
    expect(operation.summary).toEqual(expect.any(String));
    expect(operation.description).toEqual(expect.any(String));
  });

  it('has an example for its request body and for every response with a body', () => {
    const media = [
      ...Object.values(operation.requestBody ? resolve(operation.requestBody).content : {}),
      ...Object.values(operation.responses ?? {}).flatMap((response) => Object.values(resolve(response).content ?? {})),
    ];
    for (const content of media) expect(content.examples ?? content.example).toBeDefined();
  });

  it('declares X-Request-Id and the rate-limit headers on every response, and Retry-After on 429', () => {
    for (const [status, ref] of Object.entries(operation.responses ?? {})) {
      const headers = Object.keys(resolve(ref).headers ?? {});
      expect(headers).toEqual(expect.arrayContaining(['X-Request-Id', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset']));
      if (status === '429') expect(headers).toContain('Retry-After');
    }
  });

  it('declares Cache-Control: no-store and Pragma on its successful answers when marked x-no-store', () => {
    if ((operation as { 'x-no-store'?: boolean })['x-no-store'] !== true) return;
    const successes = Object.entries(operation.responses ?? {}).filter(([status]) => /^[23]/.test(status));
    expect(successes.length).toBeGreaterThan(0);
    for (const [, ref] of successes) {
      const headers = resolve(ref).headers ?? {};
      expect(resolve<OpenAPIV3_1.HeaderObject>(headers['Cache-Control']!).schema).toEqual({ type: 'string', const: 'no-store' });
      expect(resolve<OpenAPIV3_1.HeaderObject>(headers.Pragma!).schema).toEqual({ type: 'string', const: 'no-cache' });
    }
  });

  it('lists the same known scopes for every security scheme it accepts', () => {
    const known = Object.keys(
      (document.components?.securitySchemes?.oauth2 as OpenAPIV3_1.OAuth2SecurityScheme).flows.authorizationCode!.scopes,
    );
    const lists = (operation.security ?? document.security ?? []).map((requirement) => Object.values(requirement).flat().sort());
    for (const list of lists) {
      expect(list).toEqual(lists[0]);
      for (const scope of list) expect(known).toContain(scope);
    }
  });

  it('documents 500, 429 unless it spends no rate-limit budget, and 401 unless it is public', () => {
    const statuses = Object.keys(operation.responses ?? {});
    expect(statuses).toContain('500');
    const spendsNone = (operation as { 'x-rate-limit-budget'?: string })['x-rate-limit-budget'] === 'none';
    if (spendsNone) expect(statuses).not.toContain('429');
    else expect(statuses).toContain('429');
    const isPublic = operation.security?.length === 0;
    if (!isPublic) expect(statuses).toContain('401');
  });
});

// Generators (openapi-typescript, hey-api, orval) type the items of an `allOf` envelope as
// `unknown`, so each list is one concrete object schema naming its item.
const schemas = document.components?.schemas ?? {};
const listSchemas = Object.entries(schemas).filter(([name, schema]) => name.endsWith('List') && schema.type !== 'array');

describe.each(listSchemas)('list schema %s', (_name, schema) => {
  it('is a concrete object: data with a $ref item, next_cursor and has_more, nothing else', () => {
    expect(schema.allOf ?? schema.oneOf ?? schema.anyOf).toBeUndefined();
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect([...(schema.required ?? [])].sort()).toEqual(['data', 'has_more', 'next_cursor']);
    expect(Object.keys(schema.properties ?? {}).sort()).toEqual(['data', 'has_more', 'next_cursor']);
    const data = schema.properties!.data as OpenAPIV3_1.ArraySchemaObject;
    expect(data).toMatchObject({ type: 'array', maxItems: 200, items: { $ref: expect.stringMatching(/^#\/components\/schemas\/\w+$/) } });
    expect(schema.properties!.next_cursor).toEqual({ $ref: '#/components/schemas/NextCursor' });
    expect(schema.properties!.has_more).toEqual({ $ref: '#/components/schemas/HasMore' });
  });
});

it('marks a gated operation x-required-plan with its x-plan-feature and the 403 that says plan_required, and only those', () => {
  const features = (document.components!.schemas!.PlanFeature as { enum: string[] }).enum;
  const plans = (document.components!.schemas!.PlanName as { enum: string[] }).enum;
  for (const [name, operation] of operations) {
    const marked = operation as { 'x-required-plan'?: string; 'x-plan-feature'?: string };
    const forbidden = operation.responses?.['403'] as OpenAPIV3_1.ReferenceObject | undefined;
    const saysPlanRequired = forbidden?.$ref === '#/components/responses/PlanForbidden';
    expect({ name, gated: marked['x-required-plan'] !== undefined }).toEqual({ name, gated: saysPlanRequired });
    if (!saysPlanRequired) continue;
    expect(plans).toContain(marked['x-required-plan']);
    expect(features).toContain(marked['x-plan-feature']);
  }
  const examples = Object.keys((resolve(document.components!.responses!.PlanForbidden!).content!['application/json']!.examples ?? {}));
  expect(examples).toEqual(expect.arrayContaining(['plan_required', 'plan_limit_reached']));
});

it('every paginated operation answers 200 with a *List schema', () => {
  const paginated = operations.filter(([, operation]) =>
    (operation.parameters ?? []).some((parameter) => resolve<OpenAPIV3_1.ParameterObject>(parameter).name === 'cursor'),
  );
  expect(paginated.length).toBeGreaterThan(10);
  for (const [name, operation] of paginated) {
    const schema = resolve(operation.responses!['200']!).content?.['application/json']?.schema as OpenAPIV3_1.ReferenceObject | undefined;
    expect({ name, ref: schema?.$ref }).toEqual({ name, ref: expect.stringMatching(/^#\/components\/schemas\/\w+List$/) });
  }
});

it('types a binary download as bytes: application/pdf a binary string, application/json its own schema', () => {
  const ok = resolve(document.paths!['/v1/reports/{id}/download']!.get!.responses!['200']!);
  expect(ok.content!['application/pdf']!.schema).toMatchObject({ type: 'string', format: 'binary', contentMediaType: 'application/pdf' });
  expect(ok.content!['application/json']!.schema).toEqual({
    oneOf: ['ExecutiveSummaryReportContent', 'RemediationPlanReportContent', 'ComplianceEvidenceReportContent'].map((name) => ({
      $ref: `#/components/schemas/${name}`,
    })),
  });
});

// The types of served operations leave out `receive…Event` (src/http/contract.ts): the names must keep to that.
it('names every webhook receiveXEvent and no served operation so', () => {
  const webhookIds = Object.values(document.webhooks ?? {}).map((item) => (item as OpenAPIV3_1.PathItemObject).post?.operationId);
  expect(webhookIds.length).toBeGreaterThan(0);
  for (const id of webhookIds) expect(id).toMatch(/^receive[A-Z][A-Za-z]*Event$/);
  for (const [, operation] of operations) expect(operation.operationId).not.toMatch(/^receive.*Event$/);
});
