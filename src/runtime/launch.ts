// Starts one service as an isolated process: resolves what the launcher needs (command, user,
// capabilities), spawns native/build/launcher detached with the request on its stdin and
// waits for its one-line answer. No Node process stays behind: the launcher's monitor waits
// for the workload, logs its output and writes its exit record (native/launcher.c). The
// launcher is born in its project's monitor group on the cgroup v2 hierarchy where it can be,
// and moves itself into it on the others before it reads its request (cgroup/monitors.ts
// monitorPlacement), so the monitor, and the workload it clones, leave the caller's cgroups
// first. Its first argument names the service: a launch cut off before it answered is found and
// killed by the next command that holds the project's lock (state/starting.ts).
import { mark } from '../trace.js';
import { spawnPiped, type PipedChild } from '../sys/spawn.js';
import { communicate } from '../sys/fd-io.js';
import { close } from '../sys/libc.js';
import { readyWatcher, type ReadyWatcher } from '../sys/ready-watch.js';
import { constants as osConstants } from 'node:os';
import { KernelError, UserError } from '../errors.js';
import { launcherMark } from '../names.js';
import type { Service } from '../spec/project.js';
import { capabilityMask, serviceCapabilities } from './caps.js';
import {
  commandOf,
  DEFAULT_LOG_ROTATION,
  encodeLaunchRequest,
  launchRequest,
  type LogRotation,
} from './launcher-config.js';
import type { ResolvedDevice } from './cgroup/devices.js';
import { monitorPlacement } from './cgroup/monitors.js';
import { LAUNCHER_PATH } from './launcher-path.js';
import { DEFAULT_SEARCH_PATH } from './search-path.js';
import { readBootId } from './proc.js';
import { launchersOfThisProcess } from '../state/starting.js';
import { serviceDevices } from './devices.js';
import { compiledSeccompPairs, serviceSeccomp } from './seccomp/index.js';
import { loadUserDb, resolveUser, type Identity, type UserDb } from './user.js';
import { addedGroups, checkSysctlNamespaces, settingError } from './process-settings.js';
import { checkTargets, type ServiceView } from './view.js';

/** What to launch and where its traces go. */
export interface LaunchOptions {
  readonly service: Service;
  /**
   * The service's cgroups (a CgroupHandle fits): joined before exec; the OOM counter read at
   * exit. With `project`, the monitor goes into that project's monitor group first.
   */
  readonly cgroup?: { readonly dirs: readonly string[]; readonly oomEventsFile?: string; readonly project?: string };
  /** The service's network namespace: a path (/run/netns/stk-…), `new` for a fresh empty one, `host`. */
  readonly netns: string;
  /** The pid and IPC namespaces to share (`pid:`, `ipc:`): `host` or a /proc/PID/ns/… path; absent: new ones. */
  readonly pidNs?: string;
  readonly ipcNs?: string;
  /** The CRI-format log file (rotated as `<logPath>.1`, `.2`, ...); its folder must exist. */
  readonly logPath: string;
  /** Where the monitor writes the exit record (exit-record.ts); its folder must exist. */
  readonly exitPath: string;
  readonly logRotation?: LogRotation;
  /** Users and groups `user:` resolves against (default: the host's). */
  readonly userDb?: UserDb;
  readonly launcherPath?: string;
  /**
   * The service's own root (native/launcher/view.h): the host's folders read-only, its /etc
   * name files, its volumes (host paths resolved by the caller, bind sources existing) and
   * `read_only:`. Without it the service sees the host's root (launch tests of other parts).
   */
  readonly view?: ServiceView;
  /** The service's device nodes (devices.ts serviceDevices) when the caller has them already; read from the host otherwise. */
  readonly devices?: readonly ResolvedDevice[];
}

/** A running service: enough to find, check and stop it later (records keep all of it). */
export interface LaunchedService {
  readonly service: string;
  /** Host pid of the workload (pid 1 in its namespace; with `init: true`, its init) and its start time (proc.ts). */
  readonly pid: number;
  readonly startTime: number;
  /** Host pid of the monitor, and its start time. */
  readonly monitorPid: number;
  readonly monitorStartTime: number;
  /** The monitor's descriptor that is the workload's input (`tty`: the terminal's master; `stdin_open`: its pipe), for `stack attach`. */
  readonly inputFd?: number;
  readonly bootId: string;
  readonly logPath: string;
  readonly exitPath: string;
}

