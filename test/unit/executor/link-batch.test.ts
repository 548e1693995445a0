// Host links a run deletes go to the kernel in batches (one RCU wait each): a batch waits up to
// BATCH_WINDOW_MS for more, and goes at once when every deletion the plan holds (one per
// detach-veth and per remove-network) has been asked for. The driver here only records what it is
// asked: the real deletion is the network layer's (test/integration/netlink, e2e down tests).
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RunContext } from '../../../src/executor/context.js';
import { deleteLinkBatched } from '../../../src/executor/handlers/netns.js';

afterEach(() => {
  vi.useRealTimers();
});

/** A run whose plan holds `planned`, with a driver that records each batch it is given. */
function run(planned: string[]): { ctx: RunContext; batches: string[][] } {
  const batches: string[][] = [];
  const network = { detachVeths: async (names: readonly string[]) => void batches.push([...names]) };
  return { ctx: { project: { name: 'p' }, planned: new Set(planned), network: () => network } as unknown as RunContext, batches };
}

const settle = () => new Promise<void>((resolve) => queueMicrotask(resolve)).then(() => Promise.resolve());

describe('deleteLinkBatched', () => {
  it('sends the batch at once when every deletion of the plan has been asked for, without waiting for its timer', async () => {
    vi.useFakeTimers();
    const { ctx, batches } = run(['stop-service:a', 'detach-veth:a/default', 'detach-veth:b/default', 'remove-network:default', 'remove-netns:a']);
    const done = [deleteLinkBatched(ctx, 'stkva', 'detach-veth:a/default'), deleteLinkBatched(ctx, 'stkvb', 'detach-veth:b/default'), deleteLinkBatched(ctx, 'stkbr', 'remove-network:default')];
    await Promise.all(done); // no timer advanced
    expect(batches).toEqual([['stkva', 'stkvb', 'stkbr']]);
  });

  it('waits for its window while a deletion of the plan is still to come, then sends what it has', async () => {
    vi.useFakeTimers();
    const { ctx, batches } = run(['detach-veth:a/default', 'detach-veth:b/default', 'remove-network:default']);
    const first = deleteLinkBatched(ctx, 'stkva', 'detach-veth:a/default');
    // An undo's deletion (no step of the plan's) does not count: the batch still waits.
    const undo = deleteLinkBatched(ctx, 'stkvx', 'detach-veth:x/default');
    const second = deleteLinkBatched(ctx, 'stkvb', 'detach-veth:b/default');
    await settle();
    expect(batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(2);
    await Promise.all([first, undo, second]);
    expect(batches).toEqual([['stkva', 'stkvx', 'stkvb']]);
    // The last one, asked for later (a network kept for its guests never asks), goes alone and at once.
    await deleteLinkBatched(ctx, 'stkbr', 'remove-network:default');
    expect(batches).toEqual([['stkva', 'stkvx', 'stkvb'], ['stkbr']]);
  });
});
