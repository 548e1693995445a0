// linkDelMany's choice (src/network/link.ts heldExactly): a device group is deleted as it is
// only when it holds exactly the links asked for; anything else goes the safe way (each link
// moved into a fresh group first, or deleted by name).
import { describe, expect, it } from 'vitest';
import { heldExactly } from '../../../src/network/link.js';

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
