// cgroups for the executor: one CgroupManager interface over v1 and v2, chosen at run time.
// Others import from here only. Typical use:
//   const cgroups = await openCgroups();
//   const group = await cgroups.create(project, service, svc.limits);
//   launcher child: write its pid into each of group.procsFiles (or group.dirs/cgroup.procs), then exec
//   stop: group.killAll(); exit status: `oom_kill N` in group.oomEventsFile (or group.oomKilled())
//   observe: manager.projects()/services(p), group.limits(), group.stats(); teardown: group.destroy()
import { detectCgroups, type CgroupLayout } from './detect.js';
import { nodeCgroupDeps } from './deps.js';
import type { CgroupDeps, CgroupManager } from './manager.js';
import { v1Manager } from './v1.js';
import { v2Manager } from './v2.js';

export type { CgroupDeps, CgroupHandle, CgroupManager, CgroupStats, CgroupVersion } from './manager.js';
export type { CgroupFs } from './fs.js';
export type { CgroupLayout, CgroupMounts } from './detect.js';
export type { V1Controller, V1Roots } from './v1.js';
export { detectCgroups, parseCgroupMounts } from './detect.js';
export { nodeCgroupDeps } from './deps.js';
export { nodeCgroupFs } from './fs.js';
export { v1Manager, V1_CONTROLLERS } from './v1.js';
export { v2Manager, V2_CONTROLLERS } from './v2.js';
export { parseFlatKeyed, parseProcs } from './io.js';
export { checkLimits, cpuQuotaUs, CPU_PERIOD_US } from './limits.js';

/** The manager for a detected layout (tests pass a layout over a temp dir or a fake hierarchy). */
export function managerFor(layout: CgroupLayout, deps: CgroupDeps = nodeCgroupDeps): CgroupManager {
  return layout.version === 2 ? v2Manager(layout.root, deps) : v1Manager(layout.roots, deps);
}

/** Detects this host's hierarchy and returns its manager: what the executor calls. */
export async function openCgroups(deps: CgroupDeps = nodeCgroupDeps): Promise<CgroupManager> {
  return managerFor(await detectCgroups(deps), deps);
}
