import { configurationModuleOf, isPlainObject, mapTerraformInstances, splitAddress, type AttributePath, type TerraformInstance } from './canonical-mapping';
import type { ImportProblem, ParseResult } from './canonical-resource';

// Terraform 0.12–0.15 write format 0.1 and 0.2, with the layout 1.x kept.
const SUPPORTED_FORMATS = /^(0\.[12]|1\.\d+)$/;

/** What a plan's `resource_changes` and `configuration` say about a resource the `planned_values` hold. */
interface PlanDetails {
  /** Address → the change's `after`, `after_unknown` and `after_sensitive`. */
  changes: Map<string, Record<string, unknown>>;
  /** Configuration module (`module.a.`) + resource address (`aws_s3_bucket.b`) → the block's `expressions`. */
  expressions: Map<string, Record<string, unknown>>;
  /** Provider name → the attributes its configuration fills on every resource (AWS default_tags: tags_all). */
  providerSet: Map<string, readonly string[]>;
  /** The references of module outputs, so that a reference to `module.b.id` can name what the output does. */
  moduleOutputs: Map<string, readonly string[]>;
}

// Provider settings that fill an attribute of every resource: an unknown value there is the
// provider's doing, not a default the configuration left to it.
const PROVIDER_SETTINGS: Readonly<Record<string, readonly { setting: string; attributes: readonly string[] }[]>> = {
  aws: [{ setting: 'default_tags', attributes: ['tags_all'] }],
  google: [{ setting: 'default_labels', attributes: ['effective_labels', 'terraform_labels'] }],
  'google-beta': [{ setting: 'default_labels', attributes: ['effective_labels', 'terraform_labels'] }],
};

/** Reads `terraform show -json` output, of a state (`values`) or of a plan (`planned_values`). */
export function parseTerraformShow(document: unknown): ParseResult {
  const problems: ImportProblem[] = [];
  const fail = (message: string): ParseResult => ({ resources: [], problems: [{ item: '$', field: null, message }] });

  if (!isPlainObject(document)) return fail('not `terraform show -json` output: expected a JSON object');
  if (document.format_version === undefined && document.version !== undefined && Array.isArray(document.resources)) {
    return fail('not `terraform show -json` output: this looks like a Terraform state file; import it with format terraform_state');
  }
  if (typeof document.format_version !== 'string') return fail('not `terraform show -json` output: missing "format_version"');
  if (!SUPPORTED_FORMATS.test(document.format_version)) {
    return fail(`unsupported \`terraform show -json\` format_version "${document.format_version}": fourfold reads formats 0.1, 0.2 and 1.x`);
  }

  const isPlan = document.planned_values !== undefined;
  const values = isPlan ? document.planned_values : document.values;
  // `terraform show -json` of an empty state prints only the format version.
  if (values === undefined) return { resources: [], problems };
  if (!isPlainObject(values) || !isPlainObject(values.root_module)) {
    return fail(`not \`terraform show -json\` output: "${isPlan ? 'planned_values' : 'values'}" has no "root_module"`);
  }

  const details: PlanDetails = { changes: new Map(), expressions: new Map(), providerSet: new Map(), moduleOutputs: new Map() };
  if (isPlan) {
    readChanges(document.resource_changes, details.changes);
    if (isPlainObject(document.configuration) && isPlainObject(document.configuration.root_module)) {
      readConfiguration(document.configuration.root_module, '', details.expressions, details.moduleOutputs);
      readProviderSettings(document.configuration.provider_config, details.providerSet);
    }
  }
  const instances: TerraformInstance[] = [];
  collectModule(values.root_module, isPlan ? 'planned_values.root_module' : 'values.root_module', details, instances, problems);
  return mapTerraformInstances(instances, problems, details.moduleOutputs);
}

