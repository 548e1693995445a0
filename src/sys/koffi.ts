// Loading koffi, the FFI every system call of stack goes through. Its package entry first loads
// the build tooling it ships for installing from source (node:crypto, https, tls: 14 of its
// 19 ms, profiled with --cpu-prof-interval 50), then the prebuilt addon, and wraps it only to add
// deprecated aliases. The addon is all stack uses (load, func, struct, errno, ...): it is loaded
// from its place in the package, `build/koffi/<platform>_<arch>/koffi.node`, in 5 ms, when it is
// there and of the package's version; else through the entry, as before.
import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';

let loaded: typeof Koffi | undefined;

/** The koffi module (cached). */
export function loadKoffi(): typeof Koffi {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  try {
    const { version } = require('koffi/package.json') as { version: string };
    const addon = require(`koffi/build/koffi/${process.platform}_${process.arch}/koffi.node`) as typeof Koffi & { version?: string };
    if (addon.version === version) return (loaded = addon);
  } catch {
    // another layout (a musl build, a future release): the entry finds it
  }
  return (loaded = require('koffi') as typeof Koffi);
}
