// Killing every process of a group without a cgroup.kill file (v1, v2 before 5.14): freeze the
// group so nothing in it can fork or exit (a listed pid cannot be reused while frozen), SIGKILL
// each listed pid, thaw so the signals land, and repeat until the group is empty, because a
// task forked just before the freeze may only show up in the next listing.
import { constants as osConstants } from 'node:os';
import { KernelError } from '../../errors.js';
import type { CgroupDeps } from './manager.js';
import { pollUntil } from './poll.js';

/** The freezer and process list of one group, as each hierarchy version provides them. */
export interface Freezable {
  /** Asks the kernel to freeze the group (returns at once). */
  requestFreeze(): Promise<void>;
  /** Whether the freeze has taken hold for every task. */
  isFrozen(): Promise<boolean>;
  thaw(): Promise<void>;
  pids(): Promise<number[]>;
}

/** Every this many looks at a freeze that has not taken hold, the group is thawed and frozen anew. */
const REFREEZE_EVERY = 10;

/**
 * Freezes and waits for it; false when some task would not freeze within `budgetMs`. The freeze
 * is asked for again at every look: cgroup v1 can leave a group FREEZING for good when one of its
 * processes forks while it freezes (the new task escapes), and a new request freezes what
 * escaped; every REFREEZE_EVERY looks it is thawed first and frozen anew. A shell that forks a
 * `sleep` every 50 ms stayed FREEZING for 2 s in 1 of 30 and 1 of 60 freezes of one request
 * (Linux 6.18, measured); asked again at each look, 0 of 60. runc's v1 freezer notes the same.
 * v2's freezer has no such hole; asking it again changes nothing.
 */
export async function freezeAndWait(group: Freezable, deps: CgroupDeps, budgetMs = 2_000): Promise<boolean> {
  let looks = 0;
  return pollUntil(
    async () => {
      if (++looks % REFREEZE_EVERY === 0) await group.thaw();
      await group.requestFreeze();
      return group.isFrozen();
    },
    deps.sleep,
    budgetMs,
  );
}

/** Freeze → SIGKILL every pid → thaw, until the group is empty; `where` names it in errors. */
export async function freezeKillThaw(group: Freezable, deps: CgroupDeps, where: string): Promise<void> {
  for (let round = 0; round < 10; round++) {
    if ((await group.pids()).length === 0) return;
    // A task stuck in uninterruptible sleep may never freeze; kill anyway, SIGKILL stays queued.
    await freezeAndWait(group, deps, 500);
    try {
      for (const pid of await group.pids()) deps.kill(pid);
    } finally {
      await group.thaw();
    }
    if (await pollUntil(async () => (await group.pids()).length === 0, deps.sleep, 500)) return;
  }
  const left = await group.pids();
  if (left.length === 0) return;
  throw new KernelError(`kill every process in ${where} (left: ${left.join(' ')})`, 'EBUSY', osConstants.errno.EBUSY);
}

/** Waits until a group that was told to die (cgroup.kill) is empty. */
export async function waitEmpty(group: Pick<Freezable, 'pids'>, deps: CgroupDeps, where: string): Promise<void> {
  if (await pollUntil(async () => (await group.pids()).length === 0, deps.sleep)) return;
  const left = await group.pids();
  throw new KernelError(`wait for ${where} to empty (left: ${left.join(' ')})`, 'EBUSY', osConstants.errno.EBUSY);
}