function collectModule(module: Record<string, unknown>, path: string, details: PlanDetails, instances: TerraformInstance[], problems: ImportProblem[]): void {
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
      const change = details.changes.get(address);
      // A plan leaves out `values` when every attribute is known only after apply: the resource
      // is imported with what is known (its change's `after`, if any), and its unknowns.
      let attributes: Record<string, unknown>;
      if (isPlainObject(resource.values)) attributes = resource.values;
      else if (resource.values === undefined || resource.values === null) attributes = isPlainObject(change?.after) ? change.after : {};
      else {
        problems.push({ item: address, field: 'values', message: 'expected a "values" object' });
        return;
      }
      const parts = splitAddress(address);
      const expressions = parts === null ? null : (details.expressions.get(`${configurationModuleOf(parts.module)}${parts.resource}`) ?? null);
      instances.push({
        address,
        type,
        providerSource: typeof resource.provider_name === 'string' ? resource.provider_name : null,
        attributes,
        sensitivePaths: [...mirrorPaths(resource.sensitive_values), ...mirrorPaths(change?.after_sensitive)],
        unknownPaths: configuredUnknowns(unknownPathsOf(change?.after_unknown), expressions, change?.after ?? attributes, providerSetOf(details.providerSet, resource.provider_name, type)),
        expressions,
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
    else collectModule(child, childPath, details, instances, problems);
  });
}

/** The changes of managed resources by address; a malformed entry is ignored (planned_values is what is read). */
function readChanges(changes: unknown, byAddress: Map<string, Record<string, unknown>>): void {
  if (!Array.isArray(changes)) return;
  for (const change of changes) {
    if (!isPlainObject(change) || change.mode === 'data' || typeof change.address !== 'string' || !isPlainObject(change.change)) continue;
    // A deposed object is the old copy of a replacement: the current object is the one imported.
    if (change.deposed !== undefined) continue;
    byAddress.set(change.address, change.change);
  }
}

/** Every resource block's `expressions` and every module output's references, through `module_calls`, keyed by configuration module. */
function readConfiguration(module: Record<string, unknown>, modulePath: string, byAddress: Map<string, Record<string, unknown>>, outputs: Map<string, readonly string[]>): void {
  if (Array.isArray(module.resources)) {
    for (const resource of module.resources) {
      if (!isPlainObject(resource) || resource.mode === 'data' || typeof resource.address !== 'string' || !isPlainObject(resource.expressions)) continue;
      byAddress.set(`${modulePath}${resource.address}`, resource.expressions);
    }
  }
  if (!isPlainObject(module.module_calls)) return;
  for (const [name, call] of Object.entries(module.module_calls)) {
    if (!isPlainObject(call) || !isPlainObject(call.module)) continue;
    readConfiguration(call.module, `${modulePath}module.${name}.`, byAddress, outputs);
    if (!isPlainObject(call.module.outputs)) continue;
    for (const [output, declared] of Object.entries(call.module.outputs)) {
      const references = isPlainObject(declared) && isPlainObject(declared.expression) && Array.isArray(declared.expression.references) ? declared.expression.references : [];
      outputs.set(`${modulePath}module.${name}.${output}`, references.filter((r): r is string => typeof r === 'string'));
    }
  }
}

/** For each provider name, the attributes its configurations fill on every resource (any configuration, aliases included). */
function readProviderSettings(providerConfig: unknown, byProvider: Map<string, readonly string[]>): void {
  if (!isPlainObject(providerConfig)) return;
  for (const config of Object.values(providerConfig)) {
    if (!isPlainObject(config) || typeof config.name !== 'string' || !isPlainObject(config.expressions)) continue;
    const expressions = config.expressions;
    const filled = (PROVIDER_SETTINGS[config.name] ?? []).filter((s) => expressions[s.setting] !== undefined).flatMap((s) => s.attributes);
    if (filled.length > 0) byProvider.set(config.name, [...new Set([...(byProvider.get(config.name) ?? []), ...filled])]);
  }
}

