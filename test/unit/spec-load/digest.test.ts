// The spec cache's digest (src/spec/digest.ts): FNV-1a 64 over UTF-16 code units, which for
// ASCII text is FNV-1a 64 over its bytes.
import { describe, expect, it } from 'vitest';
import { fnv1a64 } from '../../../src/spec/digest.js';

describe('fnv1a64', () => {
  it("gives the published FNV-1a 64 values for ASCII text", () => {
    // From the FNV reference test suite (Fowler, Noll, Vo).
    expect(fnv1a64('')).toBe('cbf29ce484222325');
    expect(fnv1a64('a')).toBe('af63dc4c8601ec8c');
    expect(fnv1a64('foobar')).toBe('85944171f73967e8');
  });

  it('takes each UTF-16 code unit whole, as a reference with 64-bit integers does', () => {
    // Python: h = 0xcbf29ce484222325; for each unit u: h = ((h ^ u) * 0x100000001b3) % 2**64
    expect(fnv1a64('services:\n  s0: {}\n')).toBe('1e017c3761ddd9fe');
    expect(fnv1a64('é€😀')).toBe('ea9aea879c98b56d');
  });

  it('is the 64-bit arithmetic of the definition, on random texts of every code unit and on a long one', () => {
    const reference = (text: string): string => {
      let h = 0xcbf29ce484222325n;
      for (let i = 0; i < text.length; i++) h = ((h ^ BigInt(text.charCodeAt(i))) * 0x100000001b3n) & 0xffffffffffffffffn;
      return h.toString(16).padStart(16, '0');
    };
    let seed = 11;
    const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let round = 0; round < 300; round++) {
      const text = String.fromCharCode(...Array.from({ length: random(40) }, () => (random(4) === 0 ? random(0x10000) : 32 + random(95))));
      expect(fnv1a64(text)).toBe(reference(text));
    }
    const long = 'services:\n  web:\n    image: nginx\n'.repeat(2000);
    expect(fnv1a64(long)).toBe(reference(long));
  });

  it('tells apart texts one character, one case or one order apart', () => {
    const texts = ['A=1\n', 'A=2\n', 'a=1\n', '1=A\n', 'A=1', 'A=1\n\n', 'B=1\n'];
    expect(new Set(texts.map(fnv1a64)).size).toBe(texts.length);
  });
});
