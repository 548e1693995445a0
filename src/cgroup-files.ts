// The names the kernel gives the files inside every cgroup folder. stack makes one folder per
// project (stack/<project>) and one per service (stack/<project>/<service>), so a project or
// service named like one of those files (`cgroup.procs`, `memory.max`, `tasks`, ...) would
// collide with the kernel's own file: such names are refused when the spec is loaded. Pure.

/**
 * Controllers (v1 and v2) and `cgroup`: each names its files `<prefix>.<file>`. The whole prefix
 * is refused, not a list of today's files, so a file a newer kernel adds is covered too.
 */
export const CGROUP_FILE_PREFIXES = [
  'cgroup',
  'blkio',
  'cpu',
  'cpuacct',
  'cpuset',
  'devices',
  'dmem',
  'freezer',
  'hugetlb',
  'io',
  'irq',
  'memory',
  'misc',
  'net_cls',
  'net_prio',
  'perf_event',
  'pids',
  'rdma',
] as const;

/** The cgroup v1 files whose names hold no `.`. */
export const CGROUP_BARE_FILES = ['tasks', 'notify_on_release', 'release_agent'] as const;

const PREFIXES: ReadonlySet<string> = new Set(CGROUP_FILE_PREFIXES);
const BARE: ReadonlySet<string> = new Set(CGROUP_BARE_FILES);

/** True when `name` is (or may be, on some kernel) the name of a file inside a cgroup folder. */
export function isCgroupFileName(name: string): boolean {
  if (BARE.has(name)) return true;
  const dot = name.indexOf('.');
  return dot > 0 && PREFIXES.has(name.slice(0, dot));
}