/** The attributes the provider of a resource fills from its configuration. */
function providerSetOf(byProvider: ReadonlyMap<string, readonly string[]>, providerName: unknown, type: string): readonly string[] {
  const name = typeof providerName === 'string' ? (providerName.split('/').at(-1) ?? providerName) : (type.split('_')[0] ?? type);
  return byProvider.get(name) ?? [];
}

/** `sensitive_values` and `after_sensitive` mirror the values with `true` at every sensitive leaf. */
function mirrorPaths(mirror: unknown, prefix: AttributePath = []): AttributePath[] {
  if (mirror === true) return [prefix];
  if (Array.isArray(mirror)) return mirror.flatMap((entry, index) => mirrorPaths(entry, [...prefix, index]));
  if (isPlainObject(mirror)) return Object.entries(mirror).flatMap(([key, entry]) => mirrorPaths(entry, [...prefix, key]));
  return [];
}

/**
 * Of the values known only after apply, those the configuration sets (from something unknown,
 * such as another resource's id). An attribute the configuration leaves out is marked unknown
 * too when the provider computes it, but then it gets the provider's default, which is what a
 * rule assumes of an absent attribute: AWS provider 4+ marks a new bucket's `versioning` unknown,
 * and it comes out disabled unless an `aws_s3_bucket_versioning` says otherwise. The same holds
 * inside a configured block: `metadata_options { http_endpoint = "enabled" }` leaves
 * `http_tokens` to the provider. What the provider's own configuration fills (AWS `default_tags`
 * into `tags_all`) is not a default: its marks are kept. Without the resource's configuration
 * (plans rebuilt from mocks), every mark is kept.
 */
function configuredUnknowns(paths: AttributePath[], expressions: Record<string, unknown> | null, after: unknown, providerSet: readonly string[]): AttributePath[] {
  if (expressions === null) return paths;
  return paths.filter((path) => providerSet.includes(String(path[0])) || !leftOutByConfiguration(path, expressions, after));
}

/**
 * Whether the configuration certainly does not set `path`: walking its block expressions (a block
 * is an object of expressions, a repeated block a list of them), some step names a key the block
 * does not hold. `configuration` leaves out `dynamic` blocks, so a key the configuration lacks but
 * whose value the plan partly knows (a block with some values known) may come from one: it is not
 * "left out". An attribute's expression (`constant_value` / `references`) sets all below it.
 */
function leftOutByConfiguration(path: AttributePath, expressions: Record<string, unknown>, after: unknown): boolean {
  let block: unknown = expressions;
  let value: unknown = after;
  // A repeated block's items are blocks, even empty ones; what a key names may be an expression.
  let mayBeExpression = false;
  for (const step of path) {
    if (mayBeExpression && isExpression(block)) return false;
    if (typeof step === 'string') {
      if (!isPlainObject(block)) return false;
      if (!(step in block)) return value === null || value === undefined || !isPlainObject(value) || value[step] === undefined || value[step] === null;
      block = block[step];
      value = isPlainObject(value) ? value[step] : undefined;
      mayBeExpression = true;
    } else {
      if (!Array.isArray(block) || step >= block.length) return false;
      block = block[step];
      value = Array.isArray(value) ? value[step] : undefined;
      mayBeExpression = false;
    }
  }
  return false;
}

/** An attribute's expression in `configuration` (`{}` when it is neither constant nor a reference), as opposed to a block of them. */
function isExpression(node: unknown): boolean {
  return isPlainObject(node) && ('constant_value' in node || 'references' in node || Object.keys(node).length === 0);
}

/**
 * `after_unknown` marks with `true` the values known only after apply: a leaf, or a whole block
 * or list. A mark on the whole resource names no attribute: it adds no path.
 */
function unknownPathsOf(afterUnknown: unknown): AttributePath[] {
  return mirrorPaths(afterUnknown).filter((path) => path.length > 0);
}
