// The v1 manager's file work over a temp dir laid out as v1 hierarchies. A temp dir is not
// cgroupfs (mkdir makes no interface files, rmdir knows no EBUSY), so each test first lays
// down the files the kernel would show; the kernel's own behaviour is in the integration tests.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { nodeCgroupFs, v1Manager, type CgroupDeps, type V1Roots } from '../../../src/runtime/cgroup/index.js';

const MiB = 1024 * 1024;

// The files of a fresh v1 group, per controller, with the kernel's initial values.
const KERNEL_FILES: Record<string, Record<string, string>> = {
  memory: {
    'cgroup.procs': '',
    'memory.limit_in_bytes': '9223372036854771712\n',
    'memory.memsw.limit_in_bytes': '9223372036854771712\n',
    'memory.swappiness': '60\n',
    'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
    'memory.usage_in_bytes': '0\n',
  },
  pids: { 'cgroup.procs': '', 'pids.max': 'max\n', 'pids.current': '0\n' },
  cpu: { 'cgroup.procs': '', 'cpu.cfs_period_us': '100000\n', 'cpu.cfs_quota_us': '-1\n', 'cpu.stat': 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\n' },
  cpuacct: { 'cgroup.procs': '', 'cpuacct.usage': '0\n' },
  freezer: { 'cgroup.procs': '', 'freezer.state': 'THAWED\n' },
  devices: { 'cgroup.procs': '', 'devices.allow': '', 'devices.deny': '', 'devices.list': 'a *:* rwm\n' },
};

let base: string;
let roots: V1Roots;
const deps: CgroupDeps = {
  fs: nodeCgroupFs,
  kill: () => {
    throw new Error('no process is killed over a temp dir');
  },
  sleep: async () => {},
};

async function layDown(project: string, service: string, omit: string[] = []): Promise<void> {
  for (const [controller, files] of Object.entries(KERNEL_FILES)) {
    const dir = join(base, controller, 'stack', project, service);
    await mkdir(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) if (!omit.includes(name)) await writeFile(join(dir, name), content);
  }
}

const read = (controller: string, file: string) => readFile(join(base, controller, 'stack/shop/web', file), 'utf8');

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'stack-cgroup-v1-'));
  roots = { memory: join(base, 'memory'), pids: join(base, 'pids'), cpu: join(base, 'cpu'), cpuacct: join(base, 'cpuacct'), freezer: join(base, 'freezer'), devices: join(base, 'devices') };
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('v1 manager over a temp dir', () => {
  it('has one dir per hierarchy to join, one cgroup.procs each', () => {
    const group = v1Manager(roots, deps).open('shop', 'web');
    expect(group.dirs).toEqual(['memory', 'pids', 'cpu', 'cpuacct', 'freezer', 'devices'].map((c) => join(base, c, 'stack/shop/web')));
    expect(group.procsFiles).toEqual(group.dirs.map((d) => join(d, 'cgroup.procs')));
    expect(group.oomEventsFile).toBe(join(base, 'memory/stack/shop/web/memory.oom_control'));
  });

  it('names the same folders and files as path.join for roots given with a trailing or doubled slash', () => {
    const untidy = Object.fromEntries(Object.entries(roots).map(([c, r], i) => [c, i % 2 === 0 ? `${r}/` : r.replace(base, `${base}//`)])) as unknown as V1Roots;
    const group = v1Manager(untidy, deps).open('shop', 'web');
    expect(group.dirs).toEqual(['memory', 'pids', 'cpu', 'cpuacct', 'freezer', 'devices'].map((c) => join(base, c, 'stack/shop/web')));
    expect(group.procsFiles).toEqual(group.dirs.map((d) => join(d, 'cgroup.procs')));
    expect(group.controllerFile('pids', 'pids.max')).toBe(join(base, 'pids', 'stack/shop/web', 'pids.max'));
    expect(group.controllerFile('memory', 'memory.limit_in_bytes')).toBe(join(base, 'memory', 'stack/shop/web', 'memory.limit_in_bytes'));
  });

  it('joins co-mounted controllers once', () => {
    const shared = join(base, 'cpu,cpuacct');
    const group = v1Manager({ ...roots, cpu: shared, cpuacct: shared }, deps).open('shop', 'web');
    expect(group.dirs).toHaveLength(5);
    expect(group.dirs).toContain(join(shared, 'stack/shop/web'));
  });

  it('writes the limits into each controller and reads them back', async () => {
    await layDown('shop', 'web');
    const group = await v1Manager(roots, deps).create('shop', 'web', { memoryBytes: 64 * MiB, cpus: 0.2, pids: 32 });
    expect(await read('memory', 'memory.limit_in_bytes')).toBe(String(64 * MiB));
    expect(await read('memory', 'memory.memsw.limit_in_bytes')).toBe(String(64 * MiB));
    expect(await read('memory', 'memory.swappiness')).toBe('60\n');
    expect(await read('memory', 'memory.oom_control')).toBe('0');
    expect(await read('cpu', 'cpu.cfs_quota_us')).toBe('20000');
    expect(await read('pids', 'pids.max')).toBe('32');
    expect(await group.limits()).toEqual({ memoryBytes: 64 * MiB, cpus: 0.2, pids: 32 });
  });

  it('uses swappiness 0 where memsw does not exist', async () => {
    await layDown('shop', 'web', ['memory.memsw.limit_in_bytes']);
    await v1Manager(roots, deps).create('shop', 'web', { memoryBytes: 64 * MiB });
    expect(await read('memory', 'memory.swappiness')).toBe('0');
  });

  it('checks limits before touching the hierarchy', async () => {
    const err = await v1Manager(roots, deps).create('shop', 'web', { pids: 0 }).catch((e: unknown) => e);
    expect((err as UserError).code).toBe('LIMIT_INVALID');
    expect(await nodeCgroupFs.exists(join(base, 'memory', 'stack'))).toBe(false);
  });

  it('lists the union of the pids of every hierarchy (a launch cut off between joins is still found)', async () => {
    await layDown('shop', 'web');
    await writeFile(join(base, 'memory/stack/shop/web/cgroup.procs'), '12\n7\n');
    await writeFile(join(base, 'freezer/stack/shop/web/cgroup.procs'), '7\n');
    await writeFile(join(base, 'pids/stack/shop/web/cgroup.procs'), '7\n9\n');
    expect(await v1Manager(roots, deps).open('shop', 'web').pids()).toEqual([7, 9, 12]);
  });

  it('reads OOM kills from memory.oom_control and usage from memory, pids and cpuacct', async () => {
    await layDown('shop', 'web');
    const group = v1Manager(roots, deps).open('shop', 'web');
    expect(await group.oomKilled()).toBe(false);
    await writeFile(join(base, 'memory/stack/shop/web/memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    await writeFile(join(base, 'memory/stack/shop/web/memory.usage_in_bytes'), '4096\n');
    await writeFile(join(base, 'pids/stack/shop/web/pids.current'), '3\n');
    await writeFile(join(base, 'cpuacct/stack/shop/web/cpuacct.usage'), '123456789\n');
    await writeFile(join(base, 'cpu/stack/shop/web/cpu.stat'), 'nr_periods 30\nnr_throttled 25\nthrottled_time 900000000\n');
    expect(await group.oomKilled()).toBe(true);
    expect(await group.stats()).toEqual({ memoryBytes: 4096, pids: 3, cpuUsageNs: 123456789, cpuThrottledPeriods: 25, oomKills: 2 });
  });

  it('lists projects and services from every hierarchy, and nothing before stack/ exists', async () => {
    const manager = v1Manager(roots, deps);
    expect(await manager.projects()).toEqual([]);
    await layDown('shop', 'web');
    await layDown('shop', 'db');
    expect(await manager.projects()).toEqual(['shop']);
    expect(await manager.services('shop')).toEqual(['db', 'web']);
    expect(await manager.open('shop', 'web').exists()).toBe(true);
    expect(await manager.open('shop', 'api').exists()).toBe(false);
    await mkdir(join(base, 'freezer/stack/half/made'), { recursive: true });
    expect(await manager.projects()).toEqual(['half', 'shop']);
    expect(await manager.services('half')).toEqual(['made']);
    expect(await manager.open('half', 'made').exists()).toBe(false);
  });

  it('names the file and value of a write the kernel refuses', async () => {
    await layDown('shop', 'web', ['pids.max']);
    const err = await v1Manager(roots, deps).create('shop', 'web', { pids: 5 }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(`write ${join(base, 'pids/stack/shop/web/pids.max')} "5": ENOENT`);
  });
});
