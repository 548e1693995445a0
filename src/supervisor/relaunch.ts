// A restart's launch: the service's process started again exactly where the executor's
// start-service put it (src/executor/handlers/start.ts): the same spec from the snapshot, its
// cgroups (emptied of whatever the last run left), its netns, its log and exit files, and the
// same view — its /etc name files and its volumes, which the first start made, so a restart
// only finds them (src/runtime/mounts.ts in `find` mode: bind sources as given, named volumes'
// folders, anonymous volumes through their records).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CgroupManager } from '../runtime/cgroup/index.js';
import { prepareMounts } from '../runtime/mounts.js';
import { launch, type LaunchedService } from '../runtime/launch.js';
import { deviceRulesFor } from '../runtime/devices.js';
import { serviceFiles } from '../runtime/service-files.js';
import type { ServiceView } from '../runtime/view.js';
import { serviceHides } from '../runtime/hidden.js';
import { netnsName } from '../names.js';
import type { Project, Service } from '../spec/project.js';
import { NETNS_DIR, type StateRoots } from '../state/paths.js';
import { serviceRecords } from '../state/records.js';

/** Starts `spec` again in its netns, cgroups and view; resolves once its program runs. */
export async function relaunch(roots: StateRoots, project: Project, spec: Service, cgroups: CgroupManager): Promise<LaunchedService> {
  const group = await cgroups.create(project.name, spec.name, spec.limits, deviceRulesFor(spec));
  await group.killAll();
  const files = serviceFiles(roots, project.name, spec.name);
  await mkdir(files.dir, { recursive: true });
  const view: ServiceView = {
    etcFiles: { hosts: files.hosts, hostname: files.hostname, resolvConf: files.resolvConf },
    mounts: await prepareMounts({ roots, project, mode: 'find' }, spec),
    hide: serviceHides(roots, spec),
  };
  return launch({
    service: spec,
    cgroup: group,
    netns: join(NETNS_DIR, (await serviceRecords.read(roots, project.name, spec.name))?.netns ?? netnsName(project.name, spec.name)),
    logPath: files.log,
    exitPath: files.exit,
    view,
  });
}