/** The monitor entry of a service record for `launched` (its input descriptor, for `stack attach`, when it has one). */
export function monitorEntry(launched: LaunchedService): { pid: number; startTime: number; input?: number } {
  return { pid: launched.monitorPid, startTime: launched.monitorStartTime, ...(launched.inputFd !== undefined && { input: launched.inputFd }) };
}

interface LauncherAnswer {
  readonly line: string;
  readonly stderr: string;
  readonly monitorPid: number;
}

/** A launcher spawned, waiting for its request on stdin; its answer line once fed. */
interface StartedLauncher {
  readonly pid: number | undefined;
  /** Hands it the request; resolves with its answer. */
  feed(request: Buffer): Promise<LauncherAnswer>;
  /** Ends it unfed (it exits on the empty request). */
  discard(): void;
  /** Whether it still runs, unfed and not failed. */
  waiting(): boolean;
}

/**
 * Spawns the launcher of `service` (of `project`: in its monitor group) with its arguments: first
 * its mark (names.ts launcherMark: how observe ties a launcher that has not answered yet to its
 * service, state/starting.ts), then the monitor group it moves itself into as it starts, where
 * it was not born there (cgroup/monitors.ts monitorPlacement, native/launcher/place.h), while it
 * waits for its whole request on stdin; feed() gives it the request and collects its answer.
 * The spawn runs on one of libuv's threads (sys/spawn.ts): posix_spawn holds
 * its thread until the launcher execs, ~2.4 ms a launcher on this machine, which for the 20
 * launchers of an `up -d` of 20 was 46 ms of the CLI's only thread. What is asked of the
 * launcher before the spawn is done waits for it.
 */
function startLauncher(path: string, service: string, project: string | undefined): StartedLauncher {
  let started: StartedLauncher | undefined;
  let dropped = false;
  // No `cwd`: the launcher moves to / itself, first thing (native/launcher.c).
  const spawn = async (): Promise<StartedLauncher> => {
    const watcher = readyWatcher(); // before the spawn: a child is never left without its reader
    const placement = project === undefined ? undefined : monitorPlacement(project);
    const args = [launcherMark(service), ...(placement?.args ?? [])];
    return spawnedLauncher(await spawnPiped(path, args, { detached: true, env: {}, ...placement?.spawn }), watcher);
  };
  const ready = spawn().then(
    (launcher) => launcher,
    (e: unknown) => {
      const code = (e as NodeJS.ErrnoException).code;
      const error =
        code === 'ENOENT' || code === 'EACCES'
          ? new UserError('LAUNCHER_MISSING', `the launcher ${path} is not built`, 'run `npm run build` (it needs gcc)', { cause: e })
          : e instanceof Error
            ? e
            : new Error(String(e));
      return failedLauncher(error);
    },
  ).then((launcher) => {
    started = launcher;
    if (dropped) launcher.discard();
    return launcher;
  });
  return {
    get pid() {
      return started?.pid;
    },
    waiting: () => !dropped && (started === undefined || started.waiting()),
    discard() {
      dropped = true;
      started?.discard();
    },
    feed: (request) => ready.then((launcher) => launcher.feed(request)),
  };
}

/**
 * A launcher spawned (`child`), placing itself: fed its request by feed(). Its stdio are
 * descriptors (spawnPiped), written and read as this process's ReadyWatcher says they can be:
 * the request on stdin, then its stdout (the answer line) and stderr read to their end.
 */
function spawnedLauncher(child: PipedChild, watcher: ReadyWatcher): StartedLauncher {
  launchersOfThisProcess.add(child.pid);
  const forget = (): void => {
    launchersOfThisProcess.delete(child.pid);
  };
  // Its descriptors are closed by discard() or at the end of feed(), never when it exits alone:
  // their numbers are not given to another descriptor while this one may still use them.
  let fed = false;
  let discarded = false;
  child.once('exit', () => {
    if (!fed) forget();
  });
  return {
    pid: child.pid,
    waiting: () => !fed && !discarded && !child.exited,
    discard() {
      if (fed || discarded) return; // a feed under way has its descriptors, and closes them
      discarded = true;
      forget();
      for (const fd of [child.stdin, child.stdout, child.stderr]) close(fd); // unfed: it exits on the empty request
      child.unref();
    },
    async feed(request) {
      fed = true;
      const said = await communicate(child, request, watcher, async (stdout) => {
        await stdout.ended;
        // No answer means the launcher crashed: wait for its exit status to say so.
        if (stdout.text() === '' && !child.exited) await new Promise((resolve) => child.once('exit', resolve));
      });
      forget();
      child.unref();
      return { line: said.stdout, stderr: said.stderr, monitorPid: child.pid };
    },
  };
}

