// linkDelMany's choice (src/network/link.ts sharedGroup, heldExactly): a device group is
// deleted as it is only when the links asked for share it and it holds exactly them; anything
// else goes the safe way (each link moved into a fresh group first, or deleted by name). And
// sysfsLetGo, the last look of a handed-off deletion.
import { describe, expect, it } from 'vitest';
import { heldExactly, sharedGroup, sysfsLetGo } from '../../../src/network/link.js';

const dump = [
  { name: 'lo', group: 0 },
  { name: 'stkb1', group: 42 },
  { name: 'stkv1', group: 42 },
  { name: 'stkv2', group: 42 },
  { name: 'other', group: 7 },
];

describe('heldExactly', () => {
  it('names the links of the group when the group holds every one asked for and nothing else (gone names skipped)', () => {
    expect(heldExactly(dump, ['stkv1', 'stkv2', 'stkb1', 'gone'], 42)).toEqual(['stkb1', 'stkv1', 'stkv2']);
  });

  it('refuses a group holding a link not asked for (a service that stays)', () => {
    expect(heldExactly(dump, ['stkv1', 'stkb1'], 42)).toBeUndefined();
  });

  it('refuses when a link asked for is in another group (the group deletion would leave it)', () => {
    expect(heldExactly(dump, ['stkv1', 'stkv2', 'stkb1', 'other'], 42)).toBeUndefined();
  });

  it('refuses an empty group: nothing of it to delete', () => {
    expect(heldExactly(dump, ['gone'], 42 + 1)).toBeUndefined();
  });
});

describe('sharedGroup', () => {
  it('is the group every link asked for that exists is in (gone names skipped)', () => {
    expect(sharedGroup(dump, ['stkv1', 'stkb1', 'gone'])).toBe(42);
  });

  it('is none when the links asked for are in two groups', () => {
    expect(sharedGroup(dump, ['stkv1', 'other'])).toBeUndefined();
  });

  it('is never group 0, every link\'s default', () => {
    expect(sharedGroup(dump, ['lo'])).toBeUndefined();
  });

  it('is none when no link asked for exists', () => {
    expect(sharedGroup(dump, ['gone'])).toBeUndefined();
  });
});

describe('sysfsLetGo (a handed-off deletion, its links unregistered: their sysfs folders gone?)', () => {
  const never = new Promise<number | null>(() => undefined);
  it('answers at once when no folder is there', async () => {
    expect(await sysfsLetGo([{ name: 'stkv1' }], never, () => false)).toBe(true);
  });
  it('looks again while a folder is still there, and answers once it is gone', async () => {
    let looks = 0;
    const exists = (path: string): boolean => path === '/sys/class/net/stkv2' && ++looks < 4;
    expect(await sysfsLetGo([{ name: 'stkv1' }, { name: 'stkv2' }], never, exists)).toBe(true);
    expect(looks).toBe(4);
  });
  it("takes the helper's answer when it comes first: its success, or its failure", async () => {
    expect(await sysfsLetGo([{ name: 'stkv1' }], Promise.resolve(0), () => true)).toBe(true);
    expect(await sysfsLetGo([{ name: 'stkv1' }], Promise.resolve(127), () => true)).toBe(false);
  });
});
