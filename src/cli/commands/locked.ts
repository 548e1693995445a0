// Runs a mutating command's observe → plan → execute under the project's lock, telling the
// user what it waits for (or failing at once with --no-lock-wait).
import { acquireProjectLock, describeHolder } from '../../state/lock.js';
import type { RunEnv } from './executor-env.js';
import type { CommandContext } from '../context.js';
import type { Renderer } from '../render/index.js';

/** Holds the lock of `project` while `work` runs. */
export async function withProjectLock<T>(
  _ctx: CommandContext,
  env: RunEnv,
  project: string,
  command: string,
  wait: boolean,
  renderer: Renderer,
  work: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const lock = await acquireProjectLock(env.roots, project, {
    command,
    wait,
    ...(signal && { signal }),
    onWait: (holder) => renderer.notice(`waiting for project ${project}: it is locked by ${describeHolder(holder)}`),
  });
  try {
    return await work();
  } finally {
    await lock.release();
  }
}
