// SHA-256 for the pure planner and the names it makes, without loading anything that does I/O.
// node:crypto is required on first use only when no native digest was offered: its module and
// the 35 of Node's it loads (all of node:crypto's parts and the streams) took ~2.3 ms of every
// `up`, where `ps` and `down` hash nothing on most runs. A process that has loaded koffi offers
// the C library's digest (sys/koffi.ts: OpenSSL's SHA256, which Node links and exports, 0.06 ms
// to bind and ~0.15 ms for a first 14 KB): nothing of Node's JavaScript is loaded then. A module
// of its own, hashing only, so the pure planner can hash without importing a way to do I/O or to
// draw random numbers (those are sys/builtin.ts's).
import { createRequire } from 'node:module';

let load: NodeJS.Require | undefined;

function crypto(): typeof import('node:crypto') {
  load ??= createRequire(import.meta.url);
  return load('node:crypto') as typeof import('node:crypto');
}

/** A digest of `data`'s bytes into the 32 bytes of `out`; throws when it could not make one. */
export type Sha256Digest = (data: Buffer, out: Buffer) => void;

/** What was offered (a maker of the native digest, called on first use), and what it made. */
let offered: (() => Sha256Digest | undefined) | undefined;
let native: Sha256Digest | null | undefined;

/** SHA-256("abc"), FIPS 180-2's first example: a digest offered must give it before it is used. */
const ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

/**
 * Offers a native SHA-256 (made on first use; undefined there when it cannot be): sha256Hex uses
 * it, once it has digested "abc" right, instead of node:crypto. The first offer stands.
 */
export function offerSha256(make: () => Sha256Digest | undefined): void {
  offered ??= make;
}

function nativeDigest(): Sha256Digest | null {
  if (native !== undefined) return native;
  if (offered === undefined) return null; // none yet: one may be offered later
  native = null;
  try {
    const digest = offered();
    if (digest !== undefined) {
      const out = Buffer.alloc(32);
      digest(Buffer.from('abc'), out);
      if (out.toString('hex') === ABC) native = digest;
    }
  } catch {
    // not there after all: node:crypto
  }
  return native;
}

/** SHA-256 of `text` (its UTF-8 bytes) as hex. */
export function sha256Hex(text: string): string {
  const digest = nativeDigest();
  if (digest !== null) {
    const out = Buffer.alloc(32);
    try {
      digest(Buffer.from(text, 'utf8'), out);
      return out.toString('hex');
    } catch {
      // this once, node:crypto's
    }
  }
  return crypto().createHash('sha256').update(text).digest('hex');
}
