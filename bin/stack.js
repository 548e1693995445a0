#!/usr/bin/env node
// Entry point: loads the compiled CLI. Kept tiny so `stack --version` starts fast.
import('../dist/cli/main.js').then((m) => m.main(process.argv.slice(2)));
