import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { errnoName, namedErrnos } from '../../../src/sys/errno.js';

describe('errno names', () => {
  it('names the errors netlink verbs meet', () => {
    expect(errnoName(17)).toBe('EEXIST');
    expect(errnoName(19)).toBe('ENODEV');
    expect(errnoName(2)).toBe('ENOENT');
    expect(errnoName(4242)).toBe('E4242');
  });

  it('agrees with the C library as koffi reports it', () => {
    const koffi = createRequire(import.meta.url)('koffi') as { os: { errno: Record<string, number> } };
    const fromLibc = koffi.os.errno;
    const checked = namedErrnos().filter(([, name]) => name in fromLibc);
    expect(checked.length).toBeGreaterThan(60);
    for (const [value, name] of checked) expect([name, fromLibc[name]]).toEqual([name, value]);
  });
});
