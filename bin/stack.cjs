#!/usr/bin/env node
// Entry point. `stack --version` is answered here, before any module of the CLI loads, so it
// costs about Node's own start. Everything else goes to the CLI: the esbuild bundle
// dist/bundle/cli.cjs (a few CommonJS files instead of hundreds of ES modules, so Node's ES module
// loader never starts; scripts/bundle.mjs) when it is there and not older than tsc's
// dist/cli/main.js (a bare `tsc` after a build leaves the bundle stale), else dist/cli/main.js.
'use strict';
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v' || argv[0] === 'version')) {
  process.stdout.write(require('../package.json').version + '\n');
} else {
  const { statSync } = require('node:fs');
  const { join } = require('node:path');
  const dist = join(__dirname, '..', 'dist');
  const bundle = statSync(join(dist, 'bundle', 'cli.cjs'), { throwIfNoEntry: false });
  const tsc = statSync(join(dist, 'cli', 'main.js'), { throwIfNoEntry: false });
  if (bundle && (!tsc || bundle.mtimeMs >= tsc.mtimeMs)) require('../dist/bundle/cli.cjs').main(argv);
  else import('../dist/cli/main.js').then((m) => m.main(argv));
}
