// The cgroup v2 manager: one unified hierarchy, so a service's group is one directory. A
// controller reaches a group only when every ancestor lists it in cgroup.subtree_control, and
// an ancestor may do so only while it holds no process ("no internal processes"): stack's
// groups keep processes in leaves only. killAll uses cgroup.kill where the kernel has it.
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { CGROUP_DIR } from '../../names.js';
import { KernelError, UserError } from '../../errors.js';
import type { Limits } from '../../spec/project.js';
import { childGroups, createGroup, groupRel, mkdirChain, removeEmptyParents, removeGroup } from './dirs.js';
import { ignoreGone, readFlatKeyed, readProcs, readValue, writeCpuset, writeValue } from './io.js';
import { freezeAndWait, freezeKillThaw, waitEmpty, type Freezable } from './kill.js';
import { deviceProgram } from './devices-bpf.js';
import type { DeviceRule } from './devices.js';
import { checkLimits, limitsOf, parseCpus, parseMemoryLimit, parsePidsLimit, holdsFromMaking, v2LimitWrites } from './limits.js';
import type { CgroupDeps, CgroupHandle, CgroupManager, CgroupStats } from './manager.js';

/** The v2 controllers a service's group needs. */
export const V2_CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
/** Enabled down to a service's group only for a service that uses it (`cpuset:`), where the host has it. */
export const V2_OPTIONAL_CONTROLLERS = ['cpuset'] as const;

/** The controllers a v2 dir's cgroup.controllers lists (those its parent hands down). */
async function controllersOf(deps: CgroupDeps, dir: string): Promise<Set<string>> {
  return new Set((await readValue(deps.fs, join(dir, 'cgroup.controllers'))).split(/\s+/).filter(Boolean));
}

/**
 * Enables the needed controllers for the children of `dir`: those `dir` has and has not yet
 * enabled. One `dir` lacks cannot be enabled (detect.ts picks v2 only where the root has them
 * all); a group under it then holds no limit of that kind (V2Group.setLimits).
 */
export async function enableControllers(deps: CgroupDeps, dir: string, optional: readonly string[] = []): Promise<void> {
  const available = await controllersOf(deps, dir);
  const enabled = new Set((await readValue(deps.fs, join(dir, 'cgroup.subtree_control'))).split(/\s+/));
  for (const c of [...V2_CONTROLLERS, ...optional]) {
    if (available.has(c) && !enabled.has(c)) await writeValue(deps.fs, join(dir, 'cgroup.subtree_control'), `+${c}`);
  }
}

/**
 * Whether a limit write says "no limit" or the default (`max`, cpu.max `max 100000`, an empty
 * cpuset, no memory.low, the default cpu.weight): nothing to write where the controller is absent.
 */
function liftsLimit(w: { file: string; value: string }): boolean {
  const { file, value } = w;
  return value === 'max' || value.startsWith('max ') || value === '' || (file === 'memory.low' && value === '0') || (file === 'cpu.weight' && value === '100');
}

/** A CgroupManager over the unified hierarchy mounted at `root`. */
export function v2Manager(root: string, deps: CgroupDeps): CgroupManager {
  const open = (project: string, service: string) => new V2Group(root, deps, project, service);
  return {
    version: 2,
    open,
    async create(project, service, limits, devices) {
      checkLimits(limits);
      const optional = limits.cpuset !== undefined ? V2_OPTIONAL_CONTROLLERS : [];
      const makeDirs = async () => {
        await enableControllers(deps, root, optional);
        // Remembered only without optional controllers: a level made again by another stack
        // process enables the base ones, not necessarily cpuset, which is asked of it each time.
        await mkdirChain(deps.fs, root, groupRel(project, service), (dir) => enableControllers(deps, dir, optional), optional.length === 0 ? 'controllers' : undefined);
      };
      return createGroup(deps, open(project, service), limits, makeDirs, devices);
    },
    async projects() {
      return childGroups(deps, join(root, CGROUP_DIR));
    },
    async services(project) {
      return childGroups(deps, join(root, groupRel(project)));
    },
  };
}

class V2Group implements CgroupHandle {
  readonly version = 2 as const;
  readonly dirs: readonly string[];
  readonly procsFiles: readonly string[];
  readonly oomEventsFile: string;
  private readonly dir: string;
  private readonly freezable: Freezable;

  constructor(
    private readonly root: string,
    private readonly deps: CgroupDeps,
    readonly project: string,
    readonly service: string,
  ) {
    this.dir = join(root, groupRel(project, service));
    this.dirs = [this.dir];
    this.procsFiles = [this.file('cgroup.procs')];
    this.oomEventsFile = this.file('memory.events');
    this.freezable = {
      requestFreeze: () => ignoreGone(writeValue(deps.fs, this.file('cgroup.freeze'), '1')),
      isFrozen: async () => {
        if (!(await deps.fs.exists(this.file('cgroup.events')))) return true;
        // Kernels before 5.2 have no freezer in v2 (no `frozen` key): nothing to wait for.
        return (await readFlatKeyed(deps.fs, this.file('cgroup.events'))).get('frozen') !== 0;
      },
      thaw: () => ignoreGone(writeValue(deps.fs, this.file('cgroup.freeze'), '0')),
      pids: () => this.pids(),
    };
  }

