// linkDelMany's choice (src/network/link.ts sharedGroup, heldExactly): a device group is
// deleted as it is only when the links asked for share it and it holds exactly them; anything
// else goes the safe way (each link moved into a fresh group first, or deleted by name).
import { describe, expect, it } from 'vitest';
import { heldExactly, sharedGroup } from '../../../src/network/link.js';

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
