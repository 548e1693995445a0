// cpu_shares, cpuset, mem_reservation and memswap_limit as cgroup v1 and v2 writes: runc's
// shares → weight conversion, memory+swap on v1 and swap beyond memory on v2, and nothing
// written for a key that is not set (a kernel without those files runs the rest).
import { describe, expect, it } from 'vitest';
import { checkLimits, cpuWeightOf, v1LimitWrites, v2LimitWrites } from '../../../src/runtime/cgroup/limits.js';

const MiB = 1024 * 1024;
const pick = (writes: { file: string; value: string }[], ...files: string[]) => writes.filter((w) => files.includes(w.file)).map((w) => `${w.file}=${w.value}`);

describe('cpu_shares', () => {
  it('is cpu.shares on v1 and cpu.weight on v2, converted as runc does', () => {
    expect([cpuWeightOf(2), cpuWeightOf(1024), cpuWeightOf(512), cpuWeightOf(262144)]).toEqual([1, 39, 20, 10000]);
    expect(pick(v1LimitWrites({ cpuShares: 512 }, { memsw: true }), 'cpu.shares')).toEqual(['cpu.shares=512']);
    expect(pick(v2LimitWrites({ cpuShares: 512 }, { swap: true }), 'cpu.weight')).toEqual(['cpu.weight=20']);
  });
});

describe('cpuset and mem_reservation', () => {
  it('are cpuset.cpus and the soft limit / memory.low', () => {
    expect(pick(v1LimitWrites({ cpuset: '0,1', memoryReservationBytes: 32 * MiB }, { memsw: true }), 'cpuset.cpus', 'memory.soft_limit_in_bytes')).toEqual([
      `memory.soft_limit_in_bytes=${32 * MiB}`,
      'cpuset.cpus=0,1',
    ]);
    expect(pick(v2LimitWrites({ cpuset: '1', memoryReservationBytes: 32 * MiB }, { swap: true }), 'cpuset.cpus', 'memory.low')).toEqual([`memory.low=${32 * MiB}`, 'cpuset.cpus=1']);
    expect(v1LimitWrites({ cpuset: '1' }, { memsw: true }).find((w) => w.file === 'cpuset.cpus')?.controller).toBe('cpuset');
  });
  it('are not written when not set', () => {
    const files = [...v1LimitWrites({}, { memsw: true }), ...v2LimitWrites({}, { swap: true })].map((w) => w.file);
    for (const f of ['cpu.shares', 'cpu.weight', 'cpuset.cpus', 'memory.low', 'memory.soft_limit_in_bytes']) expect(files).not.toContain(f);
  });
});

describe('memswap_limit', () => {
  it('is memory+swap on v1 (memsw) and the swap beyond memory on v2; -1 unlimited', () => {
    expect(pick(v1LimitWrites({ memoryBytes: 64 * MiB, memswapBytes: 128 * MiB }, { memsw: true }), 'memory.memsw.limit_in_bytes')).toEqual([
      'memory.memsw.limit_in_bytes=-1',
      `memory.memsw.limit_in_bytes=${128 * MiB}`,
    ]);
    expect(pick(v2LimitWrites({ memoryBytes: 64 * MiB, memswapBytes: 128 * MiB }, { swap: true }), 'memory.swap.max')).toEqual([`memory.swap.max=${64 * MiB}`]);
    expect(pick(v2LimitWrites({ memoryBytes: 64 * MiB, memswapBytes: -1 }, { swap: true }), 'memory.swap.max')).toEqual(['memory.swap.max=max']);
    expect(pick(v2LimitWrites({ memoryBytes: 64 * MiB }, { swap: true }), 'memory.swap.max')).toEqual(['memory.swap.max=0']);
  });
  it('without memsw, lets the service swap instead of swappiness 0', () => {
    expect(pick(v1LimitWrites({ memoryBytes: 64 * MiB, memswapBytes: 128 * MiB }, { memsw: false }), 'memory.swappiness')).toEqual([]);
    expect(pick(v1LimitWrites({ memoryBytes: 64 * MiB }, { memsw: false }), 'memory.swappiness')).toEqual(['memory.swappiness=0']);
  });
  it('below the memory limit or without one is refused', () => {
    expect(() => checkLimits({ memoryBytes: 64 * MiB, memswapBytes: 32 * MiB })).toThrow(/memswap_limit/);
    expect(() => checkLimits({ memswapBytes: 32 * MiB })).toThrow(/memswap_limit/);
    expect(() => checkLimits({ cpuShares: 1 })).toThrow(/cpu_shares/);
    expect(() => checkLimits({ cpuset: '0-' })).toThrow(/cpuset/);
  });
});
