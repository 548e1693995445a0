// The parts of the executor that act on the kernel: the handlers, the network driver, the
// cgroup manager and the name files. apply() loads them only for a plan with operations: a
// no-op `up` compiles none of them (the runtime alone is ~100 KB of modules, and they pull in
// node:child_process, dgram and crypto), since its time is start-up and observation.
export { handlersFor } from './handlers/index.js';
export { writeNameFiles } from './handlers/names.js';
export { firewallWritten } from './handlers/firewall.js';
export { renewNewServicesVolumes } from './handlers/volume.js';
export { openNetworkDriver } from '../network/setup.js';
export { discardPreparedLinkDeletion, prepareLinkDeletion } from '../network/link.js';
export { cannotActOnStop, discardPreparedLauncher, openCgroups, prepareLauncher } from '../runtime/index.js';
