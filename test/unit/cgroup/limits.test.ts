// Limits → the values cgroup files take, and back (pure).
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import {
  checkLimits,
  cpuQuotaUs,
  parseCpus,
  parseMemoryLimit,
  parsePidsLimit,
  v1LimitWrites,
  v2LimitWrites,
  type LimitWrite,
} from '../../../src/runtime/cgroup/limits.js';

const render = (writes: LimitWrite[]) => writes.map((w) => `${w.controller}/${w.file} = ${w.value}`).join('\n');
const MiB = 1024 * 1024;

describe('v1 limit writes', () => {
  it('caps memory+swap at the memory limit, lifting it first so memsw >= memory holds at each step', () => {
    expect(render(v1LimitWrites({ memoryBytes: 64 * MiB, cpus: 0.2, pids: 32 }, { memsw: true }))).toMatchInlineSnapshot(`
      "memory/memory.memsw.limit_in_bytes = -1
      memory/memory.limit_in_bytes = 67108864
      memory/memory.memsw.limit_in_bytes = 67108864
      memory/memory.oom_control = 0
      cpu/cpu.cfs_period_us = 100000
      cpu/cpu.cfs_quota_us = 20000
      pids/pids.max = 32"
    `);
  });
  it('keeps pages out of swap with swappiness 0 when the kernel has no memsw', () => {
    expect(render(v1LimitWrites({ memoryBytes: 64 * MiB }, { memsw: false }))).toMatchInlineSnapshot(`
      "memory/memory.limit_in_bytes = 67108864
      memory/memory.swappiness = 0
      memory/memory.oom_control = 0
      cpu/cpu.cfs_period_us = 100000
      cpu/cpu.cfs_quota_us = -1
      pids/pids.max = 2048"
    `);
  });
  it('writes "unlimited" for every absent limit, so an update clears old ones', () => {
    expect(render(v1LimitWrites({}, { memsw: true }))).toMatchInlineSnapshot(`
      "memory/memory.memsw.limit_in_bytes = -1
      memory/memory.limit_in_bytes = -1
      memory/memory.memsw.limit_in_bytes = -1
      memory/memory.oom_control = 0
      cpu/cpu.cfs_period_us = 100000
      cpu/cpu.cfs_quota_us = -1
      pids/pids.max = 2048"
    `);
  });
});

describe('v2 limit writes', () => {
  it('sets memory.max, no swap, cpu.max "quota period" and pids.max', () => {
    expect(render(v2LimitWrites({ memoryBytes: 64 * MiB, cpus: 1.5, pids: 100 }, { swap: true }))).toMatchInlineSnapshot(`
      "memory/memory.max = 67108864
      memory/memory.swap.max = 0
      cpu/cpu.max = 150000 100000
      pids/pids.max = 100"
    `);
  });
  it('writes max for absent limits and skips swap without swap accounting', () => {
    expect(render(v2LimitWrites({}, { swap: false }))).toMatchInlineSnapshot(`
      "memory/memory.max = max
      cpu/cpu.max = max 100000
      pids/pids.max = 2048"
    `);
  });
});

describe('cpu quota', () => {
  it.each([
    [0.2, 20_000],
    [2, 200_000],
    [0.001, 1_000],
    [0.0001, 1_000],
  ])('%s cpus → %s µs per 100 ms', (cpus, quota) => {
    expect(cpuQuotaUs(cpus)).toBe(quota);
  });
});

describe('parsing what the kernel reports', () => {
  it.each([
    ['67108864\n', 64 * MiB],
    ['9223372036854771712\n', undefined],
    ['max\n', undefined],
    ['-1', undefined],
  ])('memory limit %j → %s', (text, value) => {
    expect(parseMemoryLimit(text)).toBe(value);
  });
  it('reads cpus from a v1 quota/period pair and from a v2 cpu.max line', () => {
    expect(parseCpus('20000\n', '100000\n')).toBe(0.2);
    expect(parseCpus('-1\n', '100000\n')).toBeUndefined();
    expect(parseCpus('50000 100000\n')).toBe(0.5);
    expect(parseCpus('max 100000\n')).toBeUndefined();
  });
  it('reads pids.max', () => {
    expect(parsePidsLimit('32\n')).toBe(32);
    expect(parsePidsLimit('max\n')).toBe(-1);
  });
  it('refuses text that is no limit', () => {
    expect(() => parseMemoryLimit('lots')).toThrow(/unexpected memory limit/);
    expect(() => parseCpus('fast')).toThrow(/unexpected cpu quota/);
    expect(() => parsePidsLimit('-3')).toThrow(/unexpected pids.max/);
  });
});

describe('checkLimits', () => {
  it.each([
    [{ memoryBytes: 0 }, /memory limit: 0/],
    [{ memoryBytes: 1.5 }, /memory limit: 1.5/],
    [{ cpus: 0 }, /cpus: 0/],
    [{ cpus: Number.NaN }, /cpus: NaN/],
    [{ pids: 0 }, /pids_limit: 0/],
  ])('refuses %j with LIMIT_INVALID', (limits, message) => {
    let caught: unknown;
    try {
      checkLimits(limits);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(UserError);
    expect((caught as UserError).code).toBe('LIMIT_INVALID');
    expect((caught as UserError).message).toMatch(message);
  });
  it('accepts sane limits and none', () => {
    expect(() => checkLimits({ memoryBytes: 6 * MiB, cpus: 0.5, pids: 1 })).not.toThrow();
    expect(() => checkLimits({})).not.toThrow();
  });
});
