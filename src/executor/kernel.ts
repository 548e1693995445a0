// The parts of the executor that act on the kernel: the handlers, the network driver, the
// cgroup manager and the name files. apply() loads them only for a plan with operations: a
// no-op `up` compiles none of them, since its time is start-up and observation. What starts a
// service (handlers/start.ts: the runtime's launch, view, seccomp and users, ~40 % of this side
// with it) is loaded apart, by a plan that starts one (apply.ts startLoading): a `down` never does,
// nor does a volume's unmount or removal (handlers/volume.ts goes through runtime/control.ts).
import type { Plan } from '../planner/plan.js';
import type { RunContext } from './context.js';

export { handlersFor } from './handlers/index.js';
export { writeNameFiles } from './handlers/names.js';
export { firewallWritten } from './handlers/firewall.js';
export { openNetworkDriver } from '../network/setup.js';
export { discardPreparedLinkDeletion, prepareLinkDeletion } from '../network/link.js';
export { cannotActOnStop, openCgroups } from '../runtime/control.js';

/** The executor's start side: the start handler and the launchers it prepares. */
export type StartSide = typeof import('./handlers/start.js');

/**
 * The start side (handlers/start.ts), for a plan that starts a service and for a restart's
 * launchers. Every import of it from outside this side goes through here (handlers/index.ts,
 * inside it, imports it itself): its pack then leaves out what this side has
 * loaded already (scripts/bundle.mjs takes out of a pack what all its importers load
 * statically), where an import from apply.ts and lifecycle.ts gave it 202 KB of this side's
 * chunks besides its own 110.
 */
export function loadStartSide(): Promise<StartSide> {
  return import('./handlers/start.js');
}

/** `up -V`: the anonymous volumes of the services the plan creates, renewed (handlers/volume.ts; loaded only then). */
export async function renewNewServicesVolumes(ctx: RunContext, plan: Plan): Promise<void> {
  await (await import('./handlers/volume.js')).renewNewServicesVolumes(ctx, plan);
}
