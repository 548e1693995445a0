// The spec cache's digest (spec/cache.ts, spec/fs.ts): FNV-1a, 64 bits, over a string's UTF-16
// code units (for ASCII text, the bytes: the published test vectors hold). Not SHA-256: these
// digests only tell whether something the load looked at is still the same, and node:crypto's
// module graph was ~5 ms of every `ps`, which hashes nothing else. A collision could only make
// stack use again what it loaded from the same place before: nothing that writing the file itself
// would not give, so no adversary is in play, and by chance it is one in 2^64.

const OFFSET_HI = 0xcbf29ce4;
const OFFSET_LO = 0x84222325;
/** The 64-bit FNV prime is 2^40 + 0x1b3: a product is `h * 0x1b3 + (h << 40)`. */
const PRIME_LOW = 0x1b3;
const TWO_32 = 0x1_0000_0000;

/** FNV-1a 64 of `text`, as 16 hex digits. */
export function fnv1a64(text: string): string {
  let hi = OFFSET_HI;
  let lo = OFFSET_LO;
  for (let i = 0; i < text.length; i++) {
    lo = (lo ^ text.charCodeAt(i)) >>> 0;
    // lo * 0x1b3 < 2^41: exact as a double, so its carry into the high word is too.
    const low = lo * PRIME_LOW;
    const lowWord = low % TWO_32;
    hi = (Math.imul(hi, PRIME_LOW) + (low - lowWord) / TWO_32 + (lo << 8)) >>> 0;
    lo = lowWord;
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}
