// observe(): the records of a project, each claim checked against the kernel. The kernel wins:
// a record whose netns, link, cgroup or process is gone observes as not present (drift, which
// the next plan repairs), and a record from another boot is not believed at all: everything it
// claims observes as gone, without probing (a pid of another boot names another process).
// A service whose record names no live process but whose cgroup holds its main process (a run
// cut off between launch and the pid record, by a crash or a kill) has that process adopted:
// observed as running, so the next `up` never starts a second copy. Only a caller that holds
// the project's lock (up, down, run, ...) writes it into the record, and only such a caller
// first kills a launch cut off before its workload joined the service's cgroups (starting.ts);
// `ps`, `exec` and the like observe without the lock and change nothing.
import { join } from 'node:path';
import { readBootId } from '../sys/proc.js';
import { mountOwnership } from '../sys/mountinfo.js';
import { listDir } from './atomic.js';
import { holdsProjectLock } from './held-locks.js';
import type { LiveNetwork, LiveService, LiveState, LiveVolume } from './live.js';
import { NETNS_DIR, stateRoots, type StateRoots } from './paths.js';
import { dirPresent, linkPresent, mainProcessesIn, netnsPresent, processAlive } from './probe.js';
import { killStartingLaunch, launchersOfService, monitorDirsOf, unansweredLaunchers, type UnansweredLauncher } from './starting.js';
import { networkRecords, serviceRecords, stopOf, volumeRecords, type NetworkRecord, type ServiceRecord } from './records.js';

/** Where to look; every field defaults to the real place. */
export interface ObserveOptions {
  readonly roots?: StateRoots;
  /** Folder of named netns bind mounts. */
  readonly netnsDir?: string;
  /** This boot's id (default: /proc/sys/kernel/random/boot_id). */
  readonly bootId?: string;
  /**
   * The caller holds the project's lock, so observe may act on what a cut-off run left: kill its
   * half-started launches and write adopted processes into their records. Default: whether this
   * process holds the lock (state/lock.ts). Without it, an adopted process is reported, not written.
   */
  readonly locked?: boolean;
}

/** What exists of `project` on this host; an empty host observes as empty. */
export async function observe(project: string, options: ObserveOptions = {}): Promise<LiveState> {
  const looking = lookingAt(project, options);
  const [services, networks, volumes] = await Promise.all([
    serviceRecords.list(looking.roots, project),
    networkRecords.list(looking.roots, project),
    volumeRecords.list(looking.roots, project),
  ]);
  const live = {
    project,
    services: {} as Record<string, LiveService>,
    networks: {} as Record<string, LiveNetwork>,
    volumes: {} as Record<string, LiveVolume>,
    warnings: [...services.warnings, ...networks.warnings, ...volumes.warnings],
  };
  await Promise.all([
    ...services.records.map(async (r) => {
      const { record, thisBoot, alive } = await current(looking, r, live.warnings);
      live.services[r.service] = await observeService(record, thisBoot, looking.netnsDir, alive);
    }),
    ...networks.records.map(async (r) => {
      live.networks[r.key] = await observeNetwork(r, r.bootId === looking.bootId);
    }),
    ...volumes.records.map(async (r) => {
      const owner = r.owner !== undefined ? { owner: r.owner } : {};
      const mount = r.mount !== undefined ? { mount: { ...r.mount, mounted: mountOwnership(r.path, r.mount.id) === 'own' } } : {};
      live.volumes[r.key] = { key: r.key, name: r.name, path: r.path, present: await dirPresent(r.path), ...owner, ...mount };
    }),
  ]);
  return { ...live, services: sorted(live.services), networks: sorted(live.networks), volumes: sorted(live.volumes) };
}

/** A service's process as observe() sees it, and nothing else of it (not the planner's LiveProcess: the recorded pid alone). */
export type ServiceProcess = Pick<LiveService, 'name' | 'process' | 'oneOff'> & {
  /** The cgroup folders its record names (not looked at). */
  readonly cgroupDirs: readonly string[];
  /** Made and never started (`create`, `up --no-start`; a start that failed): its record holds no configuration yet. */
  readonly created: boolean;
};

