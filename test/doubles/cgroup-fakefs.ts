// Test double: an in-memory cgroup v2 hierarchy that answers as the kernel does, for tests of the v2
// manager (and of anything built on it) on hosts without a usable cgroup2, such as this one.
// Kernel rules kept (Documentation/admin-guide/cgroup-v2.rst, kernel/cgroup/cgroup.c):
// - cgroup.controllers of a group is its parent's cgroup.subtree_control (root: all);
// - "+c" in subtree_control: ENOENT unless c is in the group's cgroup.controllers, EBUSY
//   when a non-root group holds processes (no internal processes); "-c": EBUSY while a child
//   still enables c for its own children;
// - a pid written to cgroup.procs of a non-root group whose subtree_control is not empty: EBUSY;
// - interface files (memory.max, pids.max, cpu.max ...) exist only while the parent enables
//   their controller; cgroup.kill, cgroup.freeze and cgroup.events only below the root;
// - rmdir: EBUSY with processes or child groups, EBUSY on the root;
// - read-only files refuse writes and write-only files (cgroup.kill) refuse reads: EACCES;
// - cgroup.kill removes every process of the subtree; pids.max refuses forks (EAGAIN);
// - memory.max reads back rounded down to whole pages.
import { constants as osConstants } from 'node:os';
import { posix } from 'node:path';
import type { CgroupFs } from '../../src/runtime/cgroup/fs.js';
import type { CgroupDeps } from '../../src/runtime/cgroup/manager.js';

const PAGE = 4096;

/** A node-style errno error, as node:fs throws it on cgroupfs. */
export function fsError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const errnoValue = (osConstants.errno as Record<string, number>)[code] ?? 0;
  const err: NodeJS.ErrnoException = new Error(`${code}: ${syscall} '${path}'`);
  err.code = code;
  err.errno = -errnoValue;
  err.syscall = syscall;
  err.path = path;
  return err;
}

interface Group {
  readonly name: string;
  readonly parent: Group | undefined;
  readonly children: Map<string, Group>;
  readonly subtree: Set<string>;
  readonly procs: Set<number>;
  /** Values written to limit files, by file name; absent = the kernel's default. */
  readonly values: Map<string, string>;
  selfFrozen: boolean;
  memoryBytes: number;
  cpuUsec: number;
  oomKills: number;
}

/** Options of a fake hierarchy. */
export interface FakeCgroup2Options {
  /** Where it is "mounted" (absolute); paths outside it are ENOENT. */
  readonly root: string;
  /** Controllers in the root's cgroup.controllers. */
  readonly controllers: readonly string[];
  /** Swap accounting: memory.swap.max exists. Default true. */
  readonly swap?: boolean;
  /** cgroup.kill exists (Linux 5.14+). Default true. */
  readonly cgroupKill?: boolean;
}

const CONTROLLER_FILES: Record<string, (o: FakeCgroup2Options) => string[]> = {
  memory: (o) => ['memory.current', 'memory.max', 'memory.events', ...(o.swap === false ? [] : ['memory.swap.max', 'memory.swap.current'])],
  pids: () => ['pids.current', 'pids.max', 'pids.events'],
  cpu: () => ['cpu.max', 'cpu.weight'],
  io: () => ['io.max', 'io.weight'],
};

/** Files a write may go to; every other file is read-only (EACCES). */
const WRITABLE = new Set([
  'cgroup.subtree_control',
  'cgroup.procs',
  'cgroup.freeze',
  'cgroup.kill',
  'memory.max',
  'memory.swap.max',
  'pids.max',
  'cpu.max',
  'cpu.weight',
  'io.max',
  'io.weight',
]);
/** What a limit file reads before anything was written to it. */
const DEFAULTS: Record<string, string> = {
  'memory.max': 'max',
  'memory.swap.max': 'max',
  'pids.max': 'max',
  'cpu.max': 'max 100000',
  'cpu.weight': '100',
  'io.max': '',
  'io.weight': 'default 100',
};

