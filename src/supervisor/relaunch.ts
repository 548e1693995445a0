// A restart's launch: the service's process started again exactly where the executor's
// start-service put it (src/executor/handlers/start.ts): the same spec from the snapshot, its
// cgroups (emptied of whatever the last run left), its netns, its log and exit files, and the
// same view — its /etc name files and its volumes, which the first start made, so a restart
// only finds them (src/runtime/mounts.ts in `find` mode: bind sources as given, named volumes'
// folders, anonymous volumes through their records).
import { serviceNamespaces } from '../network/service-namespaces.js';
import type { CgroupManager, LaunchedService } from '../runtime/index.js';
import type { Project, Service } from '../spec/project.js';
import type { StateRoots } from '../state/paths.js';

/** A restart's launch: the service's process, and its monitor's entry for the service's record. */
export interface Relaunched {
  readonly launched: LaunchedService;
  readonly monitor: ReturnType<typeof import('../runtime/index.js').monitorEntry>;
}

/** Starts `spec` again in its netns, cgroups and view; resolves once its program runs. */
export async function relaunch(roots: StateRoots, project: Project, spec: Service, cgroups: CgroupManager): Promise<Relaunched> {
  // The runtime is loaded at the first restart, not at the supervisor's start (requests made
  // meanwhile wait for it): its index brings launch, mounts and seccomp. The supervisor imports
  // no value of it statically (its first health probe loads it too: prober.ts).
  const { startServiceProcess, monitorEntry } = await import('../runtime/index.js');
  const launched = await startServiceProcess({
    roots,
    project,
    service: spec,
    // Its netns (or its owner's, or the host's) and the pid/IPC namespaces it shares, as they are now.
    ...(await serviceNamespaces(roots, project, spec)),
    cgroups,
    mode: 'find',
    empty: true,
  });
  return { launched, monitor: monitorEntry(launched) };
}
