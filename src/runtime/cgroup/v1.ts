// The cgroup v1 manager: one hierarchy per controller (/sys/fs/cgroup/memory, /pids, ...),
// so a service's group is one directory in each, and the workload joins all of them. The
// freezer hierarchy gives killAll a stable process list (freeze, kill, thaw).
import { constants as osConstants } from 'node:os';
import { join, normalize } from 'node:path';
import { CGROUP_DIR } from '../../names.js';
import { KernelError, UserError } from '../../errors.js';
import { inheritCpuset } from './monitors.js';
import type { Limits } from '../../spec/project.js';
import { childGroups, createGroup, groupRel, mkdirChain, removeEmptyParents, removeGroup } from './dirs.js';
import { ignoreGone, readFlatKeyed, readOr, readProcs, readValue, writeCpuset, writeValue, writeValues } from './io.js';
import { freezeAndWait, freezeKillThaw, type Freezable } from './kill.js';
import { v1DeviceWrites, type DeviceRule } from './devices.js';
import { checkLimits, limitsOf, parseCpus, parseMemoryLimit, parsePidsLimit, holdsFromMaking, v1LimitWrites } from './limits.js';
import type { CgroupDeps, CgroupHandle, CgroupManager, CgroupStats } from './manager.js';

/** The v1 controllers a service's group uses; each must be mounted (devices: the device allow-list). */
export const V1_CONTROLLERS = ['memory', 'pids', 'cpu', 'cpuacct', 'freezer', 'devices'] as const;
/** One of V1_CONTROLLERS. */
export type V1Controller = (typeof V1_CONTROLLERS)[number];
/**
 * Mount point of each controller's hierarchy (co-mounted controllers share one), and of the
 * cpuset hierarchy when mounted: a service with `cpuset:` needs it, the others use it too (with
 * their parent's cpus) so an update can set it.
 */
export type V1Roots = Readonly<Record<V1Controller, string>> & { readonly cpuset?: string };

/** A CgroupManager over v1 hierarchies mounted at `roots`. */
export function v1Manager(roots: V1Roots, deps: CgroupDeps): CgroupManager {
  const hierarchies = hierarchyRoots(roots);
  const open = (project: string, service: string) => new V1Group(hierarchies, deps, project, service);
  return {
    version: 1,
    open,
    async create(project, service, limits, devices) {
      checkLimits(limits);
      const group = open(project, service);
      const makeDirs = async () => {
        for (const root of uniqueRoots(roots)) await mkdirChain(deps.fs, root, groupRel(project, service));
        // A v1 cpuset group starts with no cpus and no memory nodes: each level takes its parent's.
        if (roots.cpuset !== undefined) {
          const leaf = await mkdirChain(deps.fs, roots.cpuset, groupRel(project, service), (level) => inheritCpuset(deps.fs, level), 'cpuset');
          await inheritCpuset(deps.fs, leaf);
        }
      };
      return createGroup(deps, group, limits, makeDirs, devices);
    },
    // Listed from every hierarchy: a group left half-made (a crash between two mkdirs) is found too.
    async projects() {
      return unionOf(allRoots(roots).map((r) => childGroups(deps, join(r, CGROUP_DIR))));
    },
    async services(project) {
      return unionOf(allRoots(roots).map((r) => childGroups(deps, join(r, groupRel(project)))));
    },
  };
}

/** The sorted union of several name lists. */
async function unionOf(lists: Promise<string[]>[]): Promise<string[]> {
  return [...new Set((await Promise.all(lists)).flat())].sort();
}

/** The distinct hierarchy roots, in V1_CONTROLLERS order. */
function uniqueRoots(roots: V1Roots): string[] {
  return [...new Set(V1_CONTROLLERS.map((c) => roots[c]))];
}

/** uniqueRoots, then the cpuset hierarchy when mounted apart from them. */
function allRoots(roots: V1Roots): string[] {
  return [...new Set([...uniqueRoots(roots), ...(roots.cpuset !== undefined ? [roots.cpuset] : [])])];
}

/**
 * The mount point of each controller and of every hierarchy (allRoots), normalized once for the
 * manager: a group's folders are then `<root>/<groupRel>` strings, exactly what path.join makes
 * of them (groupRel is a clean relative path). Joined per group, ~14 path.join calls a handle
 * were 0.1 ms of each of the ~40 an `up -d` of 20 opens (a cold process).
 */
interface HierarchyRoots {
  readonly byController: Readonly<Record<V1Controller, string>> & { readonly cpuset?: string };
  readonly all: readonly string[];
}

function hierarchyRoots(roots: V1Roots): HierarchyRoots {
  const clean = (root: string): string => {
    const normal = normalize(root);
    return normal.endsWith('/') ? normal.slice(0, -1) : normal; // `/` itself becomes '' (then `/<rel>`)
  };
  const byController = Object.fromEntries(Object.entries(roots).flatMap(([c, r]) => (typeof r === 'string' ? [[c, clean(r)]] : []))) as HierarchyRoots['byController'];
  return { byController, all: allRoots(roots).map(clean) };
}

class V1Group implements CgroupHandle {
  readonly version = 1 as const;
  readonly dirs: readonly string[];
  readonly procsFiles: readonly string[];
  readonly oomEventsFile: string;
  private readonly freezable: Freezable;

  /** The group's path under each hierarchy's root. */
  private readonly rel: string;

