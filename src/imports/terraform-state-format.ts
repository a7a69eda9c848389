import { isPlainObject, mapTerraformInstances, type AttributePath, type TerraformInstance } from './canonical-mapping';
import type { ImportProblem, ParseResult } from './canonical-resource';

const SUPPORTED_VERSION = 4;

/** Reads a Terraform state file (`terraform.tfstate`, version 4, as written by Terraform 0.12+). */
export function parseTerraformState(document: unknown): ParseResult {
  const problems: ImportProblem[] = [];
  const fail = (message: string): ParseResult => ({ resources: [], problems: [{ item: '$', field: null, message }] });

  if (!isPlainObject(document)) return fail('not a Terraform state: expected a JSON object');
  if (typeof document.format_version === 'string' && document.version === undefined) {
    return fail('not a Terraform state: this looks like `terraform show -json` output; import it with format terraform_show');
  }
  if (document.version === undefined || (document.version === SUPPORTED_VERSION && !Array.isArray(document.resources))) {
    return fail('not a Terraform state: missing "version" or "resources"');
  }
  if (document.version !== SUPPORTED_VERSION) {
    return fail(
      `unsupported Terraform state version ${JSON.stringify(document.version)}: fourfold reads version ${SUPPORTED_VERSION}, written by Terraform 0.12 and later (run \`terraform state pull\` with a current Terraform)`,
    );
  }

  const instances: TerraformInstance[] = [];
  (document.resources as unknown[]).forEach((resource, resourceIndex) => {
    const item = `resources[${resourceIndex}]`;
    if (!isPlainObject(resource)) {
      problems.push({ item, field: null, message: 'expected a resource object' });
      return;
    }
    if (resource.mode === 'data') return;
    const { type, name, module, provider } = resource;
    if (typeof type !== 'string' || type === '' || typeof name !== 'string' || name === '') {
      problems.push({ item, field: typeof type !== 'string' || type === '' ? 'type' : 'name', message: 'a resource needs a "type" and a "name"' });
      return;
    }
    if (module !== undefined && typeof module !== 'string') {
      problems.push({ item, field: 'module', message: 'expected a module address such as module.network' });
      return;
    }
    const base = `${module === undefined || module === '' ? '' : `${module}.`}${type}.${name}`;
    if (!Array.isArray(resource.instances)) {
      problems.push({ item: base, field: 'instances', message: 'expected an array of instances' });
      return;
    }
    resource.instances.forEach((instance: unknown, instanceIndex) => {
      if (!isPlainObject(instance)) {
        problems.push({ item: `${base} (instances[${instanceIndex}])`, field: null, message: 'expected an instance object' });
        return;
      }
      // A deposed object is the old copy of a create_before_destroy replacement, about to be
      // destroyed; the current object at the same address is the one to audit.
      if (instance.deposed !== undefined) return;
      const address = `${base}${indexSuffix(instance.index_key)}`;
      if (!isPlainObject(instance.attributes)) {
        problems.push({ item: address, field: 'attributes', message: 'expected an "attributes" object' });
        return;
      }
      instances.push({
        address,
        type,
        providerSource: providerSourceOf(provider),
        attributes: instance.attributes,
        sensitivePaths: sensitivePathsOf(instance.sensitive_attributes),
        unknownPaths: [],
        expressions: null,
      });
    });
  });
  return mapTerraformInstances(instances, problems);
}

/** `[0]` for count instances, `["key"]` for for_each ones, as Terraform writes addresses. */
export function indexSuffix(indexKey: unknown): string {
  if (typeof indexKey === 'number') return `[${indexKey}]`;
  if (typeof indexKey === 'string') return `[${JSON.stringify(indexKey)}]`;
  return '';
}

/** registry.terraform.io/hashicorp/aws from provider["registry.terraform.io/hashicorp/aws"].alias (or legacy provider.aws). */
function providerSourceOf(provider: unknown): string | null {
  if (typeof provider !== 'string') return null;
  const match = /provider\["([^"]+)"\]/.exec(provider) ?? /provider\.([A-Za-z0-9_-]+)/.exec(provider);
  return match?.[1] ?? null;
}

/** State paths are lists of steps: {"type":"get_attr","value":"password"} or {"type":"index","value":{"value":0,"type":"number"}}. */
function sensitivePathsOf(value: unknown): AttributePath[] {
  if (!Array.isArray(value)) return [];
  const paths: AttributePath[] = [];
  for (const rawPath of value) {
    if (!Array.isArray(rawPath)) continue;
    const path: AttributePath = [];
    for (const step of rawPath) {
      const key = isPlainObject(step) ? (isPlainObject(step.value) ? step.value.value : step.value) : step;
      if (typeof key !== 'string' && typeof key !== 'number') break;
      path.push(key);
    }
    if (path.length > 0) paths.push(path);
  }
  return paths;
}
