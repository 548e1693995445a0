// `stack pause` / `unpause` on one service's cgroups: frozen (every process stops where it is,
// the cgroup manager's freeze: the v1 freezer, or v2's cgroup.freeze) and thawed, with a mark in
// the project's run folder (state/service-files.ts pausedMarksDir) that tells `ps`, a stop and
// `kill` which services to look at. The kernel's freezer is what says whether one is paused.
import { existsSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { cgroupPaused } from '../state/probe.js';
import { pausedMarkPath, pausedMarksDir } from '../state/service-files.js';
import { STATE_DIR_MODE, type StateRoots } from '../state/paths.js';
import type { CgroupHandle } from './cgroup/index.js';
import { KernelError, UserError } from '../errors.js';

/**
 * Marks `service` paused, then freezes its group (marked first: a pause cut off after the freeze
 * is still found), and checks that its freezer (`dirs`) says so: a v2 hierarchy of a kernel before
 * 5.2 has no `cgroup.freeze`, and a task that will not freeze (uninterruptible sleep) fails the
 * freeze. Either is a UserError, the group thawed and its mark dropped.
 */
export async function pauseGroup(roots: StateRoots, project: string, service: string, group: Pick<CgroupHandle, 'freeze' | 'thaw'>, dirs: readonly string[]): Promise<void> {
  const dir = pausedMarksDir(roots, project);
  mkdirSync(dir, { recursive: true, mode: STATE_DIR_MODE });
  writeFileSync(pausedMarkPath(roots, project, service), '');
  let why: string | undefined;
  try {
    await group.freeze();
    if (!cgroupPaused(dirs)) why = 'this kernel\'s cgroup hierarchy has no freezer it can use (cgroup v2 before Linux 5.2)';
  } catch (e) {
    if (!(e instanceof KernelError)) throw e;
    why = `its processes would not all freeze (${e.message})`;
  }
  if (why === undefined) return;
  await unpauseGroup(roots, project, service, group, dirs); // thawed when frozen or still FREEZING
  throw new UserError('PAUSE_FAILED', `service "${service}" cannot be paused: ${why}`, 'a process in uninterruptible sleep (D in `stack top`) holds a freeze up; try again once it is done');
}

/** Whether `stack pause` marked `service` (one stat: what a stop, a start and `kill` ask before they look at its freezer). */
export function pauseMarked(roots: StateRoots, project: string, service: string): boolean {
  return existsSync(pausedMarkPath(roots, project, service));
}

/** Thaws `service`'s group when its freezer (`dirs`) says frozen, then drops its mark; whether it thawed. */
export async function unpauseGroup(roots: StateRoots, project: string, service: string, group: Pick<CgroupHandle, 'thaw'>, dirs: readonly string[]): Promise<boolean> {
  const frozen = cgroupPaused(dirs);
  if (frozen) await group.thaw();
  try {
    unlinkSync(pausedMarkPath(roots, project, service));
  } catch {
    // not marked, or the run folder is gone
  }
  return frozen;
}