/** A kernel-like cgroup v2 hierarchy in memory, usable as the manager's CgroupFs. */
export class FakeCgroup2 implements CgroupFs {
  private readonly top: Group = newGroup('', undefined);
  private readonly where = new Map<number, Group>();
  private nextPid = 1000;

  constructor(readonly options: FakeCgroup2Options) {}

  /** Deps for a manager over this hierarchy: kill is the fake's, sleeping is instant. */
  deps(): CgroupDeps {
    return { fs: this, kill: (pid) => this.kill(pid), sleep: async () => {}, setDeviceProgram: (dir, program) => void this.devicePrograms.set(dir, program) };
  }

  /** The device program (devices-bpf.ts bytes) last set on each group dir. */
  readonly devicePrograms = new Map<string, Buffer>();

  // ---- the kernel's side, for tests ----

  /** A process appears in the group at `dir` (a fork there); EAGAIN past a pids.max on the way up. */
  spawn(dir: string): number {
    const g = this.groupAt(dir, 'fork');
    for (let a: Group | undefined = g; a; a = a.parent) {
      const max = a.values.get('pids.max');
      if (max !== undefined && max !== 'max' && countProcs(a) >= Number(max)) throw fsError('EAGAIN', 'fork', dir);
    }
    const pid = this.nextPid++;
    g.procs.add(pid);
    this.where.set(pid, g);
    return pid;
  }

  /** SIGKILL: the process leaves its group (a no-op for a pid that is gone). */
  kill(pid: number): void {
    this.where.get(pid)?.procs.delete(pid);
    this.where.delete(pid);
  }

  /** Whether a process is frozen (its group or an ancestor has cgroup.freeze 1). */
  isFrozen(pid: number): boolean {
    const g = this.where.get(pid);
    return g !== undefined && frozen(g);
  }

  /** The OOM killer kills the newest process of the group at `dir` and counts it up the tree. */
  oomKill(dir: string): number | undefined {
    const g = this.groupAt(dir, 'oom');
    const victim = [...g.procs].pop();
    if (victim === undefined) return undefined;
    for (let a: Group | undefined = g; a; a = a.parent) a.oomKills++;
    this.kill(victim);
    return victim;
  }

  /** Charges usage to the group at `dir` (memory.current, cpu.stat usage_usec). */
  charge(dir: string, usage: { memoryBytes?: number; cpuUsec?: number }): void {
    const g = this.groupAt(dir, 'charge');
    g.memoryBytes += usage.memoryBytes ?? 0;
    g.cpuUsec += usage.cpuUsec ?? 0;
  }

  // ---- CgroupFs ----

  async mkdir(path: string): Promise<void> {
    const { parent, name } = this.split(path, 'mkdir');
    if (parent.children.has(name) || this.files(parent).includes(name)) throw fsError('EEXIST', 'mkdir', path);
    parent.children.set(name, newGroup(name, parent));
  }

  async rmdir(path: string): Promise<void> {
    const g = this.resolve(path);
    if (!g || 'file' in g) throw fsError(g ? 'ENOTDIR' : 'ENOENT', 'rmdir', path);
    if (!g.group.parent || g.group.children.size > 0 || g.group.procs.size > 0) throw fsError('EBUSY', 'rmdir', path);
    g.group.parent.children.delete(g.group.name);
  }

  async readFile(path: string): Promise<string> {
    const r = this.resolve(path);
    if (!r) throw fsError('ENOENT', 'open', path);
    if (!('file' in r)) throw fsError('EISDIR', 'read', path);
    return this.read(r.group, r.file, path);
  }

  async writeFile(path: string, data: string): Promise<void> {
    const r = this.resolve(path);
    if (!r) throw fsError('ENOENT', 'open', path);
    if (!('file' in r)) throw fsError('EISDIR', 'open', path);
    if (!WRITABLE.has(r.file)) throw fsError('EACCES', 'open', path);
    this.write(r.group, r.file, data.trim(), path);
  }

