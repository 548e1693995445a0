// The cgroup of a project's own processes: each service's monitor (the launcher that stays to
// log and reap it) and the project's supervisor live in `stack.monitors/<project>`, in every
// hierarchy the host mounts (each v1 hierarchy, named ones such as name=systemd included, and
// the unified one), as conmon gets a scope of its own. Left in the cgroups of whoever ran
// `stack up` (a login session, a CI job), they would die with it (systemd kills a session's
// cgroup), and a service whose monitor is gone dies of SIGPIPE on its next write. A service's
// workload starts in its monitor's groups and then joins its own (`stack/<project>/<service>`),
// so nothing of it stays in the caller's cgroups either. The tree is apart from `stack/`:
// killing a service's group never reaches its monitor. `down` removes the group once its
// processes are gone (removeMonitorGroup).
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import { KernelError } from '../../errors.js';
import { readProcFile } from '../../sys/proc.js';
import { cgroupPath, MONITOR_CGROUP_DIR } from '../../names.js';
import { mkdirChain, rmdirOnce } from './dirs.js';
import { nodeCgroupFs, type CgroupFs } from './fs.js';
import { readProcs, readValue, writeValue } from './io.js';
import { pollUntil } from './poll.js';

/** Directory under each hierarchy root that holds the monitor groups of all projects. */
export { MONITOR_CGROUP_DIR };

/** `stack.monitors/<project>` (the project name checked as for its service groups). */
export function monitorGroupRel(project: string): string {
  cgroupPath(project); // throws for a name that is not one path segment
  return `${MONITOR_CGROUP_DIR}/${project}`;
}

/** Mount point of every cgroup hierarchy in a mountinfo text: each v1 hierarchy once, and cgroup2. */
export function parseHierarchyRoots(mountinfo: string): string[] {
  return parseHierarchies(mountinfo).map((h) => h.root);
}

/** A cgroup hierarchy: where it is mounted, and whether it is cgroup v2's. */
interface Hierarchy {
  readonly root: string;
  readonly v2: boolean;
}

/** Each cgroup hierarchy of a mountinfo text once. */
function parseHierarchies(mountinfo: string): Hierarchy[] {
  const roots: Hierarchy[] = [];
  const seen = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const fields = left.split(' ');
    const [device, root, mountPoint] = [fields[2], fields[3], fields[4]];
    const fstype = right.split(' ')[0];
    if ((fstype !== 'cgroup' && fstype !== 'cgroup2') || !device || !mountPoint || root !== '/') continue;
    if (seen.has(device)) continue; // the same hierarchy mounted twice
    seen.add(device);
    roots.push({ root: mountPoint.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))), v2: fstype === 'cgroup2' });
  }
  return roots;
}

let hostHierarchies: Hierarchy[] | undefined;

/** Monitor folders this process made or joined (a later join only writes cgroup.procs). */
const joined = new Set<string>();

/** This host's hierarchies (read once per process). */
function hierarchies(): Hierarchy[] {
  hostHierarchies ??= parseHierarchies(readFileSync('/proc/self/mountinfo', 'utf8'));
  return hostHierarchies;
}

/** This host's hierarchy roots (read once per process). */
export function hierarchyRoots(): string[] {
  return hierarchies().map((h) => h.root);
}

/**
 * The project's monitor folder in the cgroup v2 hierarchy (the only one, or the unified one
 * beside v1's), made when missing, for a launcher to be born in (sys/native-spawn.ts); the
 * launcher still joins the v1 hierarchies itself, through their `tasks`. Undefined without a v2
 * hierarchy, or when the folder cannot be made (a read-only mount): the launcher then moves
 * itself there as before.
 */
export function monitorCgroupFolder(project: string, roots: readonly Hierarchy[] = hierarchies()): string | undefined {
  const v2 = roots.find((h) => h.v2);
  if (v2 === undefined) return undefined;
  const dir = join(v2.root, monitorGroupRel(project));
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    return dir;
  } catch {
    return undefined;
  }
}

/** A v1 cpuset group starts with no CPUs and no memory nodes (joining it fails): take the parent's. */
export async function inheritCpuset(fs: CgroupFs, dir: string): Promise<void> {
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    const own = join(dir, file);
    if (!(await fs.exists(own)) || (await readValue(fs, own)) !== '') continue;
    await writeValue(fs, own, await readValue(fs, join(dir, '..', file)));
  }
}

/** The monitor group of one project, in every hierarchy. */
export interface MonitorGroup {
  /** Absolute directories, one per hierarchy. */
  readonly dirs: readonly string[];
  /** Creates the group where missing and moves `pid` (the whole process) into it in every hierarchy. */
  join(pid: number): Promise<void>;
  /** Every process in the group (the union over the hierarchies), sorted. */
  pids(): Promise<number[]>;
  /**
   * Removes the group (and `stack.monitors` when it is left empty), waiting up to `waitMs` for
   * its processes to leave (a monitor exits right after it writes its service's exit record).
   * Gone is success. Returns the dirs still busy, never kills anything.
   */
  remove(waitMs?: number): Promise<string[]>;
}

