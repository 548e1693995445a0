// Starting one service's process, the same way for every caller: the executor's start-service
// (first start, `make` mode: volumes and bind sources are made) and the supervisor's restarts
// (`find` mode: they exist already). In order: the service's cgroups (limits and device rules,
// emptied of whatever an earlier run left), its runtime folder, its view (name files, mounts,
// hidden paths) and the launch into its netns.
import { mark } from '../trace.js';
import { mkdir } from '../sys/fs-async.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Project, Service } from '../spec/project.js';
import { NETNS_DIR, serviceRootDir, STATE_DIR_MODE, type StateRoots } from '../state/paths.js';
import { imageLayerDirs } from '../image/paths.js';
import type { ServiceView } from './view.js';
import type { CgroupHandle, CgroupManager } from './cgroup/index.js';
import { serviceDeviceRules } from './cgroup/devices.js';
import { serviceDevices } from './devices.js';
import { serviceHides, type HidesCache } from './hidden.js';
import { launch, type LaunchedService } from './launch.js';
import { prepareMounts, type MountSetup } from './mounts.js';
import { serviceFiles } from '../state/service-files.js';
import { pauseMarked, unpauseGroup } from './pause.js';
import { loadUserDb, type UserDb } from './user.js';

/** Where and how a service is started. */
export interface StartRequest {
  readonly roots: StateRoots;
  readonly project: Project;
  readonly service: Service;
  /** The netns name (its own as its record holds it, or its owner's), under /run/netns; `host`: the host's. */
  readonly netns: string;
  /** The pid and IPC namespaces it shares (network/service-namespaces.ts); absent: its own. */
  readonly pidNs?: string;
  readonly ipcNs?: string;
  readonly cgroups: CgroupManager;
  /** `make` on a first start (volumes and bind sources created), `find` on a restart. */
  readonly mode: MountSetup['mode'];
  /** Kill whatever is left in the service's cgroups first (a replaced or restarted process). */
  readonly empty: boolean;
  readonly invoker?: MountSetup['invoker'];
  readonly userDb?: UserDb;
  /** An image service's copy-up into new volumes (mounts.ts), on a first start. */
  readonly copyUp?: MountSetup['copyUp'];
  /** Awaited once the cgroups and mounts are ready, just before the launch (the executor's firewall, and the services it depends on). */
  readonly beforeLaunch?: () => Promise<void>;
  /** The run's hidden-path looks (hidden.ts), shared by the services it starts. */
  readonly hides?: HidesCache;
}

/** A started service: its process and the cgroup it runs in. */
export interface StartedService extends LaunchedService {
  readonly group: CgroupHandle;
}

/**
 * The overlayfs root of an image service: its layers' folders in the image store, lowest first,
 * and its own writable upper (kept across restarts; none for `read_only: true`).
 */
async function imageRootView(roots: StateRoots, projectName: string, service: Service): Promise<NonNullable<ServiceView['image']>> {
  const layers = imageLayerDirs(roots, service.imageRoot!);
  if (service.readOnly) return { layers };
  const dir = serviceRootDir(roots, projectName, service.name);
  const upper = { upper: join(dir, 'upper'), work: join(dir, 'work') };
  await mkdir(upper.upper, { recursive: true, mode: 0o755 });
  await mkdir(upper.work, { recursive: true, mode: 0o700 });
  return { layers, upper };
}

/** Creates the service's cgroups and view and starts its process; resolves once it runs. */
export async function startServiceProcess(request: StartRequest): Promise<StartedService> {
  const { roots, project, service } = request;
  if (service.image !== undefined && service.imageRoot === undefined) {
    throw new Error(`service ${service.name}: image ${service.image} was not resolved from the image store before its launch`);
  }
  // Read the host's /etc/passwd and /etc/group once: the volume owner, the user and the hidden homes all use it.
  const userDb = request.userDb ?? loadUserDb();
  // Resolved once: the cgroup's device rules and the view's /dev come from the same nodes.
  const devices = serviceDevices(service);
  mark('service: userdb+devices');
  const group = await request.cgroups.create(project.name, service.name, service.limits, serviceDeviceRules(service, devices));
  mark('service: cgroup created');
  if (request.empty) await group.killAll();
  // A group `stack pause` froze, whose process died meanwhile: thawed, or the new one would freeze at once.
  if (pauseMarked(roots, project.name, service.name)) await unpauseGroup(roots, project.name, service.name, group, group.dirs);
  mark('service: cgroup emptied');
  const files = serviceFiles(roots, project.name, service.name);
  mkdirSync(files.dir, { recursive: true, mode: STATE_DIR_MODE }); // its name files' folder (start-service made it already; a direct caller, not)
  const mounts = await prepareMounts(
    {
      roots,
      project,
      mode: request.mode,
      ...(request.invoker !== undefined && { invoker: request.invoker }),
      userDb,
      ...(request.copyUp !== undefined && { copyUp: request.copyUp }),
    },
    service,
  );
  mark('service: mounts prepared');
  // An image root holds nothing of the host's: no credential to hide.
  const hide = service.imageRoot === undefined ? serviceHides(roots, service, userDb, request.hides) : [];
  mark('service: hides');
  await request.beforeLaunch?.();
  mark('service: before launch');
  const launched = await launch({
    service,
    cgroup: group,
    netns: request.netns === 'host' ? 'host' : join(NETNS_DIR, request.netns),
    ...(request.pidNs !== undefined && { pidNs: request.pidNs }),
    ...(request.ipcNs !== undefined && { ipcNs: request.ipcNs }),
    logPath: files.log,
    exitPath: files.exit,
    userDb,
    devices,
    view: {
      etcFiles: { hosts: files.hosts, hostname: files.hostname, resolvConf: files.resolvConf },
      mounts,
      hide,
      ...(service.imageRoot !== undefined && { image: await imageRootView(roots, project.name, service) }),
    },
  });
  return { ...launched, group };
}
