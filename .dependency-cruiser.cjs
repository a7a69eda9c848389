// The dependency rules of DESIGN.md ("Dependencies point one way"), checked by `npm run lint:deps`
// (part of `npm run lint`, so of `make check` and `.ci/run`). Each rule says why it exists.

/** Folders of src/ that are not features: the cross-cutting layers every feature may use. */
const LAYERS = '(http|db)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'A cycle between modules means neither can be understood, tested or loaded without the other; ' +
        'with CommonJS interop it also yields half-initialised exports at start-up.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-folder-cycles',
      severity: 'error',
      scope: 'folder',
      comment:
        'Folders are the unit a reader moves between: if two folders import each other, each feature ' +
        'has to be read with the other, and changes ripple both ways. Dependencies point one way.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'layers-know-no-feature',
      severity: 'error',
      comment:
        'http/ (cross-cutting middleware) and db/ (connection, schema, migrations) sit below every ' +
        'feature. If they imported one, every feature would depend on that feature through them. ' +
        'Features plug into them from app.ts and worker wiring instead.',
      from: { path: `^src/${LAYERS}/` },
      to: { path: '^src/[^/]+/', pathNot: [`^src/${LAYERS}/`] },
    },
    {
      name: 'kysely-only-in-repositories',
      severity: 'error',
      comment:
        'SQL lives in one place per feature, so a reader finds every query of a table in its ' +
        'repository and tenant filtering is reviewed there. Types (Kysely, Transaction, Selectable) ' +
        'may travel; query code (the builder, sql``) may not.',
      from: { path: '^src/', pathNot: ['\\.repository\\.ts$', '^src/db/'] },
      to: { path: 'node_modules/kysely/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-foreign-repository',
      severity: 'error',
      comment:
        'A feature owns its tables and the rules that keep them consistent; another feature goes ' +
        "through its service (DESIGN.md: a feature may call another feature's service, never its " +
        'repository), so those rules cannot be bypassed. Handlers and the command line included. A row ' +
        'type may travel: it bypasses nothing.',
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/([^/]+)/[^/]+\\.repository\\.ts$', pathNot: '^src/$1/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment: 'A module nothing imports is dead code (entry points and type declarations excepted).',
      from: {
        orphan: true,
        path: '^src/',
        pathNot: ['\\.d\\.ts$', '^src/(main|worker)\\.ts$', '^src/cli/main\\.ts$', '^src/db/migrations/'],
      },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
