import { describe, expect, it } from 'vitest';
import { unmet } from '../harness/require.js';
import { inventory } from '../harness/inventory.js';

describe('test harness', () => {
  it('names a missing command as the reason', () => {
    expect(unmet({ commands: ['stack-no-such-command-xyz'] })).toMatch(/stack-no-such-command-xyz/);
  });
  it('has no reason when nothing is needed', () => {
    expect(unmet({})).toBeUndefined();
  });
  it('lists objects as sorted "kind name" lines', () => {
    const objects = inventory();
    expect([...objects].sort()).toEqual(objects);
    for (const o of objects) expect(o).toMatch(/^(netns|link|cgroup|mount|nft) \S/);
  });
});