/** A launcher that could not be spawned: feeding it gives the reason. */
function failedLauncher(error: Error): StartedLauncher {
  return {
    pid: undefined,
    waiting: () => false,
    discard: () => undefined,
    feed: () => Promise.reject(error),
  };
}

/** Launchers spawned ahead of their launch (prepareLauncher), by project, service and path. */
const prepared = new Map<string, StartedLauncher>();

const preparedKey = (project: string, service: string, path: string): string => `${project}\0${service}\0${path}`;

/**
 * Spawns the launcher of a launch to come (apply() does it before walking a plan for its first
 * starts, start-service as it begins, a watch restart between its stop and its start), so that
 * the launch only hands it its request: the spawn and the launcher's move into the monitor group
 * (on cgroup v1 the first move waits for an RCU grace period, 10-25 ms) are off the critical
 * path. The caller holds the project's lock until it launches or discards it
 * (discardPreparedLauncher): observe leaves this process's own launchers alone (state/starting.ts).
 */
export function prepareLauncher(project: string, service: string, launcherPath: string = LAUNCHER_PATH): void {
  const key = preparedKey(project, service, launcherPath);
  if (prepared.has(key)) return;
  prepared.set(key, startLauncher(launcherPath, service, project));
}

/** Ends a prepared launcher that no launch took (the restart went another way). */
export function discardPreparedLauncher(project: string, service: string, launcherPath: string = LAUNCHER_PATH): void {
  const key = preparedKey(project, service, launcherPath);
  prepared.get(key)?.discard();
  prepared.delete(key);
}

/** The prepared launcher for this launch, when one is there and still waiting; else a new one. */
function launcherFor(path: string, service: string, project: string | undefined): StartedLauncher {
  if (project !== undefined) {
    const key = preparedKey(project, service, path);
    const ready = prepared.get(key);
    prepared.delete(key);
    if (ready?.waiting()) return ready;
    ready?.discard();
  }
  return startLauncher(path, service, project);
}

/** Turns the launcher's `err` answer into an error a human can act on. */
function launchError(service: Service, argv: readonly string[], answer: string): Error {
  const [, stage = '?', errno = '0', detail = ''] = answer.trimEnd().split('\t');
  // The launcher's details name the service bare (`service web: volume target ...`); the messages here name it quoted, once.
  const bare = detail.startsWith(`service ${service.name}: `) ? detail.slice(`service ${service.name}: `.length) : detail;
  const program = argv[0] ?? '';
  const searched = program.includes('/') ? '' : ` (searched PATH ${service.environment.PATH ?? DEFAULT_SEARCH_PATH})`;
  if (stage === 'exec' && (errno === 'ENOENT' || errno === 'ENOTDIR')) {
    const where = service.imageRoot !== undefined ? `in image ${service.image}` : 'on this host';
    return new UserError('COMMAND_NOT_FOUND', `service "${service.name}": program "${detail}" not found ${where}${searched}`,
      service.imageRoot !== undefined ? 'check the command: the image must contain the program' : 'check the command, or install the program on this host');
  }
  if (stage === 'exec' && errno === 'EACCES') {
    return new UserError('COMMAND_NOT_EXECUTABLE', `service "${service.name}": program "${detail}" is not executable by its user${searched}`, 'check the file mode and the service\'s `user:`');
  }
  if (stage === 'exec' && errno === 'ENOEXEC') {
    return new UserError('COMMAND_NOT_EXECUTABLE', `service "${service.name}": "${detail}" is not a program this kernel can run`, 'a script needs a #! line; a binary must be built for this machine');
  }
  if (stage === 'exec' && errno === 'EPERM') {
    // The kernel refuses to exec a program whose file capabilities (setcap, e.g. Debian's ping:
    // cap_net_raw=ep) are not all in the service's capability bounding set.
    return new UserError(
      'COMMAND_NOT_PERMITTED',
      `service "${service.name}": the kernel refused to run "${detail}" (EPERM)${searched}`,
      'a program with file capabilities (see `getcap`) needs them in the service: add them with cap_add (e.g. NET_RAW for ping)',
    );
  }
  if (stage === 'chdir' && (errno === 'ENOENT' || errno === 'ENOTDIR')) {
    return new UserError('WORKING_DIR_MISSING', `service "${service.name}": working_dir ${detail} does not exist`, 'create the folder or change `working_dir:`');
  }
  if (stage === 'target') {
    return new UserError('MOUNT_TARGET', `service "${service.name}": ${bare}`, 'a volume target is a real path inside the service, reached without symlinks, outside /proc and /sys');
  }
  if (stage === 'source' && (errno === 'ENOENT' || errno === 'ENOTDIR')) {
    return new UserError('BIND_SOURCE_MISSING', `service "${service.name}": ${bare} does not exist`, 'create it, or let the short syntax (`./dir:/target`) create it');
  }
  if (stage === 'sysctl' || stage === 'rlimit') return settingError(service, stage, errno, detail);
  const value = (osConstants.errno as Record<string, number>)[errno] ?? 0;
  return new KernelError(`launch service ${service.name}: ${stage} ${bare}`, errno, value);
}

