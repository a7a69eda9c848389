import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { parse as parseYaml } from 'yaml';
import { InvalidExpressionError, loadCelEngine } from './cel-engine';
import { FRAMEWORK_IDS, type Framework, type RuleDefinition } from './rule-definition';
import { compileRule, type CompiledRule } from './rule-evaluation';
import ruleFileSchema from './rule.schema.json';

const CATALOGUE_DIR = path.join(__dirname, 'catalogue');
const FRAMEWORKS_FILE = path.join(__dirname, 'frameworks.yaml');

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
  builtIn ??= readCatalogue(CATALOGUE_DIR, FRAMEWORKS_FILE);
  return builtIn;
}

type RuleFile = { rules: (Omit<RuleDefinition, 'compliance' | 'cost'> & Partial<Pick<RuleDefinition, 'compliance' | 'cost'>>)[] };

/** Reads every `*.yaml` of a catalogue directory; rejects with CatalogueError on the first problem. */
export async function readCatalogue(directory: string, frameworksFile: string): Promise<Catalogue> {
  const engine = await loadCelEngine();
  const validateFile = new Ajv2020({ allErrors: true, strict: true, strictRequired: false }).compile<RuleFile>(ruleFileSchema);
  const digest = createHash('sha256');
  const frameworksText = readFileSync(frameworksFile, 'utf8');
  digest.update(frameworksText);
  const frameworks = readFrameworks(frameworksText, frameworksFile);
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
        if (unknown.length > 0) throw new CatalogueError(`${where}: ${id} has no control ${unknown.join(', ')} in frameworks.yaml`);
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

function readFrameworks(text: string, file: string): Framework[] {
  const document = parseYaml(text) as { frameworks?: Framework[] };
  const frameworks = document.frameworks ?? [];
  for (const id of FRAMEWORK_IDS) {
    if (!frameworks.some((f) => f.id === id)) throw new CatalogueError(`${path.basename(file)}: framework ${id} is missing`);
  }
  for (const framework of frameworks) {
    const valid =
      FRAMEWORK_IDS.includes(framework.id) &&
      typeof framework.name === 'string' &&
      typeof framework.version === 'string' &&
      Array.isArray(framework.controls) &&
      framework.controls.every((c) => typeof c.id === 'string' && typeof c.title === 'string');
    if (!valid) throw new CatalogueError(`${path.basename(file)}: framework ${String(framework.id)} needs an id, a name, a version (text) and controls of {id, title} (text)`);
  }
  return frameworks;
}
