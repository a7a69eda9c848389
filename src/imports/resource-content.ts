import { createHash } from 'node:crypto';
import { stableJson } from '../stable-json';
import type { CanonicalResource } from './canonical-resource';

// Imports need a resource's canonical content twice (the NUL check of the limits, then its hash
// and its row), and making it is the costliest step per resource: it is made once per object.
const canonicalContents = new WeakMap<CanonicalResource, string>();

/** The canonical JSON of what an import can change about a resource (`resource` must not change after). */
export function contentJson(resource: CanonicalResource): string {
  let json = canonicalContents.get(resource);
  if (json === undefined) {
    const { type, name, region, tags, attributes, relationships } = resource;
    json = stableJson({ type, name, region, tags, attributes, relationships });
    canonicalContents.set(resource, json);
  }
  return json;
}

/** SHA-256 (hex) of a resource's canonical content: its `content_hash`. */
export function contentHashOf(json: string): string {
  return createHash('sha256').update(json).digest('hex');
}