  async writeEach(path: string, values: readonly string[]): Promise<void> {
    for (const value of values) {
      try {
        await this.writeFile(path, value);
      } catch (e) {
        throw Object.assign(e as Error, { value });
      }
    }
  }

  async exists(path: string): Promise<boolean> {
    return this.resolve(path) !== undefined;
  }

  async isDirectory(path: string): Promise<boolean> {
    const r = this.resolve(path);
    return r !== undefined && !('file' in r);
  }

  async subdirs(path: string): Promise<string[]> {
    const r = this.resolve(path);
    if (!r) throw fsError('ENOENT', 'scandir', path);
    if ('file' in r) throw fsError('ENOTDIR', 'scandir', path);
    return [...r.group.children.keys()];
  }

  // ---- internals ----

  private available(g: Group): string[] {
    return g.parent ? [...g.parent.subtree] : [...this.options.controllers];
  }

  private files(g: Group): string[] {
    const core = ['cgroup.controllers', 'cgroup.subtree_control', 'cgroup.procs', 'cpu.stat'];
    if (!g.parent) return core;
    const own = ['cgroup.events', 'cgroup.freeze', 'cgroup.type', ...(this.options.cgroupKill === false ? [] : ['cgroup.kill'])];
    const controllers = this.available(g).flatMap((c) => CONTROLLER_FILES[c]?.(this.options) ?? []);
    return [...core, ...own, ...controllers];
  }

  private read(g: Group, file: string, path: string): string {
    switch (file) {
      case 'cgroup.controllers':
        return `${this.available(g).join(' ')}\n`;
      case 'cgroup.subtree_control':
        return `${[...g.subtree].join(' ')}\n`;
      case 'cgroup.procs':
        return [...g.procs].map((p) => `${p}\n`).join('');
      case 'cgroup.events':
        return `populated ${countProcs(g) > 0 ? 1 : 0}\nfrozen ${frozen(g) ? 1 : 0}\n`;
      case 'cgroup.freeze':
        return `${g.selfFrozen ? 1 : 0}\n`;
      case 'cgroup.type':
        return 'domain\n';
      case 'cgroup.kill':
        throw fsError('EACCES', 'open', path);
      case 'cpu.stat':
        return `usage_usec ${g.cpuUsec}\nuser_usec ${g.cpuUsec}\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n`;
      case 'memory.current':
        return `${g.memoryBytes}\n`;
      case 'memory.swap.current':
        return '0\n';
      case 'memory.events':
        return `low 0\nhigh 0\nmax ${g.oomKills}\noom ${g.oomKills}\noom_kill ${g.oomKills}\noom_group_kill 0\n`;
      case 'pids.current':
        return `${countProcs(g)}\n`;
      case 'pids.events':
        return 'max 0\n';
      default:
        return `${g.values.get(file) ?? DEFAULTS[file] ?? ''}\n`;
    }
  }

  private write(g: Group, file: string, data: string, path: string): void {
    const invalid = () => fsError('EINVAL', 'write', path);
    switch (file) {
      case 'cgroup.subtree_control':
        return this.writeSubtree(g, data, path);
      case 'cgroup.procs': {
        if (!/^\d+$/.test(data)) throw invalid();
        const pid = Number(data);
        const from = this.where.get(pid);
        if (!from) throw fsError('ESRCH', 'write', path);
        if (g.parent && g.subtree.size > 0) throw fsError('EBUSY', 'write', path);
        from.procs.delete(pid);
        g.procs.add(pid);
        this.where.set(pid, g);
        return;
      }
      case 'cgroup.freeze':
        if (data !== '0' && data !== '1') throw invalid();
        g.selfFrozen = data === '1';
        return;
      case 'cgroup.kill':
        if (data !== '1') throw invalid();
        for (const pid of subtreeProcs(g)) this.kill(pid);
        return;
      case 'memory.max':
      case 'memory.swap.max':
        if (data === 'max') g.values.set(file, data);
        else if (/^\d+$/.test(data)) g.values.set(file, String(Math.floor(Number(data) / PAGE) * PAGE));
        else throw invalid();
        return;
      case 'pids.max':
        if (data !== 'max' && !/^\d+$/.test(data)) throw invalid();
        g.values.set(file, data);
        return;
      case 'cpu.max': {
        const [quota = '', period = '100000', extra] = data.split(/\s+/);
        const p = Number(period);
        if (extra !== undefined || !/^\d+$/.test(period) || p < 1000 || p > 1_000_000) throw invalid();
        if (quota !== 'max' && !(/^\d+$/.test(quota) && Number(quota) >= 1000)) throw invalid();
        g.values.set(file, `${quota} ${period}`);
        return;
      }
      default:
        g.values.set(file, data);
    }
  }

