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

/** Freezes and waits for it; false when some task would not freeze within `budgetMs`. */
export async function freezeAndWait(group: Freezable, deps: CgroupDeps, budgetMs = 2_000): Promise<boolean> {
  await group.requestFreeze();
  return pollUntil(() => group.isFrozen(), deps.sleep, budgetMs);
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
