#!/bin/sh
":" //; if [ -n "${NODE_EXTRA_CA_CERTS-}" ]; then STACK_DEFERRED_CA_CERTS=$NODE_EXTRA_CA_CERTS; export STACK_DEFERRED_CA_CERTS; unset NODE_EXTRA_CA_CERTS; else unset STACK_DEFERRED_CA_CERTS; fi; exec node "$0" "$@"
// The two lines above are sh and JavaScript at once. Run as a command (`stack`, this file
// through its #! line), sh runs the second one: Node is started without NODE_EXTRA_CA_CERTS,
// whose value goes along as STACK_DEFERRED_CA_CERTS. Node parses the bundle that variable names
// before any code runs (Debian's ca-certificates.crt, 144 certificates: `node -e 0` 95 ms with
// it, 55 without, on the 2-core kind of docs/performance.md), and only a TLS connection needs
// it: src/sys/tls-ca.ts adds those certificates to the trusted ones before the first https
// request. Node running this file (`node bin/stack.cjs`) skips both lines: a string and a
// comment. Below, the variable is put back as the caller set it, for the spec's ${...} and the
// programs stack starts.
// Entry point. `stack --version` is answered here, before any module of the CLI loads, so it
// costs about Node's own start. Everything else goes to the CLI: the esbuild bundle
// dist/bundle/cli.cjs (a few CommonJS files instead of hundreds of ES modules, so Node's ES module
// loader never starts; scripts/bundle.mjs) when it is there and not older than tsc's
// dist/cli/main.js (a bare `tsc` after a build leaves the bundle stale), else dist/cli/main.js.
'use strict';
// Once nothing is left to do, leave through process.exit(): Node's own way out of an idle loop
// also tears the V8 heap and the environment down, ~7 ms of a `restart` (bench/lifecycle.mjs
// restart rows, alternating, 15 rounds: 209.2 vs 201.9 ms) that no one waits for. Nothing is cut
// short: output to files and terminals is written synchronously on Linux, what a full pipe did
// not take yet is a pending write, and 'beforeExit' comes only when the loop has nothing left,
// no pending write or other work. Another listener of it (ink unmounts on it when a render was
// not unmounted) goes first: this one then waits for the next 'beforeExit', and Node's own way
// out is taken if none comes. The CLI's leave() goes first: where it may (koffi loaded, no
// terminal, no profiler: src/sys/leave.ts), it ends the process without its caller waiting for
// the kernel to unmap it; elsewhere it returns and process.exit() ends it.
let cli;
// Only as the sh line leaves it (NODE_EXTRA_CA_CERTS unset): with both set, Node has loaded the
// bundle itself, and a STACK_DEFERRED_CA_CERTS the caller's environment carried is dropped.
const deferredCertificates = process.env.STACK_DEFERRED_CA_CERTS;
delete process.env.STACK_DEFERRED_CA_CERTS;
if (deferredCertificates !== undefined && process.env.NODE_EXTRA_CA_CERTS === undefined) {
  process.env.NODE_EXTRA_CA_CERTS = deferredCertificates;
  globalThis[Symbol.for('stack.deferredCaCertificates')] = deferredCertificates;
}
process.once('beforeExit', function leave() {
  if (process.listenerCount('beforeExit') > 0) process.once('beforeExit', leave);
  else {
    cli?.leave?.();
    process.exit();
  }
});
// Once main() has settled, a turn of the loop later (I/O callbacks due by then run first): when
// nothing is left under way (src/cli/main.ts idle), the same leave, at once, not after what Node
// does before 'beforeExit' (it waits for V8's background jobs and runs V8's queued tasks).
// Otherwise the loop runs on, and 'beforeExit' leaves.
function settled() {
  setImmediate(() => {
    if (cli?.idle?.() !== true) return;
    cli.leave?.();
    process.exit();
  });
}
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v' || argv[0] === 'version')) {
  // write(2) on the descriptor: making process.stdout would cost more than the rest of this
  // answer (src/cli/output.ts). A line this short (under PIPE_BUF) fits whole into any pipe with
  // room; what write(2) did not take (a full non-blocking pipe) is left to the stream. A write
  // that fails ends as the CLI's do (src/cli/main.ts endsOnWriteError): a reader gone (EPIPE)
  // quietly with 141, anything else (ENOSPC: `stack --version > /dev/full`) said once, status 1.
  const fs = require('node:fs');
  const failed = (e) => {
    if (e.code !== 'EPIPE') {
      try {
        fs.writeSync(2, `stack: cannot write to stdout: ${e.code ?? e.message}\n`);
      } catch {
        // stderr is gone too
      }
    }
    process.exit(e.code === 'EPIPE' ? 128 + 13 : 1);
  };
  const line = Buffer.from(require('../package.json').version + '\n');
  let written = 0;
  try {
    written = fs.writeSync(1, line);
  } catch (e) {
    if (e.code !== 'EAGAIN') failed(e);
  }
  if (written < line.length) process.stdout.once('error', failed).write(line.subarray(written));
} else {
  const { statSync } = require('node:fs');
  const { join } = require('node:path');
  const dist = join(__dirname, '..', 'dist');
  const bundle = statSync(join(dist, 'bundle', 'cli.cjs'), { throwIfNoEntry: false });
  const tsc = statSync(join(dist, 'cli', 'main.js'), { throwIfNoEntry: false });
  if (bundle && (!tsc || bundle.mtimeMs >= tsc.mtimeMs)) {
    // The bundle's code cache first (dist/bundle/code-cache.cjs, which cli.cjs installs too):
    // then cli.cjs itself runs from its kept code, not compiled by Node's loader from its source
    // (~0.8 ms of every command: `stack ps` 63.2 -> 62.4 ms, 30 alternating rounds).
    require('../dist/bundle/code-cache.cjs').install(join(dist, 'bundle'));
    cli = require('../dist/bundle/cli.cjs');
    cli.main(argv).then(settled);
  } else {
    import('../dist/cli/main.js')
      .then((m) => {
        cli = m;
        return m.main(argv);
      })
      .then(settled);
  }
}