/** The monitor group of `project` under `roots` (default: this host's hierarchies). */
export function monitorGroup(project: string, roots: readonly string[] = hierarchyRoots(), fs: CgroupFs = nodeCgroupFs): MonitorGroup {
  const rel = monitorGroupRel(project);
  const dirs = roots.map((r) => join(r, rel));
  const pids = async (): Promise<number[]> => {
    const all = new Set<number>();
    for (const dir of dirs) for (const pid of await readProcs(fs, join(dir, 'cgroup.procs'))) all.add(pid);
    return [...all].sort((a, b) => a - b);
  };
  return {
    dirs,
    pids,
    async join(pid) {
      // Every hierarchy at once; a folder this process made or joined before is written to
      // straight away (a launch per service), and made again if a `down` removed it meanwhile.
      await Promise.all(
        roots.map(async (root) => {
          const dir = join(root, rel);
          if (joined.has(dir)) {
            try {
              await writeValue(fs, join(dir, 'cgroup.procs'), String(pid));
              return;
            } catch (e) {
              if (!(e instanceof KernelError && e.errno === 'ENOENT')) throw e;
              joined.delete(dir);
            }
          }
          try {
            await mkdirChain(fs, root, rel, (level) => inheritCpuset(fs, level), 'cpuset');
            await inheritCpuset(fs, dir);
          } catch (e) {
            // A hierarchy mounted read-only (some container runtimes do) is not ours to use.
            if (e instanceof KernelError && e.errno === 'EROFS') return;
            throw e;
          }
          await writeValue(fs, join(dir, 'cgroup.procs'), String(pid));
          joined.add(dir);
        }),
      );
    },
    async remove(waitMs = 5000) {
      const busy: string[] = [];
      const rmdirs = async (): Promise<boolean> => {
        busy.length = 0;
        for (const dir of dirs) if (!(await rmdirOnce(fs, dir))) busy.push(dir);
        return busy.length === 0;
      };
      await pollUntil(rmdirs, (ms) => new Promise((resolve) => setTimeout(resolve, ms)), waitMs);
      // The shared parent goes with its last project; another project's group keeps it.
      for (const root of roots) await rmdirOnce(fs, join(root, MONITOR_CGROUP_DIR)).catch(() => false);
      return [...busy];
    },
  };
}

/**
 * The launcher's arguments that name the monitor group it moves itself into as it starts
 * (native/launcher/place.h): the group's path under each hierarchy root, then each root. The
 * launcher does what join() does, in C and in its own process, so that the move's RCU grace
 * period and the cgroupfs calls cost neither this thread nor libuv's pool; on a v2 hierarchy
 * where it was born in the group (monitorCgroupFolder), it leaves it at that.
 */
export function monitorGroupArgs(project: string, roots: readonly string[] = hierarchyRoots()): string[] {
  return [`--monitor-group=${monitorGroupRel(project)}`, ...roots.map((root) => `--hierarchy=${root}`)];
}

/**
 * How a launcher gets into the project's monitor group: the arguments that name the groups it
 * joins itself (monitorGroupArgs), and the spawn options (sys/spawn.ts) that have it born in the
 * v2 one (monitorCgroupFolder), none where it cannot be.
 */
export function monitorPlacement(project: string): { readonly args: string[]; readonly spawn: { readonly cgroup?: string } } {
  const cgroup = monitorCgroupFolder(project);
  return { args: monitorGroupArgs(project), spawn: cgroup === undefined ? {} : { cgroup } };
}

/** Moves `pid` into the project's monitor group: a supervisor for itself, when its launcher did not (supervisor/main.ts). */
export async function placeInMonitorGroup(project: string, pid: number): Promise<void> {
  await monitorGroup(project).join(pid);
}

/**
 * Whether this process is already in the project's monitor group in every hierarchy (a
 * supervisor is born there: the launcher it is run through places itself first).
 */
export async function inMonitorGroup(project: string): Promise<boolean> {
  const rel = `/${monitorGroupRel(project)}`;
  const lines = (readProcFile('/proc/self/cgroup') ?? '').split('\n').filter(Boolean); // synchronous: no pool trip
  // Lines are `id:controllers:/path`, one per hierarchy the kernel has (some perhaps not mounted
  // here, so not joined): at least as many at the group's path as the hierarchies a join writes
  // to. Errs only towards "not in" (a hierarchy skipped as read-only): the move is then repeated.
  const joinedDirs = hierarchyRoots().length;
  return lines.filter((l) => l.slice(l.indexOf(':', l.indexOf(':') + 1) + 1) === rel).length >= joinedDirs && joinedDirs > 0;
}

/**
 * Removes the project's monitor group (`down`, `gc`); true when there was one. Throws when
 * processes still hold it after `waitMs` (a monitor or supervisor of the project still runs).
 */
export async function removeMonitorGroup(project: string, waitMs = 5000): Promise<boolean> {
  const group = monitorGroup(project);
  let existed = false;
  for (const dir of group.dirs) existed ||= await nodeCgroupFs.exists(dir);
  if (!existed) return false;
  const busy = await group.remove(waitMs);
  if (busy.length === 0) return true;
  const left = await group.pids();
  throw new KernelError(`rmdir ${busy.join(', ')} (processes left: ${left.join(' ')})`, 'EBUSY', osConstants.errno.EBUSY);
}