/**
 * The project's services and their processes, as observe() sees them (a process its cgroups hold
 * adopted the same way), without looking at their namespaces, links and cgroups, nor at the
 * project's networks and volumes: what `ps` shows. Those were ~9 of the ~10 looks a service on
 * cgroup v1 (a `stat` each).
 */
export async function observeProcesses(project: string, options: ObserveOptions = {}): Promise<{ services: Record<string, ServiceProcess>; warnings: string[] }> {
  const looking = lookingAt(project, options);
  const services = await serviceRecords.list(looking.roots, project);
  const found: Record<string, ServiceProcess> = {};
  const warnings = [...services.warnings];
  await Promise.all(
    services.records.map(async (r) => {
      const { record, thisBoot, alive } = await current(looking, r, warnings);
      found[r.service] = { ...serviceProcess(record, thisBoot, alive), cgroupDirs: record.cgroups, created: record.config === null && record.process === null };
    }),
  );
  return { services: sorted(found), warnings };
}

/** Where and how one observation looks (ObserveOptions resolved), and the project's unanswered launchers. */
interface Looking {
  readonly roots: StateRoots;
  readonly netnsDir: string;
  readonly bootId: string;
  readonly locked: boolean;
  readonly launchersOf: (r: ServiceRecord) => Promise<UnansweredLauncher[]>;
}

function lookingAt(project: string, options: ObserveOptions): Looking {
  const roots = options.roots ?? stateRoots();
  // The project's unanswered launchers, looked for once (not once per service: that was every
  // process of the monitor group read for each service, quadratic in the services).
  const looked = new Map<string, Promise<UnansweredLauncher[]>>();
  const launchersOf = (r: ServiceRecord): Promise<UnansweredLauncher[]> => {
    const dirs = monitorDirsOf(r.project, r.service, r.cgroups);
    const key = dirs.join('\0');
    let list = looked.get(key);
    if (!list) looked.set(key, (list = unansweredLaunchers(dirs)));
    return list;
  };
  return {
    roots,
    netnsDir: options.netnsDir ?? NETNS_DIR,
    bootId: options.bootId ?? readBootId(),
    locked: options.locked ?? holdsProjectLock(roots, project),
    launchersOf,
  };
}

/** A service's record as it stands once a process its cgroups hold is adopted (notes in `warnings`). */
async function current(looking: Looking, r: ServiceRecord, warnings: string[]): Promise<{ record: ServiceRecord; thisBoot: boolean; alive: Alive }> {
  // The recorded process is looked at once (/proc/PID/stat), by the adoption and the observation.
  let recordedAlive: boolean | undefined;
  const alive: Alive = (p) => (p === r.process ? (recordedAlive ??= processAlive(p.pid, p.startTime)) : processAlive(p.pid, p.startTime));
  const thisBoot = r.bootId === looking.bootId;
  const adopted = thisBoot ? await adopt(looking.roots, r, looking.locked, looking.launchersOf, alive) : undefined;
  if (adopted) warnings.push(adopted.note);
  return { record: adopted?.record ?? r, thisBoot, alive };
}

/** Whether a process a record names still runs (probe.ts processAlive). */
type Alive = (process: { readonly pid: number; readonly startTime: number }) => boolean;

/**
 * The record with the main process its cgroups hold when the record names none that lives
 * (written back, unless the record changed meanwhile); undefined when there is nothing to adopt.
 */
