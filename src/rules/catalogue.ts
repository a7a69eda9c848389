import { createHash, type Hash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { parse as parseYaml } from 'yaml';
import { InvalidExpressionError, loadCelEngine } from './cel-engine';
import { FRAMEWORK_IDS, type Framework, type FrameworkId, type RuleDefinition } from './rule-definition';
import { compileRule, type CompiledRule } from './rule-evaluation';
import ruleFileSchema from './rule.schema.json';

const CATALOGUE_DIR = path.join(__dirname, 'catalogue');
const FRAMEWORKS_DIR = path.join(__dirname, 'frameworks');

/** The built-in rules, compiled, and the frameworks they map to. */
export interface Catalogue {
  /** Short sha256 of the catalogue files: changes whenever any rule or framework does. */
  version: string;
  /** Every rule, sorted by id. */
  rules: readonly CompiledRule[];
  byId: ReadonlyMap<string, CompiledRule>;
  frameworks: readonly Framework[];
  /** The rules that apply to resources of a type. */
  rulesFor(resourceType: string): readonly CompiledRule[];
}

/** A catalogue file or rule that is not valid; the message names the file and rule. */
export class CatalogueError extends Error {
  override name = 'CatalogueError';
}

let builtIn: Promise<Catalogue> | undefined;

/** The built-in catalogue, read, validated and compiled once per process. */
export function loadCatalogue(): Promise<Catalogue> {
  builtIn ??= readCatalogue(CATALOGUE_DIR, FRAMEWORKS_DIR);
  return builtIn;
}

type RuleFile = { rules: (Omit<RuleDefinition, 'compliance' | 'cost'> & Partial<Pick<RuleDefinition, 'compliance' | 'cost'>>)[] };

/**
 * Reads every `*.yaml` of a catalogue directory and of a frameworks directory; rejects with
 * CatalogueError on the first problem.
 */
export async function readCatalogue(directory: string, frameworksDirectory: string): Promise<Catalogue> {
  const engine = await loadCelEngine();
  const validateFile = new Ajv2020({ allErrors: true, strict: true, strictRequired: false }).compile<RuleFile>(ruleFileSchema);
  const digest = createHash('sha256');
  const frameworks = readFrameworks(frameworksDirectory, digest);
  const controls = new Map(frameworks.map((f) => [f.id, new Set(f.controls.map((c) => c.id))]));

  const rules: CompiledRule[] = [];
  const fileOf = new Map<string, string>();
  for (const fileName of readdirSync(directory).filter((name) => name.endsWith('.yaml')).sort()) {
    const text = readFileSync(path.join(directory, fileName), 'utf8');
    digest.update(fileName).update(text);
    const document: unknown = parseYaml(text);
    if (!validateFile(document)) {
      const problems = (validateFile.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`).join('; ');
      throw new CatalogueError(`${fileName}: ${problems}`);
    }
    for (const declared of document.rules) {
      const where = `${fileName}: rule ${declared.id}`;
      const earlier = fileOf.get(declared.id);
      if (earlier !== undefined) throw new CatalogueError(`${where}: the id is already used in ${earlier}`);
      fileOf.set(declared.id, fileName);
      if (declared.id.split('.')[0] !== declared.provider) throw new CatalogueError(`${where}: the id must start with its provider "${declared.provider}"`);
      const rule: RuleDefinition = {
        ...declared,
        compliance: Object.fromEntries(FRAMEWORK_IDS.map((id) => [id, declared.compliance?.[id] ?? []])) as RuleDefinition['compliance'],
        cost: declared.cost ?? null,
      };
      for (const id of FRAMEWORK_IDS) {
        const unknown = rule.compliance[id].filter((control) => !controls.get(id)?.has(control));
        if (unknown.length > 0) throw new CatalogueError(`${where}: ${id} has no control ${unknown.join(', ')} in the frameworks folder`);
      }
      try {
        rules.push(compileRule(engine, rule));
      } catch (error) {
        if (error instanceof InvalidExpressionError) throw new CatalogueError(`${where}: ${error.message}`);
        throw error;
      }
    }
  }
  rules.sort((a, b) => (a.rule.id < b.rule.id ? -1 : 1));
  const byType = new Map<string, CompiledRule[]>();
  for (const compiled of rules) {
    for (const type of compiled.rule.resource_types) byType.set(type, [...(byType.get(type) ?? []), compiled]);
  }
  return {
    version: digest.digest('hex').slice(0, 12),
    rules,
    byId: new Map(rules.map((r) => [r.rule.id, r])),
    frameworks,
    rulesFor: (type) => byType.get(type) ?? [],
  };
}

/**
 * The frameworks of every `*.yaml` of the directory. A framework's controls may be spread over
 * several files (one per area): exactly one of them names it and gives its version. A file lists
 * its controls in the framework's order; controls gathered from several files are put in the
 * natural order of their ids (CIS `1.2` < `1.13` < `2.4.1`, FSBP `DMS.9` < `DMS.11`), since file
 * names say nothing of it.
 */
function readFrameworks(directory: string, digest: Hash): Framework[] {
  const byId = new Map<FrameworkId, Framework>();
  const controlFile = new Map<string, string>();
  const filesOf = new Map<FrameworkId, Set<string>>();
  for (const fileName of readdirSync(directory).filter((name) => name.endsWith('.yaml')).sort()) {
    const text = readFileSync(path.join(directory, fileName), 'utf8');
    digest.update(fileName).update(text);
    const declared = (parseYaml(text) as { frameworks?: Partial<Framework>[] } | null)?.frameworks ?? [];
    for (const part of declared) {
      const where = `${fileName}: framework ${String(part.id)}`;
      const valid =
        FRAMEWORK_IDS.includes(part.id as FrameworkId) &&
        (part.name === undefined || typeof part.name === 'string') &&
        (part.version === undefined || typeof part.version === 'string') &&
        Array.isArray(part.controls) &&
        part.controls.every((c) => typeof c.id === 'string' && typeof c.title === 'string');
      if (!valid) throw new CatalogueError(`${where}: needs a known id (${FRAMEWORK_IDS.join(', ')}) and controls of {id, title} (text); a name and version (text) where given`);
      const framework = byId.get(part.id!) ?? { id: part.id!, name: '', version: '', controls: [] };
      byId.set(framework.id, framework);
      if (part.controls!.length > 0) filesOf.set(framework.id, (filesOf.get(framework.id) ?? new Set()).add(fileName));
      if (part.name !== undefined || part.version !== undefined) {
        if (framework.name !== '') throw new CatalogueError(`${where}: its name and version are already given in another file`);
        if (part.name === undefined || part.version === undefined) throw new CatalogueError(`${where}: give both its name and version`);
        framework.name = part.name;
        framework.version = part.version;
      }
      for (const control of part.controls!) {
        const key = `${framework.id} ${control.id}`;
        if (controlFile.has(key)) throw new CatalogueError(`${where}: control ${control.id} is already listed in ${controlFile.get(key)}`);
        controlFile.set(key, fileName);
        framework.controls.push({ id: control.id, title: control.title });
      }
    }
  }
  return FRAMEWORK_IDS.map((id) => {
    const framework = byId.get(id);
    if (!framework || framework.name === '') throw new CatalogueError(`${path.basename(directory)}: framework ${id} is missing, or no file gives its name and version`);
    if ((filesOf.get(id)?.size ?? 0) > 1) framework.controls.sort((a, b) => compareControlIds(a.id, b.id));
    return framework;
  });
}

/** Natural order of control ids: numbers by value, letters regardless of case (`1.2` < `1.13`, `DataFirehose.1` < `DMS.1`). */
export function compareControlIds(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true, sensitivity: 'base' });
}
