// A service's Limits (memory, cpus, pids) as the values cgroup v1 and v2 interface files take,
// and back: pure functions, so what gets written and what observation reads are tested
// without a kernel. Absent memory and cpu limits are written as "unlimited" so an update
// clears old ones; an absent pids limit is podman's default (2048), -1 lifts it.
import { UserError } from '../../errors.js';
import type { Limits } from '../../spec/project.js';

/** The CFS period stack uses on v1 and v2 (the kernel's default, 100 ms). */
export const CPU_PERIOD_US = 100_000;
/** The smallest CFS quota the kernel accepts (1 ms). */
export const CPU_QUOTA_MIN_US = 1_000;

/** pids.max of a service whose spec sets no pids_limit (podman's default): a fork bomb stops there. */
export const DEFAULT_PIDS_LIMIT = 2048;

/** One write into an interface file, in order: `file` is relative to a controller's dir. */
export interface LimitWrite {
  /** v1 controller whose hierarchy holds the file; on v2 always the one dir. */
  readonly controller: 'memory' | 'cpu' | 'pids' | 'cpuset';
  readonly file: string;
  readonly value: string;
}

/** Refuses limits the kernel would reject or misread, naming the key. */
export function checkLimits(limits: Limits): void {
  const bad = (key: string, value: unknown, want: string): never => {
    throw new UserError('LIMIT_INVALID', `${key}: ${String(value)} is not ${want}`, `set ${key} to ${want}, or remove it for no limit`);
  };
  const { memoryBytes, cpus, pids } = limits;
  if (memoryBytes !== undefined && !(Number.isSafeInteger(memoryBytes) && memoryBytes >= 4096)) {
    bad('memory limit', memoryBytes, 'a whole number of bytes of at least 4096');
  }
  if (cpus !== undefined && !(Number.isFinite(cpus) && cpus > 0)) bad('cpus', cpus, 'a number above 0');
  if (pids !== undefined && !(Number.isSafeInteger(pids) && (pids >= 1 || pids === -1))) bad('pids_limit', pids, 'a whole number of at least 1, or -1 for no limit');
  const { cpuShares, cpuset, memoryReservationBytes: reservation, memswapBytes: memswap } = limits;
  if (cpuShares !== undefined && !(Number.isSafeInteger(cpuShares) && cpuShares >= 2 && cpuShares <= 262144)) bad('cpu_shares', cpuShares, 'a whole number from 2 to 262144');
  if (cpuset !== undefined && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(cpuset)) bad('cpuset', cpuset, 'a list of cpus such as 0-1 or 0,2');
  if (reservation !== undefined && !(Number.isSafeInteger(reservation) && reservation >= 0)) bad('mem_reservation', reservation, 'a whole number of bytes');
  if (memswap !== undefined && !(memswap === -1 || (Number.isSafeInteger(memswap) && memoryBytes !== undefined && memswap >= memoryBytes))) {
    bad('memswap_limit', memswap, 'at least the memory limit (memory plus swap), or -1, with a memory limit');
  }
}

