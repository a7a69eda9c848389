import Ajv2020 from 'ajv/dist/2020';
import { loadOpenApiDocument } from '../http/openapi-document';
import { dottedPath, findUnstorable, unstorableIn, type JsonPath } from '../storable-text';
import type { CanonicalResource, ImportProblem } from './canonical-resource';
import { contentJson, unknownAttributesOf } from './resource-content';

/** How deep a resource's `attributes` may nest objects and arrays (`attributes` itself is level 1). */
export const MAX_ATTRIBUTE_DEPTH = 64;

/**
 * How deep a whole import file may nest, checked before it is parsed: room for the formats'
 * envelopes and modules around attributes of `MAX_ATTRIBUTE_DEPTH`, and a bound the parsers'
 * recursive steps (sensitive-value paths, nested modules) stay far from the stack's limit under.
 */
export const MAX_IMPORT_DOCUMENT_DEPTH = 128;

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

/**
 * Problems with resources that break the spec's limits, nest attributes deeper than
 * `MAX_ATTRIBUTE_DEPTH`, or hold a string PostgreSQL cannot store (a NUL, a lone surrogate).
 */
export function resourceLimitProblems(resources: CanonicalResource[]): ImportProblem[] {
  const problems: ImportProblem[] = [];
  for (const resource of resources) {
    if (!mayBreakLimits(resource)) continue;
    const { source: _source, provider: _provider, unknown_paths: _unknownPaths, attributes, ...fields } = resource;
    const inAttributes = findUnstorable(attributes, { maxDepth: MAX_ATTRIBUTE_DEPTH });
    const unstorable = inAttributes ? { ...inAttributes, path: ['attributes', ...inAttributes.path] } : findUnstorable(fields);
    if (unstorable) {
      problems.push({ item: resource.source, field: shortPath(unstorable.path) || null, message: unstorable.issue });
    } else if (!validate({ ...fields, attributes, unknown_attributes: unknownAttributesOf(resource) })) {
      // A nullable field fails both branches of its oneOf; the non-null branch's error says more.
      const errors = validate.errors ?? [];
      const error = errors.find((e) => e.keyword !== 'type' && e.keyword !== 'oneOf') ?? errors[0];
      const field = error?.instancePath.slice(1).replace(/\//g, '.') || null;
      problems.push({ item: resource.source, field, message: error?.message ?? 'does not fit the resource schema' });
    }
  }
  return problems;
}

// A NUL or a lone surrogate anywhere in a string or key: JSON.stringify writes each as this escape.
// (`\\u0000`, a backslash before the text "u0000", matches too: the exact check then clears it.)
const UNSTORABLE_ESCAPE = /\\u(?:0000|d[89a-f])/;

/**
 * Whether a resource may break a limit, answered for most without walking it again: its canonical
 * content (which an import makes anyway, for the hash) holds every string and key but the native
 * id, and the spec's schema is checked for all. A false alarm only costs the exact check.
 */
function mayBreakLimits(resource: CanonicalResource): boolean {
  if (UNSTORABLE_ESCAPE.test(contentJson(resource)) || unstorableIn(resource.native_id) !== undefined) return true;
  if (nestedDeeperThan(resource.attributes, MAX_ATTRIBUTE_DEPTH)) return true;
  const { type, native_id: nativeId, region, name, tags, relationships, attributes } = resource;
  return !validate({ type, native_id: nativeId, region, name, tags, relationships, attributes, unknown_attributes: unknownAttributesOf(resource) });
}

/** Whether `value` nests objects and arrays more than `maxDepth` levels (itself level 1); recurses at most `maxDepth` + 1 deep. */
function nestedDeeperThan(value: unknown, maxDepth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (maxDepth === 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (nestedDeeperThan(item, maxDepth - 1)) return true;
    return false;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) if (nestedDeeperThan(record[key], maxDepth - 1)) return true;
  return false;
}

/**
 * The problem of a file nested deeper than `MAX_IMPORT_DOCUMENT_DEPTH`, checked before parsing,
 * naming the item it is in (`resources[3]`, `values.root_module.resources[0]`) when it can.
 */
export function documentDepthProblem(document: unknown): ImportProblem | undefined {
  if (!nestedDeeperThan(document, MAX_IMPORT_DOCUMENT_DEPTH)) return undefined;
  const found = findUnstorable(document, { maxDepth: MAX_IMPORT_DOCUMENT_DEPTH, strings: false });
  if (!found) return undefined;
  // The item ends at the last index into a list of resources, instances or modules.
  let end = 0;
  found.path.forEach((step, i) => {
    if (typeof step === 'number' && ITEM_LISTS.has(String(found.path[i - 1]))) end = i + 1;
  });
  return {
    item: end > 0 ? itemPath(found.path.slice(0, end)) : '$',
    field: shortPath(found.path.slice(end)) || null,
    message: `${found.issue} (attributes may nest at most ${MAX_ATTRIBUTE_DEPTH} levels)`,
  };
}

/** A field path, its first steps only when it is long (a depth problem's path is as deep as the bound). */
function shortPath(path: JsonPath): string {
  return path.length > SHOWN_STEPS ? `${dottedPath(path.slice(0, SHOWN_STEPS))}…` : dottedPath(path);
}
const SHOWN_STEPS = 8;

const ITEM_LISTS = new Set(['resources', 'instances', 'child_modules']);

/** `resources[3].instances[0]`, as the parsers name items. */
function itemPath(path: JsonPath): string {
  return path.map((step, i) => (typeof step === 'number' ? `[${step}]` : `${i > 0 ? '.' : ''}${step}`)).join('');
}

/** The resources whose `attributes` take more than `maxBytes` as JSON (UTF-8), with their size. */
export function oversizedAttributes(resources: CanonicalResource[], maxBytes: number): { item: string; bytes: number }[] {
  const oversized: { item: string; bytes: number }[] = [];
  for (const resource of resources) {
    // A UTF-16 unit is at most 3 UTF-8 bytes, and the attributes' JSON is part of the canonical
    // content (the same text, keys sorted): most resources are decided without writing them again.
    if (contentJson(resource).length * 3 <= maxBytes) continue;
    const json = JSON.stringify(resource.attributes);
    if (json.length * 3 <= maxBytes) continue;
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > maxBytes) oversized.push({ item: resource.source, bytes });
  }
  return oversized;
}