/**
 * Who the service runs as: an image service's user and `group_add` were resolved in the image's
 * own /etc/passwd and /etc/group (image/resolve.ts); a host program's in `userDb`, `group_add`
 * adding its groups.
 */
function serviceIdentity(service: Service, options: LaunchOptions): Identity {
  if (service.imageRoot !== undefined) return service.imageRoot.identity;
  const db = options.userDb ?? loadUserDb();
  const base = resolveUser(service.name, service.user, db);
  if (service.groupAdd === undefined || service.groupAdd.length === 0) return base;
  return { ...base, groups: [...new Set([...base.groups, ...addedGroups(service, db)])] };
}

/**
 * Starts the service and resolves once its program runs (exec succeeded), or rejects: a
 * UserError for what the user can fix (unknown user, program not found),
 * a KernelError naming the failed step otherwise.
 */
export async function launch(options: LaunchOptions): Promise<LaunchedService> {
  const { service } = options;
  const argv = commandOf(service);
  if (options.view !== undefined) checkTargets(service, options.view.mounts);
  const caps = serviceCapabilities(service);
  mark('launch: begin');
  const seccomp = await compiledSeccompPairs(serviceSeccomp(service, caps));
  mark('launch: seccomp');
  checkSysctlNamespaces(service, options.netns);
  const request = launchRequest({
    service,
    argv,
    identity: serviceIdentity(service, options),
    caps: capabilityMask(caps),
    cgroupDirs: options.cgroup?.dirs ?? [],
    ...(options.cgroup?.oomEventsFile !== undefined && { oomEventsFile: options.cgroup.oomEventsFile }),
    netns: options.netns,
    ...(options.pidNs !== undefined && { pidNs: options.pidNs }),
    ...(options.ipcNs !== undefined && { ipcNs: options.ipcNs }),
    logPath: options.logPath,
    exitPath: options.exitPath,
    logRotation: options.logRotation ?? DEFAULT_LOG_ROTATION,
    ...(options.view !== undefined && { view: options.view, devices: options.devices ?? serviceDevices(service) }),
    ...(seccomp.length > 0 && { seccomp }),
  });
  mark('launch: request built');
  const answer = await launcherFor(options.launcherPath ?? LAUNCHER_PATH, service.name, options.cgroup?.project).feed(encodeLaunchRequest(request));
  mark('launch: answered');
  const [kind, pid, startTime, monitorStartTime, input] = answer.line.trimEnd().split('\t');
  if (kind === 'err') throw launchError(service, argv, answer.line);
  if (kind !== 'ok' || pid === undefined || startTime === undefined || monitorStartTime === undefined) {
    throw new Error(`launcher for service ${service.name} gave no answer (${JSON.stringify(answer.line)}); stderr: ${answer.stderr.trim()}`);
  }
  return {
    service: service.name,
    pid: Number(pid),
    startTime: Number(startTime),
    monitorPid: answer.monitorPid,
    monitorStartTime: Number(monitorStartTime),
    ...(input !== undefined && Number(input) >= 0 && { inputFd: Number(input) }),
    bootId: readBootId(),
    logPath: options.logPath,
    exitPath: options.exitPath,
  };
}
