/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type errors are the typecheck step's job; tests only transpile.
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  // Lazy `await import('./x.js')` of TypeScript sources (the cloud collectors) resolves to x.ts, as tsx does.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 30000,
  // One migrated database per run (cached between runs on PGlite), copied for every test database.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // Jest's default of one worker fewer than the cores runs the files one at a time on a 2-core
  // machine; two workers take the suite from about 5½ to 3½ minutes on PGlite.
  maxWorkers: 2,
  // A worker keeps each file it ran: under --experimental-vm-modules Node does not free a finished
  // file's modules (jestjs/jest#14605), and with them its app and PGlite, some 250 MB of RSS per
  // file; workers reached 10-11 GB each over a run. A worker whose heap is over this after a file
  // (one file leaves 120-200 MB, then about 50 MB more per file) is replaced by a fresh one.
  workerIdleMemoryLimit: '300MB',
};
