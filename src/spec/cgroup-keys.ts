// The cgroup keys beyond the limits (mem_limit, cpus, pids_limit): `cpu_shares` (a relative cpu
// weight), `cpuset` (the cpus the service may use), `mem_reservation` (memory it keeps under
// pressure) and `memswap_limit` (memory plus swap, -1 unlimited), checked as Docker checks them.
import type { Limits } from './project.js';
import type { KeyPath } from './raw.js';
import type { Report } from './report.js';
import { parseBytes, parseInteger, SIZE_FORMAT } from './units.js';

/** A cpuset.cpus list: `0`, `0-3`, `0,2-3`. */
export const CPUSET_PATTERN = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

type CgroupKeys = Pick<Limits, 'cpuShares' | 'cpuset' | 'memoryReservationBytes' | 'memswapBytes'>;

/** Reads the keys; `memoryBytes` is the service's memory limit (for the checks that need it). */
export function cgroupKeys(spec: Readonly<Record<string, unknown>>, memoryBytes: number | undefined, at: (...rest: (string | number)[]) => KeyPath, report: Report): CgroupKeys {
  const out: { cpuShares?: number; cpuset?: string; memoryReservationBytes?: number; memswapBytes?: number } = {};
  if (spec.cpu_shares !== undefined) {
    const n = parseInteger(spec.cpu_shares);
    if (!n.ok || n.value < 0 || n.value > 262144) report.error(at('cpu_shares'), 'BAD_CPU_SHARES', `\`${String(spec.cpu_shares)}\` is not a cpu share`, { expected: 'a whole number from 2 to 262144 (1024 is the default weight; 0 leaves it unset)' });
    else if (n.value > 0) out.cpuShares = Math.max(2, n.value);
  }
  if (typeof spec.cpuset === 'string') {
    const text = spec.cpuset.trim();
    const ranges = text.split(',').map((r) => r.split('-').map(Number));
    if (!CPUSET_PATTERN.test(text) || ranges.some((r) => r.length === 2 && r[0]! > r[1]!)) {
      report.error(at('cpuset'), 'BAD_CPUSET', `\`${spec.cpuset}\` is not a list of cpus`, { expected: 'cpu numbers and ranges such as 0, 0-1 or 0,2-3' });
    } else if (text !== '') out.cpuset = text;
  }
  if (spec.mem_reservation !== undefined) {
    const b = parseBytes(spec.mem_reservation);
    if (!b.ok) report.error(at('mem_reservation'), 'BAD_SIZE', `\`mem_reservation\` ${b.reason}`, { expected: SIZE_FORMAT });
    else if (memoryBytes !== undefined && b.value > memoryBytes) {
      report.error(at('mem_reservation'), 'CONFLICT', '`mem_reservation` is above the memory limit', { expected: 'a reservation at most `mem_limit`', hint: 'lower mem_reservation or raise mem_limit' });
    } else if (b.value > 0) out.memoryReservationBytes = b.value;
  }
  if (spec.memswap_limit !== undefined) {
    const unlimited = spec.memswap_limit === -1 || spec.memswap_limit === '-1';
    const b = unlimited ? ({ ok: true, value: -1 } as const) : parseBytes(spec.memswap_limit);
    if (!b.ok) report.error(at('memswap_limit'), 'BAD_SIZE', `\`memswap_limit\` ${b.reason}`, { expected: `${SIZE_FORMAT}, or -1 for unlimited swap` });
    else if (b.value !== 0 && memoryBytes === undefined) {
      report.error(at('memswap_limit'), 'MISSING_KEY', '`memswap_limit` needs a memory limit', { expected: 'mem_limit (or deploy.resources.limits.memory) beside it', hint: 'memswap_limit is memory plus swap: set the memory part with mem_limit' });
    } else if (b.value !== 0 && b.value !== -1 && memoryBytes !== undefined && b.value < memoryBytes) {
      report.error(at('memswap_limit'), 'CONFLICT', '`memswap_limit` is below the memory limit', { expected: 'memory plus swap: at least `mem_limit` (equal: no swap)', hint: 'raise memswap_limit, or use -1 for unlimited swap' });
    } else if (b.value !== 0) out.memswapBytes = b.value;
  }
  return out;
}
