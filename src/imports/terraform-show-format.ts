import { isPlainObject, mapTerraformInstances, type AttributePath, type TerraformInstance } from './canonical-mapping';
import type { ImportProblem, ParseResult } from './canonical-resource';

/** Reads `terraform show -json` output, of a state (`values`) or of a plan (`planned_values`). */
export function parseTerraformShow(document: unknown): ParseResult {
  const problems: ImportProblem[] = [];
  const fail = (message: string): ParseResult => ({ resources: [], problems: [{ item: '$', field: null, message }] });

  if (!isPlainObject(document)) return fail('not `terraform show -json` output: expected a JSON object');
  if (document.format_version === undefined && document.version !== undefined && Array.isArray(document.resources)) {
    return fail('not `terraform show -json` output: this looks like a Terraform state file; import it with format terraform_state');
  }
  if (typeof document.format_version !== 'string') return fail('not `terraform show -json` output: missing "format_version"');
  if (!document.format_version.startsWith('1.')) {
    return fail(`unsupported \`terraform show -json\` format_version "${document.format_version}": fourfold reads format 1.x`);
  }

  const isPlan = document.planned_values !== undefined;
  const values = isPlan ? document.planned_values : document.values;
  // `terraform show -json` of an empty state prints only the format version.
  if (values === undefined) return { resources: [], problems };
  if (!isPlainObject(values) || !isPlainObject(values.root_module)) {
    return fail(`not \`terraform show -json\` output: "${isPlan ? 'planned_values' : 'values'}" has no "root_module"`);
  }

  const instances: TerraformInstance[] = [];
  collectModule(values.root_module, isPlan ? 'planned_values.root_module' : 'values.root_module', isPlan, instances, problems);
  return mapTerraformInstances(instances, problems);
}

function collectModule(module: Record<string, unknown>, path: string, isPlan: boolean, instances: TerraformInstance[], problems: ImportProblem[]): void {
  const resources = module.resources ?? [];
  if (!Array.isArray(resources)) {
    problems.push({ item: path, field: 'resources', message: 'expected an array of resources' });
  } else {
    resources.forEach((resource: unknown, index) => {
      const item = `${path}.resources[${index}]`;
      if (!isPlainObject(resource)) {
        problems.push({ item, field: null, message: 'expected a resource object' });
        return;
      }
      if (resource.mode === 'data') return;
      const { address, type } = resource;
      if (typeof address !== 'string' || address === '' || typeof type !== 'string' || type === '') {
        problems.push({ item, field: typeof address !== 'string' || address === '' ? 'address' : 'type', message: 'a resource needs an "address" and a "type"' });
        return;
      }
      if (!isPlainObject(resource.values)) {
        problems.push({ item: address, field: 'values', message: 'expected a "values" object' });
        return;
      }
      instances.push({
        address,
        type,
        providerSource: typeof resource.provider_name === 'string' ? resource.provider_name : null,
        attributes: resource.values,
        sensitivePaths: sensitivePathsOf(resource.sensitive_values),
        addressIsIdentity: isPlan,
      });
    });
  }
  const children = module.child_modules ?? [];
  if (!Array.isArray(children)) {
    problems.push({ item: path, field: 'child_modules', message: 'expected an array of modules' });
    return;
  }
  children.forEach((child: unknown, index) => {
    const childPath = isPlainObject(child) && typeof child.address === 'string' ? child.address : `${path}.child_modules[${index}]`;
    if (!isPlainObject(child)) problems.push({ item: childPath, field: null, message: 'expected a module object' });
    else collectModule(child, childPath, isPlan, instances, problems);
  });
}

/** `sensitive_values` mirrors the values with `true` at every sensitive leaf. */
function sensitivePathsOf(mirror: unknown, prefix: AttributePath = []): AttributePath[] {
  if (mirror === true) return [prefix];
  if (Array.isArray(mirror)) return mirror.flatMap((entry, index) => sensitivePathsOf(entry, [...prefix, index]));
  if (isPlainObject(mirror)) return Object.entries(mirror).flatMap(([key, entry]) => sensitivePathsOf(entry, [...prefix, key]));
  return [];
}
