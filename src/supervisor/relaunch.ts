// A restart's launch: the service's process started again exactly where the executor's
// start-service put it (src/executor/handlers/start.ts): the same spec from the snapshot, its
// cgroups (emptied of whatever the last run left), its netns, its log and exit files.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CgroupManager } from '../executor/cgroup/index.js';
import { launch, type LaunchedService } from '../executor/launch.js';
import { serviceFiles } from '../executor/service-files.js';
import { netnsName } from '../names.js';
import type { Service } from '../spec/project.js';
import { NETNS_DIR, type StateRoots } from '../state/paths.js';

/** Starts `spec` again in its netns and cgroups; resolves once its program runs. */
export async function relaunch(roots: StateRoots, project: string, spec: Service, cgroups: CgroupManager): Promise<LaunchedService> {
  const group = await cgroups.create(project, spec.name, spec.limits);
  await group.killAll();
  const files = serviceFiles(roots, project, spec.name);
  await mkdir(files.dir, { recursive: true });
  return launch({
    service: spec,
    cgroup: group,
    netns: join(NETNS_DIR, netnsName(project, spec.name)),
    logPath: files.log,
    exitPath: files.exit,
  });
}