async function adopt(
  roots: StateRoots,
  r: ServiceRecord,
  locked: boolean,
  launchersOf: (r: ServiceRecord) => Promise<UnansweredLauncher[]>,
  alive: Alive,
): Promise<{ record: ServiceRecord; note: string } | undefined> {
  if (r.cgroups.length === 0) return undefined;
  const killed = locked ? await killStartingLaunches(r, launchersOf) : [];
  const cutOff = killed.length ? `service ${r.service}: killed pid ${killed.join(', ')}, a launch cut off before it answered` : undefined;
  const noteOnly = cutOff === undefined ? undefined : { record: r, note: cutOff };
  if (r.process !== null && alive(r.process)) return noteOnly;
  const [found, ...more] = await mainProcessesIn(r.cgroups);
  if (!found) return noteOnly;
  const process = { pid: found.pid, startTime: found.startTime };
  const extra = more.length ? ` (and ${more.map((p) => p.pid).join(', ')}, left for its next stop)` : '';
  const note = (cutOff ? `${cutOff}; ` : '') + `service ${r.service}: its cgroup holds pid ${found.pid}${extra}, which its record did not name (a run cut off after launching it)`;
  if (!locked) return { record: { ...r, process, monitor: found.monitor }, note: `${note}; the next command that takes the project's lock adopts it` };
  const unchanged = (current: ServiceRecord['process']): boolean =>
    current === r.process || (current !== null && r.process !== null && current.pid === r.process.pid && current.startTime === r.process.startTime);
  const written = await serviceRecords.update(roots, r.project, r.service, (current) =>
    current === undefined ? null : current.bootId === r.bootId && unchanged(current.process) ? { ...current, process, monitor: found.monitor } : current,
  );
  if (written === null || written.process?.pid !== found.pid || written.process.startTime !== found.startTime) return noteOnly;
  return { record: written, note: `${note}: adopted` };
}

/** Kills the service's launches cut off before they answered (starting.ts); the pids killed. */
async function killStartingLaunches(r: ServiceRecord, launchersOf: (r: ServiceRecord) => Promise<UnansweredLauncher[]>): Promise<number[]> {
  const killed: number[] = [];
  for (const launcher of launchersOfService(r.service, await launchersOf(r))) killed.push(...(await killStartingLaunch(launcher)));
  return killed;
}

async function observeService(r: ServiceRecord, thisBoot: boolean, netnsDir: string, alive: Alive): Promise<LiveService> {
  const veths = await Promise.all(
    Object.entries(r.veths).map(async ([network, v]) => {
      const present = thisBoot && (await linkPresent(v.host));
      return [network, { network, host: { name: v.host, present }, peer: v.peer, attachHash: v.attachHash }] as const;
    }),
  );
  return {
    ...serviceProcess(r, thisBoot, alive),
    config: r.config,
    dependsOn: r.dependsOn,
    netns: r.netns === null ? null : { name: r.netns, present: thisBoot && (await netnsPresent(r.netns, netnsDir)) },
    veths: Object.fromEntries(veths),
    cgroups: await Promise.all(r.cgroups.map(async (name) => ({ name, present: thisBoot && (await dirPresent(name)) }))),
  };
}

/** The service's name, its record's process and whether it runs (never believed from another boot), its one-off's service. */
function serviceProcess(r: ServiceRecord, thisBoot: boolean, alive: Alive): Omit<ServiceProcess, 'cgroupDirs' | 'created'> {
  return {
    name: r.service,
    process: r.process === null ? null : { pid: r.process.pid, startTime: r.process.startTime, alive: thisBoot && alive(r.process), ...stopSignalOf(r) },
    ...(r.oneOff !== undefined && { oneOff: r.oneOff.service }),
  };
}

/** The stop signal its record holds, when it holds one, and whether it has pre_stop hooks. */
function stopSignalOf(r: ServiceRecord): { stopSignal?: string; preStop?: true } {
  const { signal, preStop } = stopOf(r);
  return { ...(signal !== undefined && { stopSignal: signal }), ...(preStop && { preStop }) };
}

async function observeNetwork(r: NetworkRecord, thisBoot: boolean): Promise<LiveNetwork> {
  return { key: r.key, config: r.config, bridge: { name: r.bridge, present: thisBoot && (await linkPresent(r.bridge)) } };
}

function sorted<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Every project that has state on this host (runtime or persistent), for `stack gc` and `ls`. */
export async function listProjects(roots: StateRoots = stateRoots()): Promise<string[]> {
  const [run, lib] = await Promise.all([listDir(roots.run), listDir(join(roots.lib, 'projects'))]);
  const found = new Set<string>();
  for (const [base, names] of [[roots.run, run], [join(roots.lib, 'projects'), lib]] as const) {
    for (const name of names) if (await dirPresent(join(base, name))) found.add(name);
  }
  return [...found].sort();
}

