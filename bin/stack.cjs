#!/usr/bin/env node
// Entry point. `stack --version` is answered here, before any module of the CLI loads (and as
// CommonJS, so Node's ES module loader is not even started), so it costs about Node's own start.
// Everything else goes to the ESM CLI: the esbuild bundle dist/bundle/cli.mjs (a few files
// instead of hundreds of modules; scripts/bundle.mjs) when it is there and not older than tsc's
// dist/cli/main.js (a bare `tsc` after a build leaves the bundle stale), else dist/cli/main.js.
'use strict';
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v' || argv[0] === 'version')) {
  process.stdout.write(require('../package.json').version + '\n');
} else {
  const { statSync } = require('node:fs');
  const { join } = require('node:path');
  const dist = join(__dirname, '..', 'dist');
  const bundle = statSync(join(dist, 'bundle', 'cli.mjs'), { throwIfNoEntry: false });
  const tsc = statSync(join(dist, 'cli', 'main.js'), { throwIfNoEntry: false });
  const entry = bundle && (!tsc || bundle.mtimeMs >= tsc.mtimeMs) ? '../dist/bundle/cli.mjs' : '../dist/cli/main.js';
  import(entry).then((m) => m.main(argv));
}
