// Removing a one-off (`stack run --rm`): everything it made (process, veths, netns, cgroups,
// files, anonymous volumes, record), under the project's lock. With -d the command ends after
// stack has returned, so a small detached process (oneoff-reaper.ts) waits for it and removes
// the one-off then; it goes as soon as the one-off is gone by other means (`stack down`).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { apply } from '../../executor/apply.js';
import { planRemove, servicesPart } from '../../planner/index.js';
import type { Project } from '../../spec/project.js';
import type { LiveState } from '../../state/live.js';
import { observe } from '../../state/observe.js';
import type { CommandContext } from '../context.js';
import { acquireProjectLock } from '../../state/lock.js';
import type { RunEnv } from './executor-env.js';
import { bundled } from '../../bundled.js';
import { nodeHelperEnv } from '../../sys/node-env.js';

/** The part of `live` that is the one-off `name` and its anonymous volumes: what removing it takes. */
export function oneOffPart(live: LiveState, name: string): LiveState {
  return servicesPart(live, [name], true);
}

/** Removes the one-off: its process, veths, netns, cgroups, files, anonymous volumes and record. */
export async function removeOneOff(env: RunEnv, project: Project, name: string): Promise<void> {
  const lock = await acquireProjectLock(env.roots, project.name, { command: 'stack run --rm', wait: true });
  try {
    const live = await observe(project.name, { roots: env.roots });
    const part = oneOffPart(live, name);
    const planned = planRemove(part, { volumes: true });
    if (planned.operations.length > 0) await apply(planned, project, { env, live: part });
  } finally {
    await lock.release();
  }
}

/** The reaper's script, from src/ (tests), dist/ and the bundle alike. */
function reaperPath(): string {
  const here = import.meta.url; // in the bundle too, this module's URL in dist/ (scripts/bundle.mjs)
  if (bundled) return fileURLToPath(new URL('../../bundle/oneoff-reaper.cjs', here));
  return fileURLToPath(here.endsWith('.ts') ? new URL('../../../dist/cli/commands/oneoff-reaper.js', here) : new URL('./oneoff-reaper.js', here));
}

/** Starts the detached process that removes one-off `name` once its command has ended. */
export function spawnReaper(ctx: Pick<CommandContext, 'env'>, project: string, name: string): void {
  const child = spawn(process.execPath, [reaperPath(), project, name], { detached: true, stdio: 'ignore', cwd: '/', env: nodeHelperEnv(ctx.env as NodeJS.ProcessEnv) });
  child.unref();
}
