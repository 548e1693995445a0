// The one interface the executor sees for cgroups, whatever the host runs (runc's Manager):
// v1 (one directory per controller) and v2 (one unified directory) both implement it, over a
// CgroupFs whose root is passed in, so tests point it at a temp dir or a fake hierarchy.
import type { Limits } from '../../spec/project.js';
import type { DeviceRule } from './devices.js';
import type { CgroupFs } from './fs.js';

/** The cgroup hierarchy a manager drives. */
export type CgroupVersion = 1 | 2;

/** Creates and finds the cgroups of services (`stack/<project>/<service>` in each hierarchy). */
export interface CgroupManager {
  readonly version: CgroupVersion;
  /**
   * Creates the service's group (or adopts the existing one) and writes its limits and its
   * device rules (Docker's default allow-list unless given: devices.ts serviceDeviceRules).
   */
  create(project: string, service: string, limits: Limits, devices?: readonly DeviceRule[]): Promise<CgroupHandle>;
  /** The service's group without creating it: for observation, stop and teardown. */
  open(project: string, service: string): CgroupHandle;
  /** Projects that have a group under `stack/` (observation, `stack gc`). */
  projects(): Promise<string[]>;
  /** Services of a project that have a group. */
  services(project: string): Promise<string[]>;
}

/** One service's cgroup(s): what to join, what to read, how to stop and remove it. */
export interface CgroupHandle {
  readonly version: CgroupVersion;
  readonly project: string;
  readonly service: string;
  /** Absolute directories the workload joins: one per v1 hierarchy, or the one v2 dir. */
  readonly dirs: readonly string[];
  /** `<dir>/cgroup.procs` for each of `dirs`: write a pid into each to join (before exec). */
  readonly procsFiles: readonly string[];
  /** A flat-keyed file whose `oom_kill N` line counts OOM kills in the group (v1 memory.oom_control, v2 memory.events). */
  readonly oomEventsFile: string;
  /**
   * Path of one interface file of `controller` (`pids.events`, `pids.max`...): v1 in that
   * controller's hierarchy, v2 in the group's one dir. What tests and observation read.
   */
  controllerFile(controller: 'memory' | 'pids' | 'cpu' | 'freezer' | 'cpuset', name: string): string;
  /** Whether the group exists (in every hierarchy). */
  exists(): Promise<boolean>;
  /**
   * Writes limits (absent ones become unlimited). `fresh`: the group was made just now, so what
   * a new group holds already (no limit: limits.ts holdsFromMaking) is not written.
   */
  setLimits(limits: Limits, options?: { readonly fresh?: boolean }): Promise<void>;
  /** Replaces the device rules: v1 devices.deny/devices.allow, v2 the group's eBPF device program. */
  setDevices(rules: readonly DeviceRule[]): Promise<void>;
  /** The limits in force, read back from the kernel (observation). */
  limits(): Promise<Limits>;
  /** Moves a running process (all its threads) into the group, in every hierarchy. Its children stay where they are. */
  join(pid: number): Promise<void>;
  /** Every process in the group, sorted; none when the group is gone. */
  pids(): Promise<number[]>;
  /** Stops every process in the group until thaw() (returns once the kernel reports frozen). */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** SIGKILLs every process in the group and returns once the group is empty. */
  killAll(): Promise<void>;
  /** How many processes the kernel OOM-killed in this group since it was created. */
  oomKills(): Promise<number>;
  /** Whether the kernel OOM-killed any process in this group. */
  oomKilled(): Promise<boolean>;
  /** Current usage, for `ps` and tests. */
  stats(): Promise<CgroupStats>;
  /**
   * Removes the group (killing what is left) and the project's dir when it is empty; gone =
   * success. `keepProject`: the project's dir is left to a later removeProjectDir (other groups
   * of the project go too, side by side: each one's try at it would be refused while any other
   * is there).
   */
  destroy(options?: { readonly keepProject?: boolean }): Promise<void>;
  /** Removes the project's dir of this group where it is empty (busy, or gone, is no error). */
  removeProjectDir(): Promise<void>;
}

/** Usage of one group. */
export interface CgroupStats {
  /** v1 memory.usage_in_bytes, v2 memory.current. */
  readonly memoryBytes: number;
  /** pids.current: tasks (threads included) charged to the group. */
  readonly pids: number;
  /** CPU time used, nanoseconds (v1 cpuacct.usage, v2 cpu.stat usage_usec × 1000). */
  readonly cpuUsageNs: number;
  /** CFS periods in which the group hit its cpu quota and was held back (cpu.stat nr_throttled). */
  readonly cpuThrottledPeriods: number;
  /** OOM kills in the group (v1 memory.failcnt is no substitute: it stays 0 through an OOM kill on 6.x). */
  readonly oomKills: number;
}

/** What a manager needs from the outside world; tests swap in a fake hierarchy. */
export interface CgroupDeps {
  readonly fs: CgroupFs;
  /** Sends SIGKILL to a pid; a process that is gone (ESRCH) is not an error. */
  readonly kill: (pid: number) => void;
  /** Waits between polls of the kernel (a group emptying, a freeze taking hold). */
  readonly sleep: (ms: number) => Promise<void>;
  /**
   * Makes `program` (devices-bpf.ts) the one device filter of a v2 group's directory (bpf.ts).
   * Test doubles over a fake hierarchy leave it out; the v2 manager then refuses device rules.
   */
  readonly setDeviceProgram?: (dir: string, program: Buffer) => void;
}
