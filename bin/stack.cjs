#!/usr/bin/env node
// Entry point. `stack --version` is answered here, before any module of the CLI loads (and as
// CommonJS, so Node's ES module loader is not even started), so it costs about Node's own start.
// Everything else goes to the compiled ESM CLI in dist/.
'use strict';
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v' || argv[0] === 'version')) {
  process.stdout.write(require('../package.json').version + '\n');
} else {
  import('../dist/cli/main.js').then((m) => m.main(argv));
}