  constructor(
    private readonly hierarchies: HierarchyRoots,
    private readonly deps: CgroupDeps,
    readonly project: string,
    readonly service: string,
  ) {
    this.rel = groupRel(project, service);
    this.dirs = hierarchies.all.map((r) => `${r}/${this.rel}`);
    this.procsFiles = this.dirs.map((d) => `${d}/cgroup.procs`);
    this.oomEventsFile = this.file('memory', 'memory.oom_control');
    const state = this.file('freezer', 'freezer.state');
    this.freezable = {
      // A freezer dir that is gone has nothing to freeze; the other hierarchies are still killed.
      requestFreeze: () => ignoreGone(writeValue(deps.fs, state, 'FROZEN')),
      isFrozen: async () => (await readOr(deps.fs, state, 'FROZEN')) === 'FROZEN',
      thaw: () => ignoreGone(writeValue(deps.fs, state, 'THAWED')),
      pids: () => this.pids(),
    };
  }

  controllerFile(controller: 'memory' | 'pids' | 'cpu' | 'freezer' | 'cpuset', name: string): string {
    return this.file(controller, name);
  }

  private file(controller: V1Controller | 'cpuset', name: string): string {
    const root = this.hierarchies.byController[controller];
    if (root === undefined) throw new Error(`cgroup v1: no ${controller} hierarchy`);
    return `${root}/${this.rel}/${name}`;
  }

  // The cpuset dir is not required: a group made before stack used that hierarchy still exists.
  async exists(): Promise<boolean> {
    for (const root of uniqueRoots(this.hierarchies.byController)) if (!(await this.deps.fs.exists(`${root}/${this.rel}`))) return false;
    return true;
  }

  async setLimits(limits: Limits, { fresh = false }: { readonly fresh?: boolean } = {}): Promise<void> {
    const memsw = await this.deps.fs.exists(this.file('memory', 'memory.memsw.limit_in_bytes'));
    for (const w of v1LimitWrites(limits, { memsw })) {
      if (fresh && holdsFromMaking(w)) continue;
      if (w.controller === 'cpuset') {
        if (this.hierarchies.byController.cpuset === undefined) {
          throw new UserError('CGROUP_CONTROLLER_MISSING', `cannot apply cpuset ${w.value}: the cpuset cgroup hierarchy is not mounted`, 'mount the cpuset controller (systemd does by default), or remove `cpuset:`');
        }
        await writeCpuset(this.deps.fs, this.file('cpuset', w.file), w.value, 'cpuset.cpus');
        continue;
      }
      await writeValue(this.deps.fs, this.file(w.controller, w.file), w.value);
    }
  }

  /**
   * The writes in order, each run of writes to one file through one open: the kernel takes one
   * rule a write(2), and an open and a close a rule were 20 of a start's ~45 cgroup-file calls
   * (the deny-all, then ~11 allows).
   */
  async setDevices(rules: readonly DeviceRule[]): Promise<void> {
    const writes = v1DeviceWrites(rules);
    for (let i = 0; i < writes.length; ) {
      const file = writes[i]!.file;
      const values: string[] = [];
      for (; i < writes.length && writes[i]!.file === file; i++) values.push(writes[i]!.value);
      await writeValues(this.deps.fs, this.file('devices', file), values);
    }
  }

  async limits(): Promise<Limits> {
    const read = (c: V1Controller, f: string) => readValue(this.deps.fs, this.file(c, f));
    return limitsOf(
      parseMemoryLimit(await read('memory', 'memory.limit_in_bytes')),
      parseCpus(await read('cpu', 'cpu.cfs_quota_us'), await read('cpu', 'cpu.cfs_period_us')),
      parsePidsLimit(await read('pids', 'pids.max')),
    );
  }

  async join(pid: number): Promise<void> {
    for (const f of this.procsFiles) await writeValue(this.deps.fs, f, String(pid));
  }

  async pids(): Promise<number[]> {
    // The union over every hierarchy: a launch cut off between two joins is still found.
    const all = new Set<number>();
    for (const f of this.procsFiles) for (const pid of await readProcs(this.deps.fs, f)) all.add(pid);
    return [...all].sort((a, b) => a - b);
  }

  async freeze(): Promise<void> {
    if (await freezeAndWait(this.freezable, this.deps)) return;
    throw new KernelError(`freeze ${this.file('freezer', '')} (still FREEZING)`, 'EBUSY', osConstants.errno.EBUSY);
  }

  async thaw(): Promise<void> {
    await this.freezable.thaw();
  }

  async killAll(): Promise<void> {
    await freezeKillThaw(this.freezable, this.deps, this.dirs.join(', '));
  }

  async oomKills(): Promise<number> {
    return (await readFlatKeyed(this.deps.fs, this.oomEventsFile)).get('oom_kill') ?? 0;
  }

  async oomKilled(): Promise<boolean> {
    return (await this.oomKills()) > 0;
  }

  async stats(): Promise<CgroupStats> {
    const num = async (c: V1Controller, f: string) => Number(await readValue(this.deps.fs, this.file(c, f)));
    return {
      memoryBytes: await num('memory', 'memory.usage_in_bytes'),
      pids: await num('pids', 'pids.current'),
      cpuUsageNs: await num('cpuacct', 'cpuacct.usage'),
      cpuThrottledPeriods: (await readFlatKeyed(this.deps.fs, this.file('cpu', 'cpu.stat'))).get('nr_throttled') ?? 0,
      oomKills: await this.oomKills(),
    };
  }

  async destroy({ keepProject = false }: { readonly keepProject?: boolean } = {}): Promise<void> {
    await removeGroup(this.deps, this.dirs, keepProject ? [] : this.projectDirs(), () => this.killAll());
  }

  async removeProjectDir(): Promise<void> {
    await removeEmptyParents(this.deps.fs, this.projectDirs());
  }

  private projectDirs(): string[] {
    return this.hierarchies.all.map((r) => `${r}/${groupRel(this.project)}`);
  }
}
