// Loading koffi, the FFI every system call of stack goes through. Its package entry first loads
// the build tooling it ships for installing from source (node:crypto, https, tls: 14 of its
// 19 ms, profiled with --cpu-prof-interval 50), then the prebuilt addon, and wraps it only to add
// deprecated aliases. The addon is all stack uses (load, func, struct, errno, ...): it is loaded
// from its place in the package, `build/koffi/<platform>_<arch>/koffi.node`, in 5 ms, when it is
// there and of the package's version; else through the entry, as before.
//
// Once loaded, it offers sys/lazy-crypto.ts the C library's SHA-256: OpenSSL's one-shot SHA256,
// found among the process's own symbols (Node links OpenSSL and exports it, or links a shared
// libcrypto), so that hashing loads none of node:crypto's JavaScript.
import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';
import { offerSha256, type Sha256Digest } from './lazy-crypto.js';

let loaded: typeof Koffi | undefined;

/** The koffi module (cached). */
export function loadKoffi(): typeof Koffi {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  try {
    const { version } = require('koffi/package.json') as { version: string };
    const addon = require(`koffi/build/koffi/${process.platform}_${process.arch}/koffi.node`) as typeof Koffi & { version?: string };
    if (addon.version === version) return offering((loaded = addon));
  } catch {
    // another layout (a musl build, a future release): the entry finds it
  }
  return offering((loaded = require('koffi') as typeof Koffi));
}

/** Asynchronous koffi calls under way (callAsync). */
let asyncCalls = 0;

/**
 * Makes an asynchronous koffi call (a job on one of libuv's threads): `call(settle)` starts it with
 * `settle` as its callback, which hands the outcome to `done`. Counted while under way: Node's
 * loop waits for such a job, though none of its lists of what keeps it alive shows one
 * (asyncCallsUnderWay).
 */
export function callAsync(call: (settle: (error: unknown, ret: number) => void) => void, done: (error: unknown, ret: number) => void): void {
  // koffi calls `settle` once, or throws without calling it (its slots for such calls full).
  asyncCalls++;
  try {
    call((error, ret) => {
      asyncCalls--;
      done(error, ret);
    });
  } catch (e) {
    asyncCalls--;
    throw e;
  }
}

/** How many asynchronous koffi calls are under way. */
export function asyncCallsUnderWay(): number {
  return asyncCalls;
}

/** The koffi module if something loaded it already, else undefined (loads nothing). */
export function loadedKoffi(): typeof Koffi | undefined {
  return loaded;
}

/** Offers koffi's way to OpenSSL's SHA256 to lazy-crypto.ts (bound on its first use there). */
function offering(koffi: typeof Koffi): typeof Koffi {
  offerSha256((): Sha256Digest | undefined => {
    const sha256 = koffi.load(null as unknown as string).func('void *SHA256(const uint8_t *data, size_t length, _Out_ uint8_t *digest)') as unknown as (data: Buffer, length: number, out: Buffer) => unknown;
    return (data, out) => {
      // OpenSSL 3's one-shot can fail (it fetches the digest from a provider): NULL then.
      if (sha256(data, data.length, out) === null) throw new Error('SHA256 failed');
    };
  });
  return koffi;
}
