import { hash } from 'node:crypto';
import { formatPath } from '../rules/attribute-path';
import { stableJson } from '../stable-json';
import type { CanonicalResource } from './canonical-resource';

// Imports need a resource's canonical content twice (the NUL check of the limits, then its hash
// and its row), and making it is the costliest step per resource: it is made once per object.
const canonicalContents = new WeakMap<CanonicalResource, string>();

/** The resource's unknown paths as rules write them (`versioning[0].enabled`), each once, sorted. */
export function unknownAttributesOf(resource: CanonicalResource): string[] {
  const paths = new Set<string>();
  // (`?? []`: a queued import's payload written before unknowns were recorded has none.)
  for (const steps of resource.unknown_paths ?? []) {
    const path = formatPath(steps);
    if (path !== null) paths.add(path);
  }
  return [...paths].sort();
}

/**
 * The canonical JSON of what an import can change about a resource (`resource` must not change
 * after). `unknown_attributes` is there only when there are some, so that the hash of a resource
 * without any is the one it had before unknowns were recorded.
 */
export function contentJson(resource: CanonicalResource): string {
  let json = canonicalContents.get(resource);
  if (json === undefined) {
    const { type, name, region, tags, attributes, relationships } = resource;
    const unknown = unknownAttributesOf(resource);
    json = stableJson({ type, name, region, tags, attributes, relationships, ...(unknown.length > 0 ? { unknown_attributes: unknown } : {}) });
    canonicalContents.set(resource, json);
  }
  return json;
}

/** SHA-256 (hex) of a resource's canonical content: its `content_hash`. (The one-shot `hash` makes no Hash object per resource.) */
export function contentHashOf(json: string): string {
  return hash('sha256', json, 'hex');
}