  controllerFile(_controller: 'memory' | 'pids' | 'cpu' | 'freezer' | 'cpuset', name: string): string {
    return this.file(name);
  }

  private file(name: string): string {
    return `${this.dir}/${name}`; // a cgroup file's plain name under the joined folder
  }

  async exists(): Promise<boolean> {
    return this.deps.fs.exists(this.dir);
  }

  // A controller the group lacks (a cgroup2 without it, as a hybrid host's) can hold no limit:
  // "no limit" is then already true; a real limit is refused, naming the controller.
  async setLimits(limits: Limits, { fresh = false }: { readonly fresh?: boolean } = {}): Promise<void> {
    const swap = await this.deps.fs.exists(this.file('memory.swap.max'));
    const available = await controllersOf(this.deps, this.dir);
    for (const w of v2LimitWrites(limits, { swap })) {
      if (fresh && holdsFromMaking(w)) continue;
      if (!available.has(w.controller)) {
        if (liftsLimit(w)) continue;
        throw new UserError(
          'CGROUP_CONTROLLER_MISSING',
          `cannot write ${w.file} ${JSON.stringify(w.value)}: cgroup ${this.dir} has no ${w.controller} controller`,
          `enable the ${w.controller} controller in the cgroup2 hierarchy, or leave that limit out (pids_limit: -1 for no pids limit)`,
        );
      }
      if (w.file === 'cpuset.cpus') await writeCpuset(this.deps.fs, this.file(w.file), w.value, 'cpuset.cpus.effective');
      else await writeValue(this.deps.fs, this.file(w.file), w.value);
    }
  }

  // v2 has no devices controller: an eBPF program attached to the group's dir filters device access.
  async setDevices(rules: readonly DeviceRule[]): Promise<void> {
    if (!this.deps.setDeviceProgram) throw new Error(`cgroup ${this.dir}: these CgroupDeps cannot attach a device program`);
    this.deps.setDeviceProgram(this.dir, deviceProgram(rules));
  }

  async limits(): Promise<Limits> {
    const read = (f: string) => readValue(this.deps.fs, this.file(f));
    return limitsOf(parseMemoryLimit(await read('memory.max')), parseCpus(await read('cpu.max')), parsePidsLimit(await read('pids.max')));
  }

  async join(pid: number): Promise<void> {
    for (const f of this.procsFiles) await writeValue(this.deps.fs, f, String(pid));
  }

  async pids(): Promise<number[]> {
    return (await readProcs(this.deps.fs, this.file('cgroup.procs'))).sort((a, b) => a - b);
  }

  async freeze(): Promise<void> {
    if (await freezeAndWait(this.freezable, this.deps)) return;
    throw new KernelError(`freeze ${this.dir} (cgroup.events never said frozen 1)`, 'EBUSY', osConstants.errno.EBUSY);
  }

  async thaw(): Promise<void> {
    await this.freezable.thaw();
  }

  async killAll(): Promise<void> {
    // cgroup.kill (Linux 5.14) kills the whole subtree at once and races no fork.
    if (await this.deps.fs.exists(this.file('cgroup.kill'))) {
      await writeValue(this.deps.fs, this.file('cgroup.kill'), '1');
      await waitEmpty(this, this.deps, this.dir);
      return;
    }
    await freezeKillThaw(this.freezable, this.deps, this.dir);
  }

  async oomKills(): Promise<number> {
    return (await readFlatKeyed(this.deps.fs, this.oomEventsFile)).get('oom_kill') ?? 0;
  }

  async oomKilled(): Promise<boolean> {
    return (await this.oomKills()) > 0;
  }

  async stats(): Promise<CgroupStats> {
    const num = async (f: string) => Number(await readValue(this.deps.fs, this.file(f)));
    const cpu = await readFlatKeyed(this.deps.fs, this.file('cpu.stat'));
    return {
      memoryBytes: await num('memory.current'),
      pids: await num('pids.current'),
      cpuUsageNs: (cpu.get('usage_usec') ?? 0) * 1000,
      cpuThrottledPeriods: cpu.get('nr_throttled') ?? 0,
      oomKills: await this.oomKills(),
    };
  }

  async destroy({ keepProject = false }: { readonly keepProject?: boolean } = {}): Promise<void> {
    await removeGroup(this.deps, [this.dir], keepProject ? [] : [join(this.root, groupRel(this.project))], () => this.killAll());
  }

  async removeProjectDir(): Promise<void> {
    await removeEmptyParents(this.deps.fs, [join(this.root, groupRel(this.project))]);
  }
}
