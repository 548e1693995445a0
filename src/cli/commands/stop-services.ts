// The end of a foreground `up`: wait until its services have exited (or, with
// --abort-on-container-exit, until the first one does; or Ctrl-C), then stop them, keeping
// networks and volumes; a second Ctrl-C kills what is still stopping.
import { setTimeout as sleep } from 'node:timers/promises';
import { apply } from '../../executor/apply.js';
import type { RunEnv } from './executor-env.js';
import { killServiceGroups } from './service-cgroups.js';
import { awaitExitRecord, describeExit, readExitRecord, statusCode } from '../../state/exit-record.js';
import { serviceFiles } from '../../state/service-files.js';
import { serviceRecords } from '../../state/records.js';
import { emptyProject, stopOnly } from '../../executor/stop-plan.js';
import { planDown } from '../../planner/index.js';
import type { Project } from '../../spec/project.js';
import type { LiveState } from '../../state/live.js';
import { observe } from '../../state/observe.js';
import { readSnapshot } from '../../state/snapshot.js';
import { acquireProjectLock } from '../../state/lock.js';
import type { Renderer } from '../render/index.js';

/** Resolves once no service of the project (or of `services`) has a live process, or `signal` aborts. */
export async function untilAllExited(project: string, env: RunEnv, signal: AbortSignal, services?: readonly string[]): Promise<void> {
  while (!signal.aborted) {
    const live = await observe(project, { roots: env.roots });
    const watched = Object.values(live.services).filter((s) => !services || services.includes(s.name));
    if (!watched.some((s) => s.process?.alive)) return;
    await sleep(250, undefined, { signal }).catch(() => undefined);
  }
}

/**
 * The first of `services` whose process is gone, with its exit code (128+n for signal n, as
 * Docker); undefined on abort. With `failuresOnly` (`up --abort-on-container-failure`), the first
 * that exits with another code than 0, and undefined once every one has exited with 0.
 */
export async function untilFirstExit(
  project: Project,
  services: readonly string[],
  env: RunEnv,
  signal: AbortSignal,
  options: { readonly failuresOnly?: boolean } = {},
): Promise<{ service: string; code: number; how: string } | undefined> {
  // A one-shot that others wait for (service_completed_successfully) is expected to exit.
  const oneShot = (name: string): boolean =>
    Object.values(project.services).some((s) => s.dependsOn[name]?.condition === 'service_completed_successfully');
  const watched = services.filter((s) => !oneShot(s) || options.failuresOnly === true);
  // The exits with 0 seen (failuresOnly): by their process, since a restarted service exits again.
  const succeeded = new Map<string, number>();
  while (!signal.aborted) {
    const live = await observe(project.name, { roots: env.roots });
    for (const name of watched) {
      const process = live.services[name]?.process;
      if (!process || process.alive || succeeded.get(name) === process.pid) continue;
      // Its monitor writes the exit record right after the exit: while it lives, the code (what
      // --exit-code-from returns) is a moment away.
      const monitor = (await serviceRecords.read(env.roots, project.name, name))?.monitor as { pid: number; startTime: number } | undefined;
      const mine = await awaitExitRecord(serviceFiles(env.roots, project.name, name).exit, process, monitor);
      const exit = { service: name, code: mine ? statusCode(mine) : 1, how: mine ? describeExit(mine) : 'exited' };
      if (options.failuresOnly !== true || exit.code !== 0) return exit;
      succeeded.set(name, process.pid);
    }
    // Each gone with 0 (or with no process: stopped meanwhile, never started): none failed. One
    // the supervisor starts again after an exit with 0 (restart: always, unless-stopped) is not
    // over, as compose's restarting container is not.
    const over = (name: string): boolean => {
      const process = live.services[name]?.process;
      const restarts = ['always', 'unless-stopped'].includes(project.services[name]?.restart.kind ?? 'no');
      return !process || (!process.alive && succeeded.get(name) === process.pid && !restarts);
    };
    if (options.failuresOnly === true && watched.every(over)) return undefined;
    await sleep(100, undefined, { signal }).catch(() => undefined);
  }
  return undefined;
}

/** The exit code of the service's last exit (128+n for signal n), or undefined when it has none. */
export function exitCodeOf(project: string, service: string, env: RunEnv): number | undefined {
  const exit = readExitRecord(serviceFiles(env.roots, project, service).exit);
  return exit ? statusCode(exit) : undefined;
}


/**
 * Stops every service of the project (and its supervisor), or only `only.services` of
 * `only.project` (the supervisor stays for the others: services it does not name that are there,
 * as one that no active profile enables, which compose's Ctrl-C leaves running too, and the
 * one-offs of `stack run`); `kill` aborting kills them at once.
 */
export async function stopServices(
  project: string,
  env: RunEnv,
  renderer: Renderer,
  kill: AbortSignal,
  only?: { readonly project: Project; readonly services: readonly string[] },
): Promise<void> {
  // One-offs of `stack run` are not up's: its Ctrl-C leaves them running.
  const ours = (name: string, live: LiveState): boolean => live.services[name]?.oneOff === undefined && (!only || only.services.includes(name));
  // Everything of the project when no service outside `only` is there, nor a one-off: the
  // supervisor goes too. Otherwise it stays for them (a one-off's ports, names and restarts).
  const everything = (live: LiveState): boolean => Object.keys(live.services).every((s) => ours(s, live));
  const killer = (): void => void killServiceGroups(env.roots, project, ours);
  kill.addEventListener('abort', killer, { once: true });
  const lock = await acquireProjectLock(env.roots, project, { command: 'stack up (stopping)' });
  try {
    const live = await observe(project, { roots: env.roots });
    const all = everything(live);
    const plan = stopOnly(planDown(live, { volumes: false }), 'Ctrl-C', (op) => (op.kind === 'stop-service' && ours(op.service, live)) || (op.kind === 'stop-supervisor' && all));
    // Stopping everything, it applies an empty project: the hooks come from up's project, or the snapshot (as `down`'s).
    const startedAs = async () => only?.project ?? (await readSnapshot(env.roots, project))?.project;
    await apply(plan, !all && only ? only.project : emptyProject(project), { env, live, sink: renderer, startedAs });
  } finally {
    kill.removeEventListener('abort', killer);
    await lock.release();
  }
}
