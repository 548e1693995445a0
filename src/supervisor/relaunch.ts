// A restart's launch: the service's process started again exactly where the executor's
// start-service put it (src/executor/handlers/start.ts): the same spec from the snapshot, its
// cgroups (emptied of whatever the last run left), its netns, its log and exit files, and the
// same view — its /etc name files and its volumes, which the first start made, so a restart
// only finds them: bind sources as given, named volumes' folders, anonymous volumes through
// their records.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CgroupManager } from '../runtime/cgroup/index.js';
import { anonymousVolumeKey } from '../executor/handlers/mounts.js';
import { launch, type LaunchedService } from '../runtime/launch.js';
import { serviceFiles } from '../runtime/service-files.js';
import type { ServiceView, ViewMount } from '../runtime/view.js';
import { netnsName } from '../names.js';
import type { Project, Service } from '../spec/project.js';
import { NETNS_DIR, volumeDataDir, type StateRoots } from '../state/paths.js';
import { serviceRecords, volumeRecords } from '../state/records.js';

/** The service's volumes as the launcher mounts them, found (never made) on the host. */
export async function restartMounts(roots: StateRoots, project: Project, spec: Service): Promise<ViewMount[]> {
  const mounts: ViewMount[] = [];
  for (const mount of spec.volumes) {
    const base = { target: mount.target, readOnly: mount.readOnly };
    if (mount.type === 'tmpfs') {
      const size = mount.sizeBytes !== undefined && { sizeBytes: mount.sizeBytes };
      mounts.push({ type: 'tmpfs', ...base, ...size, ...(mount.mode !== undefined && { mode: mount.mode }) });
    } else if (mount.type === 'bind') {
      mounts.push({ type: 'bind', source: mount.source, ...base });
    } else if (mount.source !== undefined) {
      const volume = project.volumes[mount.source];
      if (!volume) throw new Error(`service ${spec.name}: volume ${mount.source} is not in the project`);
      mounts.push({ type: 'bind', source: volumeDataDir(roots, volume.name), ...base });
    } else {
      const record = await volumeRecords.read(roots, project.name, anonymousVolumeKey(spec.name, mount.target));
      if (!record) throw new Error(`service ${spec.name}: no record of its anonymous volume at ${mount.target}`);
      mounts.push({ type: 'bind', source: record.path, ...base });
    }
  }
  return mounts;
}

/** Starts `spec` again in its netns, cgroups and view; resolves once its program runs. */
export async function relaunch(roots: StateRoots, project: Project, spec: Service, cgroups: CgroupManager): Promise<LaunchedService> {
  const group = await cgroups.create(project.name, spec.name, spec.limits);
  await group.killAll();
  const files = serviceFiles(roots, project.name, spec.name);
  await mkdir(files.dir, { recursive: true });
  const view: ServiceView = {
    etcFiles: { hosts: files.hosts, hostname: files.hostname, resolvConf: files.resolvConf },
    mounts: await restartMounts(roots, project, spec),
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
