import Ajv2020 from 'ajv/dist/2020';
import { loadOpenApiDocument } from '../http/openapi-document';
import type { CanonicalResource, ImportProblem } from './canonical-resource';
import { contentJson, unknownAttributesOf } from './resource-content';

// The spec's own resource schemas, so that an import never stores what the API could not answer.
const { components } = loadOpenApiDocument().document;
const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
ajv.addSchema({ $id: 'spec', components }, 'spec');
const summary = '#/components/schemas/ResourceSummary/properties';
const validate = ajv.compile({
  type: 'object',
  properties: {
    type: { $ref: `spec${summary}/type` },
    native_id: { $ref: `spec${summary}/native_id` },
    region: { $ref: `spec${summary}/region` },
    name: { $ref: `spec${summary}/name` },
    tags: { $ref: `spec${summary}/tags` },
    relationships: { $ref: `spec${summary}/relationships` },
    attributes: { $ref: 'spec#/components/schemas/Attributes' },
    unknown_attributes: { $ref: 'spec#/components/schemas/UnknownAttributes' },
  },
});

/** Problems with resources that break the spec's limits, or hold a NUL (PostgreSQL cannot store one). */
export function resourceLimitProblems(resources: CanonicalResource[]): ImportProblem[] {
  const problems: ImportProblem[] = [];
  for (const resource of resources) {
    const { source: _source, provider: _provider, unknown_paths: _unknownPaths, ...fields } = resource;
    if (!validate({ ...fields, unknown_attributes: unknownAttributesOf(resource) })) {
      // A nullable field fails both branches of its oneOf; the non-null branch's error says more.
      const errors = validate.errors ?? [];
      const error = errors.find((e) => e.keyword !== 'type' && e.keyword !== 'oneOf') ?? errors[0];
      const field = error?.instancePath.slice(1).replace(/\//g, '.') || null;
      problems.push({ item: resource.source, field, message: error?.message ?? 'does not fit the resource schema' });
    } else if (contentJson(resource).includes('\\u0000') || JSON.stringify(resource.native_id).includes('\\u0000')) {
      // (JSON escapes NUL as \u0000, and has no other backslash outside strings: these are all the fields' strings.)
      problems.push({ item: resource.source, field: null, message: 'contains a NUL character, which cannot be stored' });
    }
  }
  return problems;
}
