// The spec cache's digest (spec/cache.ts, spec/fs.ts): FNV-1a, 64 bits, over a string's UTF-16
// code units (for ASCII text, the bytes: the published test vectors hold). Not SHA-256: these
// digests only tell whether something a kept load looked at is still the same, and node:crypto's
// module graph was ~5 ms of every `ps`, which hashes nothing else. By chance two texts share a
// digest once in 2^64. On purpose it is easy: someone who can write a file the spec reads can
// write a new version with the digest of the old one, and stack then keeps using what it loaded
// from the old one. That gives them nothing: the old version was theirs too, and writing the file
// at all gives them the project.

/**
 * FNV-1a 64 of `text`, as 16 hex digits. The state is four 16-bit limbs (least significant
 * first), so every value stays a small integer: with two 32-bit halves the products were doubles,
 * a heap number each, ~0.5 µs a character before the code is compiled (2.6 ms for 4 KB of spec).
 * The 64-bit prime is 2^40 + 0x1b3: a product is `h * 0x1b3 + (h << 40)`, and the shift by 40
 * moves limb k into limb k + 2, 8 bits up.
 */
export function fnv1a64(text: string): string {
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  for (let i = 0; i < text.length; i++) {
    h0 ^= text.charCodeAt(i);
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + (h0 << 8) + (t1 >>> 16);
    const t3 = h3 * 0x1b3 + (h1 << 8) + (t2 >>> 16);
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  }
  return hex16((h3 << 16) | h2) + hex16((h1 << 16) | h0);
}

const hex16 = (word: number): string => (word >>> 0).toString(16).padStart(8, '0');
