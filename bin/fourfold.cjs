#!/usr/bin/env node
// The operator command line (`npx fourfold --help`): the TypeScript sources run through tsx, as the server does.
require('tsx/cjs');
require('../src/cli/main.ts');
