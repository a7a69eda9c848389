// Runs every plan of the rulebench corpus through the import parsers and the checks an import
// makes before writing (the spec's limits), and prints how many would import and why the others
// are refused. The corpus stays outside the repository:
//   node --import tsx scripts/import-corpus.ts [--corpus ../shared/rulebench] [--show 3]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseInventory, type ImportFormat } from '../src/imports/import-parsers';
import { resourceLimitProblems } from '../src/imports/resource-limits';

interface ManifestEntry {
  id: string;
  file: string;
  format?: ImportFormat;
}

function main(): void {
  const { values } = parseArgs({ options: { corpus: { type: 'string', default: '../shared/rulebench' }, show: { type: 'string', default: '3' } } });
  const root = path.resolve(values.corpus);
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'fixtures', 'MANIFEST.json'), 'utf8')) as { fixtures: ManifestEntry[] };
  const show = Number(values.show);
  let imported = 0;
  let resources = 0;
  let unknownPaths = 0;
  let relationships = 0;
  const reasons = new Map<string, string[]>();
  for (const entry of manifest.fixtures) {
    const document: unknown = JSON.parse(fs.readFileSync(path.join(root, 'fixtures', entry.file), 'utf8'));
    const parsed = parseInventory(entry.format ?? 'terraform_show', document);
    const problems = [...parsed.problems, ...resourceLimitProblems(parsed.resources)];
    if (problems.length === 0) {
      imported++;
      resources += parsed.resources.length;
      for (const resource of parsed.resources) {
        unknownPaths += (resource as { unknown_paths?: unknown[] }).unknown_paths?.length ?? 0;
        relationships += resource.relationships.length;
      }
      continue;
    }
    // One reason per file: its first problem, with quoted values and addresses generalized.
    const [first] = problems;
    const reason = `${first!.field ?? '-'}: ${first!.message.replace(/"[^"]*"/g, '"…"').replace(/ at \S+$/, ' at …')}`;
    const files = reasons.get(reason) ?? [];
    files.push(entry.id);
    reasons.set(reason, files);
  }
  const total = manifest.fixtures.length;
  console.log(`${imported} of ${total} files import (${total - imported} refused); ${resources} resources, ${relationships} relationships, ${unknownPaths} unknown paths`);
  for (const [reason, files] of [...reasons].sort((a, b) => b[1].length - a[1].length)) {
    console.log(`${String(files.length).padStart(5)}  ${reason}`);
    for (const file of files.slice(0, show)) console.log(`         ${file}`);
  }
}

main();
