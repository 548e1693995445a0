// Node's own modules, loaded synchronously when first needed. A static import is paid by every
// command whose bundle chunk holds the importer, used or not: child_process (with dgram, which
// it loads) took ~5 ms of each `restart` and `down`, whose chunk imports it for fallbacks and for
// `exec` (bench: a cpu profile of `restart`, node:child_process 5.0 ms inclusive).
import { createRequire } from 'node:module';

let load: NodeJS.Require | undefined;

/** `require(name)` of one of Node's modules (`node:child_process`), typed by the caller. */
export function builtin<T>(name: `node:${string}`): T {
  load ??= createRequire(import.meta.url);
  return load(name) as T;
}
