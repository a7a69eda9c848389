import type { CanonicalResource } from '../src/imports/canonical-resource';
import { documentDepthProblem, MAX_ATTRIBUTE_DEPTH, MAX_IMPORT_DOCUMENT_DEPTH, oversizedAttributes, resourceLimitProblems } from '../src/imports/resource-limits';

function resource(overrides: Partial<CanonicalResource>): CanonicalResource {
  return {
    type: 'aws_s3_bucket',
    native_id: 'arn:aws:s3:::b1',
    provider: 'aws',
    region: 'eu-west-1',
    name: 'b1',
    tags: { env: 'prod' },
    attributes: { bucket: 'b1', versioning: [{ enabled: true }] },
    relationships: [],
    unknown_paths: [],
    source: 'resources[0]',
    ...overrides,
  };
}

function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

// Most resources pass a screen on their canonical content; these are the ones it must not let through.
describe('resourceLimitProblems', () => {
  it.each([
    ['a NUL deep in an attribute value', { attributes: { policy: { Statement: [{ Sid: 'x\u0000y' }] } } }, 'attributes.policy.Statement.0.Sid', 'NUL'],
    ['a NUL in an attribute key', { attributes: { ['k\u0000']: 1 } }, 'attributes.k\\u0000', 'NUL'],
    ['a lone surrogate in a tag', { tags: { env: 's\ud800x' } }, 'tags.env', 'surrogate'],
    ['a lone low surrogate in the name', { name: 'b\udc00' }, 'name', 'surrogate'],
    ['a NUL in the native id (not part of the content)', { native_id: 'arn:aws:s3:::b\u0000' }, 'native_id', 'NUL'],
    ['a NUL in a relationship', { relationships: [{ type: 'attached_to', resource_native_id: 'x\u0000' }] }, 'relationships.0.resource_native_id', 'NUL'],
    ['attributes one level too deep', { attributes: nested(MAX_ATTRIBUTE_DEPTH + 1) }, 'attributes.a.a.a.a.a.a.a…', 'nested more than 64'],
    ['a type the schema refuses', { type: 'x'.repeat(300) }, 'type', ''],
  ] as const)('finds %s', (_case, overrides, field, message) => {
    const problems = resourceLimitProblems([resource({}), resource(overrides as Partial<CanonicalResource>)]);
    expect(problems).toEqual([{ item: 'resources[0]', field, message: expect.stringContaining(message) }]);
  });

  it.each([
    ['text with a backslash before "u0000"', { attributes: { path: 'C:\\u0000\\ud800' } }],
    ['paired surrogates (an emoji)', { tags: { note: 'ok \u{1F600}' } }],
    ['attributes exactly as deep as allowed', { attributes: nested(MAX_ATTRIBUTE_DEPTH) }],
  ] as const)('accepts %s', (_case, overrides) => {
    expect(resourceLimitProblems([resource(overrides as Partial<CanonicalResource>)])).toEqual([]);
  });
});

describe('documentDepthProblem', () => {
  it('accepts a file exactly as deep as allowed and names the item of one a level deeper', () => {
    expect(documentDepthProblem({ resources: [nested(MAX_IMPORT_DOCUMENT_DEPTH - 2)] })).toBeUndefined();
    expect(documentDepthProblem({ resources: [{ attributes: nested(MAX_IMPORT_DOCUMENT_DEPTH - 2) }] })).toEqual({
      item: 'resources[0]',
      field: expect.stringMatching(/^attributes\.a\./),
      message: expect.stringContaining(`nested more than ${MAX_IMPORT_DOCUMENT_DEPTH} levels deep`),
    });
  });
});

describe('oversizedAttributes', () => {
  it('measures attributes in UTF-8 bytes, whatever the length of the rest of the resource', () => {
    const big = resource({ attributes: { note: 'é'.repeat(600) }, tags: { padding: 'x'.repeat(5000) } });
    expect(oversizedAttributes([big], 1200)).toEqual([{ item: 'resources[0]', bytes: JSON.stringify(big.attributes).length + 600 }]);
    expect(oversizedAttributes([big], 1300)).toEqual([]);
  });
});