  private writeSubtree(g: Group, data: string, path: string): void {
    const tokens = data.split(/\s+/).filter(Boolean);
    for (const t of tokens) {
      const c = t.slice(1);
      if ((t[0] !== '+' && t[0] !== '-') || !c) throw fsError('EINVAL', 'write', path);
      if (t[0] === '+') {
        if (!this.available(g).includes(c)) throw fsError('ENOENT', 'write', path);
        if (g.parent && g.procs.size > 0 && !g.subtree.has(c)) throw fsError('EBUSY', 'write', path);
      } else if ([...g.children.values()].some((child) => child.subtree.has(c))) {
        throw fsError('EBUSY', 'write', path);
      }
    }
    for (const t of tokens) {
      const c = t.slice(1);
      if (t[0] === '+') g.subtree.add(c);
      else {
        g.subtree.delete(c);
        // The controller's files vanish from the children, and their values with them.
        for (const child of g.children.values()) for (const f of CONTROLLER_FILES[c]?.(this.options) ?? []) child.values.delete(f);
      }
    }
  }

  /** The group at `path` or a file in it; undefined when neither exists. */
  private resolve(path: string): { group: Group } | { group: Group; file: string } | undefined {
    const parts = this.parts(path);
    if (!parts) return undefined;
    let g = this.top;
    for (const [i, part] of parts.entries()) {
      const child = g.children.get(part);
      if (child) {
        g = child;
        continue;
      }
      if (i === parts.length - 1 && this.files(g).includes(part)) return { group: g, file: part };
      return undefined;
    }
    return { group: g };
  }

  private parts(path: string): string[] | undefined {
    const rel = posix.relative(this.options.root, posix.normalize(path));
    if (rel.startsWith('..') || posix.isAbsolute(rel)) return undefined;
    return rel === '' ? [] : rel.split('/');
  }

  private split(path: string, syscall: string): { parent: Group; name: string } {
    const parts = this.parts(path);
    const name = parts?.pop();
    if (!parts || name === undefined) throw fsError(parts ? 'EEXIST' : 'ENOENT', syscall, path);
    const parent = this.resolve(posix.join(this.options.root, ...parts));
    if (!parent || 'file' in parent) throw fsError('ENOENT', syscall, path);
    return { parent: parent.group, name };
  }

  private groupAt(dir: string, what: string): Group {
    const r = this.resolve(dir);
    if (!r || 'file' in r) throw fsError('ENOENT', what, dir);
    return r.group;
  }
}

function newGroup(name: string, parent: Group | undefined): Group {
  const sets = { children: new Map(), subtree: new Set<string>(), procs: new Set<number>(), values: new Map<string, string>() };
  return { name, parent, ...sets, selfFrozen: false, memoryBytes: 0, cpuUsec: 0, oomKills: 0 };
}

function subtreeProcs(g: Group): number[] {
  return [...g.procs, ...[...g.children.values()].flatMap(subtreeProcs)];
}

function countProcs(g: Group): number {
  return subtreeProcs(g).length;
}

function frozen(g: Group): boolean {
  for (let a: Group | undefined = g; a; a = a.parent) if (a.selfFrozen) return true;
  return false;
}