/** runc's conversion of cpu shares [2, 262144] to a v2 cpu.weight [1, 10000] (ConvertCPUSharesToCgroupV2Value). */
export function cpuWeightOf(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** The pids.max value: the default when absent, `max` for -1. */
export function pidsMax(limits: Limits): string {
  if (limits.pids === undefined) return String(DEFAULT_PIDS_LIMIT);
  return limits.pids === -1 ? 'max' : String(limits.pids);
}

/** The CFS quota in microseconds per CPU_PERIOD_US for a fractional cpu count. */
export function cpuQuotaUs(cpus: number): number {
  return Math.max(CPU_QUOTA_MIN_US, Math.round(cpus * CPU_PERIOD_US));
}

/**
 * The values a cgroup holds from its making, whatever its parent's (no memory, swap, CPU or pids
 * limit: the kernel's defaults, not inherited): a write of one of them to a group made by this
 * start changes nothing, and is left out (createGroup's `fresh`). memory.oom_control and v1's
 * swappiness are not among them: a new v1 group takes those from its parent.
 */
const FRESH_DEFAULTS: ReadonlyMap<string, string> = new Map([
  ['memory.limit_in_bytes', '-1'],
  ['memory.memsw.limit_in_bytes', '-1'],
  ['cpu.cfs_period_us', String(CPU_PERIOD_US)],
  ['cpu.cfs_quota_us', '-1'],
  ['pids.max', 'max'],
  ['memory.max', 'max'],
  ['memory.swap.max', 'max'],
  ['cpu.max', `max ${CPU_PERIOD_US}`],
]);

/** Whether `w` writes what a group made just now holds already (FRESH_DEFAULTS). */
export function holdsFromMaking(w: LimitWrite): boolean {
  return FRESH_DEFAULTS.get(w.file) === w.value;
}

/**
 * The v1 writes for `limits`. With memsw (swap accounting on), memory+swap is capped at the
 * memory limit, so a service never swaps (as v2's memory.swap.max=0); it is first lifted to
 * unlimited because the kernel requires memsw >= memory at every step. Without memsw,
 * swappiness=0 keeps the group's pages out of swap. OOM killing is always on.
 */
export function v1LimitWrites(limits: Limits, opts: { memsw: boolean }): LimitWrite[] {
  checkLimits(limits);
  const mem = limits.memoryBytes === undefined ? '-1' : String(limits.memoryBytes);
  const writes: LimitWrite[] = [];
  const memory = (file: string, value: string) => writes.push({ controller: 'memory', file, value });
  if (opts.memsw) memory('memory.memsw.limit_in_bytes', '-1');
  memory('memory.limit_in_bytes', mem);
  // memswap_limit lets the service swap (up to memswap - memory, or without bound for -1); without
  // swap accounting that bound cannot be kept: swapping is then allowed, unbounded.
  if (opts.memsw) memory('memory.memsw.limit_in_bytes', limits.memswapBytes !== undefined ? String(limits.memswapBytes) : mem);
  else if (limits.memoryBytes !== undefined && limits.memswapBytes === undefined) memory('memory.swappiness', '0');
  // The keys beyond mem_limit/cpus/pids_limit are written only when set (a group is made anew
  // when they change: the service is recreated), so a kernel without those files runs the rest.
  if (limits.memoryReservationBytes !== undefined) memory('memory.soft_limit_in_bytes', String(limits.memoryReservationBytes));
  memory('memory.oom_control', '0');
  if (limits.cpuShares !== undefined) writes.push({ controller: 'cpu', file: 'cpu.shares', value: String(limits.cpuShares) });
  if (limits.cpuset !== undefined) writes.push({ controller: 'cpuset', file: 'cpuset.cpus', value: limits.cpuset });
  writes.push({ controller: 'cpu', file: 'cpu.cfs_period_us', value: String(CPU_PERIOD_US) });
  writes.push({ controller: 'cpu', file: 'cpu.cfs_quota_us', value: limits.cpus === undefined ? '-1' : String(cpuQuotaUs(limits.cpus)) });
  writes.push({ controller: 'pids', file: 'pids.max', value: pidsMax(limits) });
  return writes;
}

/** The v2 writes for `limits`; memory.swap.max only where the kernel has swap accounting. */
export function v2LimitWrites(limits: Limits, opts: { swap: boolean }): LimitWrite[] {
  checkLimits(limits);
  const writes: LimitWrite[] = [];
  const mem = limits.memoryBytes === undefined ? 'max' : String(limits.memoryBytes);
  writes.push({ controller: 'memory', file: 'memory.max', value: mem });
  if (opts.swap) writes.push({ controller: 'memory', file: 'memory.swap.max', value: v2SwapMax(limits) });
  // Written only when set, as on v1.
  if (limits.memoryReservationBytes !== undefined) writes.push({ controller: 'memory', file: 'memory.low', value: String(limits.memoryReservationBytes) });
  if (limits.cpuShares !== undefined) writes.push({ controller: 'cpu', file: 'cpu.weight', value: String(cpuWeightOf(limits.cpuShares)) });
  if (limits.cpuset !== undefined) writes.push({ controller: 'cpuset', file: 'cpuset.cpus', value: limits.cpuset });
  const quota = limits.cpus === undefined ? 'max' : String(cpuQuotaUs(limits.cpus));
  writes.push({ controller: 'cpu', file: 'cpu.max', value: `${quota} ${CPU_PERIOD_US}` });
  writes.push({ controller: 'pids', file: 'pids.max', value: pidsMax(limits) });
  return writes;
}

/** memory.swap.max: swap only what memswap_limit allows beyond the memory limit (none by default, as v1's memsw = memory). */
function v2SwapMax(limits: Limits): string {
  if (limits.memoryBytes === undefined || limits.memswapBytes === -1) return 'max';
  return String(limits.memswapBytes === undefined ? 0 : limits.memswapBytes - limits.memoryBytes);
}

/** Values at or above this are v1's "unlimited" (PAGE_COUNTER_MAX pages, about 2^63 bytes). */
const V1_UNLIMITED = 2n ** 62n;

/** Parses a byte limit: v1 `memory.limit_in_bytes` or v2 `memory.max`; undefined = unlimited. */
export function parseMemoryLimit(text: string): number | undefined {
  const t = text.trim();
  if (t === 'max' || t === '-1') return undefined;
  if (!/^\d+$/.test(t)) throw new Error(`unexpected memory limit ${JSON.stringify(t)}`);
  return BigInt(t) >= V1_UNLIMITED ? undefined : Number(t);
}

/** Parses a v1 quota/period pair or a v2 `cpu.max` line into a cpu count; undefined = unlimited. */
export function parseCpus(quota: string, period?: string): number | undefined {
  let [q, p] = quota.trim().split(/\s+/);
  if (period !== undefined) p = period.trim();
  if (q === 'max' || q === '-1') return undefined;
  if (!q || !p || !/^\d+$/.test(q) || !/^\d+$/.test(p)) throw new Error(`unexpected cpu quota ${JSON.stringify(quota)}`);
  return Number(q) / Number(p);
}

/** Parses `pids.max` as Limits.pids: -1 = unlimited. */
export function parsePidsLimit(text: string): number {
  const t = text.trim();
  if (t === 'max') return -1;
  if (!/^\d+$/.test(t)) throw new Error(`unexpected pids.max ${JSON.stringify(t)}`);
  return Number(t);
}

/** Builds a Limits object leaving out the unlimited ones (so it compares equal to a spec's). */
export function limitsOf(memoryBytes: number | undefined, cpus: number | undefined, pids: number | undefined): Limits {
  return {
    ...(memoryBytes !== undefined && { memoryBytes }),
    ...(cpus !== undefined && { cpus }),
    ...(pids !== undefined && { pids }),
  };
}
