// Node's modules that few commands use, loaded synchronously when first needed. A static import
// is paid by every command whose bundle chunk holds the importer, used or not: child_process
// (with dgram, which it loads) took ~5 ms of each `restart` and `down`, whose chunk imports it
// for fallbacks and for `exec` (bench: a cpu profile of `restart`, node:child_process 5.0 ms
// inclusive). process.uptime() in ms is the clock that spares perf_hooks the same way.
import { createRequire } from 'node:module';

let load: NodeJS.Require | undefined;

/** The Node module `name`, required now (once loaded, Node's cache answers). */
function builtin<T>(name: string): T {
  load ??= createRequire(import.meta.url);
  return load(name) as T;
}

/** node:crypto, required on first use (hashing: lazy-crypto.ts). */
export function cryptoModule(): typeof import('node:crypto') {
  return builtin('node:crypto');
}

/** node:crypto's randomBytes as hex. */
export function randomHex(bytes: number): string {
  return cryptoModule().randomBytes(bytes).toString('hex');
}

/** node:tls, required on first use: the packs of pull, push and build need it only to add deferred certificates (tls-ca.ts). */
export function tlsModule(): typeof import('node:tls') {
  return builtin('node:tls');
}

/** node:child_process, required on first use. */
export function childProcess(): typeof import('node:child_process') {
  return builtin('node:child_process');
}

/** node:net, required on first use: `ps` reads the supervisor's published status and loads none (~2 ms). */
export function netModule(): typeof import('node:net') {
  return builtin('node:net');
}

/**
 * Milliseconds since the process began, on the monotonic clock performance.now() reads (libuv's
 * hrtime); its origin is libuv's start, ~2 ms before performance.now()'s, so the two are
 * compared only with themselves. The global `performance` loads Node's perf_hooks on its first
 * use (1.6 ms in a fresh process, 12 modules), which a command that times its operations but
 * prints no trace never needs.
 */
export function sinceStart(): number {
  return process.uptime() * 1000;
}
