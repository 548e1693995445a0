// The end of a foreground `up`: wait until every service has exited (or Ctrl-C), then stop
// them all, keeping networks and volumes; a second Ctrl-C kills what is still stopping.
import { setTimeout as sleep } from 'node:timers/promises';
import { apply } from '../../executor/apply.js';
import type { RunEnv } from './executor-env.js';
import { openCgroups } from '../../executor/cgroup/index.js';
import { emptyProject, stopOnly } from '../../executor/stop-plan.js';
import { planDown } from '../../planner/index.js';
import { observe } from '../../state/observe.js';
import { acquireProjectLock } from '../../state/lock.js';
import type { Renderer } from '../render/index.js';

/** Resolves once no service of the project has a live process, or `signal` aborts. */
export async function untilAllExited(project: string, env: RunEnv, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const live = await observe(project, { roots: env.roots });
    if (!Object.values(live.services).some((s) => s.process?.alive)) return;
    await sleep(250, undefined, { signal }).catch(() => undefined);
  }
}

/** Stops every service of the project (and its supervisor); `kill` aborting kills them at once. */
export async function stopServices(project: string, env: RunEnv, renderer: Renderer, kill: AbortSignal): Promise<void> {
  const onKill = async (): Promise<void> => {
    const cgroups = await openCgroups();
    const live = await observe(project, { roots: env.roots });
    await Promise.all(Object.keys(live.services).map((s) => cgroups.open(project, s).killAll().catch(() => undefined)));
  };
  const killer = (): void => void onKill();
  kill.addEventListener('abort', killer, { once: true });
  const lock = await acquireProjectLock(env.roots, project, { command: 'stack up (stopping)' });
  try {
    const live = await observe(project, { roots: env.roots });
    const stops = stopOnly(planDown(live, { volumes: false }));
    await apply(stops, emptyProject(project), { env, live, sink: renderer });
  } finally {
    kill.removeEventListener('abort', killer);
    await lock.release();
  }
}
