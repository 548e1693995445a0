// The running services of a project as the seeing commands (top, stats, events, cp) need them:
// their main process and the cgroup folders their record names, observed without the lock.
import { readFile } from '../../sys/fs-async.js';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { observe, observeProcesses } from '../../state/observe.js';
import type { LiveState } from '../../state/live.js';
import type { StateRoots } from '../../state/paths.js';

/** One service whose main process runs. */
export interface RunningService {
  readonly name: string;
  readonly pid: number;
  readonly startTime: number;
  /** Absolute cgroup folders (one per v1 controller, or one on v2). */
  readonly cgroups: readonly string[];
}

/** The services of `project` whose main process runs, sorted by name (one-offs left out). */
export async function runningServices(roots: StateRoots, project: string): Promise<RunningService[]> {
  return (await projectServices(roots, project)).running;
}

/** The services of `project` (one-offs left out): those whose main process runs, and the names of the others. */
export async function projectServices(roots: StateRoots, project: string): Promise<{ running: RunningService[]; stopped: string[] }> {
  // Their processes only (as ps looks): no netns, link or network of the project is looked at.
  const live = await observeProcesses(project, { roots, locked: false });
  const services = Object.values(live.services).filter((s) => s.oneOff === undefined);
  return {
    running: services
      .filter((s) => s.process?.alive === true)
      .map((s) => ({ name: s.name, pid: s.process!.pid, startTime: s.process!.startTime, cgroups: s.cgroupDirs.filter((dir) => existsSync(dir)) })),
    stopped: services.filter((s) => s.process?.alive !== true).map((s) => s.name),
  };
}

/**
 * Kills what runs in the cgroups of the services of `project` that `which` takes (all of them
 * when none is given), as observed now: a second Ctrl-C's, of a foreground `up`'s stop or of a
 * `down`, whose stops waiting out a grace period then see their services gone and go on (they
 * report what failed; a group that cannot be killed is left to them).
 */
export async function killServiceGroups(roots: StateRoots, project: string, which: (service: string, live: LiveState) => boolean = () => true): Promise<void> {
  const [{ openCgroups }, live] = await Promise.all([import('../../runtime/index.js'), observe(project, { roots })]);
  const cgroups = await openCgroups();
  await Promise.all(Object.keys(live.services).filter((s) => which(s, live)).map((s) => cgroups.open(project, s).killAll().catch(() => undefined)));
}

/** Every process in the service's cgroups (cgroup.procs of each folder, deduplicated, sorted). */
export async function cgroupPids(cgroups: readonly string[]): Promise<number[]> {
  const pids = new Set<number>();
  for (const dir of cgroups) {
    const text = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const line of text.split('\n')) if (/^\d+$/.test(line)) pids.add(Number(line));
  }
  return [...pids].sort((a, b) => a - b);
}
