import { isTypeOfProvider, PROVIDER_TYPE_PREFIX, PROVIDERS, type Provider } from '../providers';
import { isPlainObject, reportDuplicates } from './canonical-mapping';
import type { CanonicalResource, ImportProblem, ParseResult } from './canonical-resource';

/** Reads fourfold's own format: `{"resources": [ canonical resources ]}`, validating every item. */
export function parseNativeInventory(document: unknown): ParseResult {
  const problems: ImportProblem[] = [];
  const fail = (message: string): ParseResult => ({ resources: [], problems: [{ item: '$', field: null, message }] });
  // A state also has a "resources" array; without this, every item would fail on its own.
  if (isPlainObject(document) && typeof document.version === 'number' && (typeof document.terraform_version === 'string' || typeof document.lineage === 'string')) {
    return fail('not a native inventory: this looks like a Terraform state file; import it with format terraform_state');
  }
  if (isPlainObject(document) && typeof document.format_version === 'string' && document.resources === undefined) {
    return fail('not a native inventory: this looks like `terraform show -json` output; import it with format terraform_show');
  }
  if (!isPlainObject(document) || !Array.isArray(document.resources)) {
    return fail('not a native inventory: expected an object with a "resources" array');
  }
  const resources: CanonicalResource[] = [];
  document.resources.forEach((item: unknown, index) => {
    const resource = validateItem(item, `resources[${index}]`, problems);
    if (resource !== null) resources.push(resource);
  });
  reportDuplicates(resources, problems);
  return { resources, problems };
}

function validateItem(item: unknown, source: string, problems: ImportProblem[]): CanonicalResource | null {
  if (!isPlainObject(item)) {
    problems.push({ item: source, field: null, message: 'expected a resource object' });
    return null;
  }
  const before = problems.length;
  const problem = (field: string, message: string): void => {
    problems.push({ item: source, field, message });
  };

  const { type, native_id: nativeId, provider, region = null, name = null, tags = {}, attributes = {}, relationships = [] } = item;
  if (typeof nativeId !== 'string' || nativeId === '') problem('native_id', 'required: a non-empty string (ARN, Azure resource id or GCP self link)');
  if (!PROVIDERS.includes(provider as Provider)) problem('provider', `required: one of ${PROVIDERS.join(', ')}`);
  if (typeof type !== 'string' || type === '') problem('type', 'required: a non-empty Terraform resource type such as aws_s3_bucket');
  else if (PROVIDERS.includes(provider as Provider) && !isTypeOfProvider(type, provider as Provider)) {
    problem('type', `${String(provider)} resource types start with "${PROVIDER_TYPE_PREFIX[provider as Provider]}"`);
  }
  if (region !== null && (typeof region !== 'string' || region === '')) problem('region', 'expected a non-empty string or null');
  if (name !== null && (typeof name !== 'string' || name === '')) problem('name', 'expected a non-empty string or null');
  if (!isPlainObject(tags)) problem('tags', 'expected an object of string values');
  else {
    for (const [key, value] of Object.entries(tags)) if (typeof value !== 'string') problem(`tags.${key}`, 'expected a string');
  }
  if (!isPlainObject(attributes)) problem('attributes', 'expected an object');
  if (!Array.isArray(relationships)) problem('relationships', 'expected an array');
  else {
    relationships.forEach((relationship: unknown, index) => {
      const field = `relationships[${index}]`;
      if (!isPlainObject(relationship)) problem(field, 'expected {"type": "attached_to", "resource_native_id": "..."}');
      else {
        if (relationship.type !== 'attached_to') problem(`${field}.type`, 'expected "attached_to"');
        if (typeof relationship.resource_native_id !== 'string' || relationship.resource_native_id === '') {
          problem(`${field}.resource_native_id`, 'required: a non-empty string');
        }
        const types = relationship.resource_types;
        if (types !== undefined && (!Array.isArray(types) || types.length === 0 || !types.every((t) => typeof t === 'string' && t !== ''))) {
          problem(`${field}.resource_types`, 'expected a non-empty array of resource types');
        }
      }
    });
  }
  if (problems.length > before) return null;

  return {
    type: type as string,
    native_id: nativeId as string,
    provider: provider as Provider,
    region: region as string | null,
    name: name as string | null,
    tags: tags as Record<string, string>,
    attributes: attributes as Record<string, unknown>,
    relationships: (relationships as { resource_native_id: string; resource_types?: string[] }[]).map((r) => ({
      type: 'attached_to' as const,
      resource_native_id: r.resource_native_id,
      ...(r.resource_types === undefined ? {} : { resource_types: r.resource_types }),
    })),
    unknown_paths: [],
    source,
  };
}
