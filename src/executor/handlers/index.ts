// One handler per operation kind, bound to a run's context: what apply() gives the walker.
// Handlers are thin: record the step, then call the network driver, firewall, cgroup manager,
// launcher or stop. The start side (the runtime's launch, view, seccomp and users: start.ts) and
// the volumes' handlers (the runtime's mounts) are loaded by the first operation that needs
// them: a teardown (`down`, `stop`) runs on the runtime's second API alone (runtime/control.ts).
import type { Handlers } from '../walk.js';
import type { RunContext } from '../context.js';
import { createNetwork, removeNetwork } from './network.js';
import { attachVeth, createNetns, detachVeth, removeNetns } from './netns.js';
import { removeService, stopService } from './stop.js';
import { removeProject, stopSupervisor } from './project.js';

const startSide = () => import('./start.js');
const volumes = () => import('./volume.js');

/** The handlers of every kind, acting for the run `ctx`. */
export function handlersFor(ctx: RunContext): Required<Handlers> {
  return {
    'create-network': (op) => createNetwork(ctx, op),
    'remove-network': (op) => removeNetwork(ctx, op),
    'create-volume': async (op) => (await volumes()).createVolume(ctx, op),
    'remove-volume': async (op) => (await volumes()).removeVolume(ctx, op),
    'unmount-volume': async (op) => (await volumes()).unmountVolume(ctx, op),
    'create-netns': (op) => createNetns(ctx, op),
    'remove-netns': (op) => removeNetns(ctx, op),
    'attach-veth': (op) => attachVeth(ctx, op),
    'detach-veth': (op, walk) => detachVeth(ctx, op, walk.aside),
    'start-service': async (op, context) => (await startSide()).startService(ctx, op, context),
    'stop-service': (op, walk) => stopService(ctx, op, walk),
    'remove-service': (op) => removeService(ctx, op),
    'stop-supervisor': () => stopSupervisor(ctx),
    'remove-project': (op) => removeProject(ctx, op),
  };
}
