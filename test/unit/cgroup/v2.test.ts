// The v2 manager over the kernel-like fake hierarchy (this host has no usable cgroup2).
import { describe, expect, it } from 'vitest';
import { AggregateStackError, KernelError } from '../../../src/errors.js';
import { FakeCgroup2 } from '../../doubles/cgroup-fakefs.js';
import { v2Manager } from '../../../src/runtime/cgroup/index.js';
import { DEFAULT_PIDS_LIMIT } from '../../../src/runtime/cgroup/limits.js';

const ROOT = '/sys/fs/cgroup';
const MiB = 1024 * 1024;

function setup(opts: { swap?: boolean; cgroupKill?: boolean } = {}) {
  const fs = new FakeCgroup2({ root: ROOT, controllers: ['cpu', 'io', 'memory', 'pids'], ...opts });
  return { fs, manager: v2Manager(ROOT, fs.deps()) };
}

describe('v2 manager', () => {
  it('creates stack/<project>/<service>, enabling memory, pids and cpu at every level above it', async () => {
    const { fs, manager } = setup();
    const group = await manager.create('shop', 'web', {});
    expect(group.dirs).toEqual([`${ROOT}/stack/shop/web`]);
    expect(group.procsFiles).toEqual([`${ROOT}/stack/shop/web/cgroup.procs`]);
    expect(group.oomEventsFile).toBe(`${ROOT}/stack/shop/web/memory.events`);
    for (const dir of [ROOT, `${ROOT}/stack`, `${ROOT}/stack/shop`]) {
      expect((await fs.readFile(`${dir}/cgroup.subtree_control`)).trim().split(' ').sort()).toEqual(['cpu', 'memory', 'pids']);
    }
    expect(await fs.readFile(`${ROOT}/stack/shop/web/cgroup.controllers`)).toBe('memory pids cpu\n');
    expect(await fs.readFile(`${ROOT}/stack/shop/web/cgroup.subtree_control`)).toBe('\n');
  });

  it('writes the limits and reads them back', async () => {
    const { fs, manager } = setup();
    const group = await manager.create('shop', 'web', { memoryBytes: 64 * MiB, cpus: 0.25, pids: 32 });
    expect(await fs.readFile(`${ROOT}/stack/shop/web/memory.max`)).toBe(`${64 * MiB}\n`);
    expect(await fs.readFile(`${ROOT}/stack/shop/web/memory.swap.max`)).toBe('0\n');
    expect(await fs.readFile(`${ROOT}/stack/shop/web/cpu.max`)).toBe('25000 100000\n');
    expect(await fs.readFile(`${ROOT}/stack/shop/web/pids.max`)).toBe('32\n');
    expect(await group.limits()).toEqual({ memoryBytes: 64 * MiB, cpus: 0.25, pids: 32 });
    await group.setLimits({ pids: 10 });
    expect(await group.limits()).toEqual({ pids: 10 });
  });

  it('writes to a group it made only what a new group does not hold from its making, and every limit to one it found', async () => {
    const { fs, manager } = setup();
    const written: string[] = [];
    const write = fs.writeFile.bind(fs);
    fs.writeFile = async (path: string, data: string) => {
      if (path.startsWith(`${ROOT}/stack/shop/web/`)) written.push(path.slice(`${ROOT}/stack/shop/web/`.length));
      await write(path, data);
    };
    await manager.create('shop', 'web', {});
    expect(written).toEqual(['pids.max']); // podman's 2048, not the kernel's max
    written.length = 0;
    const found = await manager.create('shop', 'web', {});
    expect(written.sort()).toEqual(['cpu.max', 'memory.max', 'memory.swap.max', 'pids.max']);
    expect(await found.limits()).toEqual({ pids: DEFAULT_PIDS_LIMIT });
  });

  it('leaves memory.swap.max alone where the kernel has no swap accounting', async () => {
    const { manager } = setup({ swap: false });
    const group = await manager.create('shop', 'web', { memoryBytes: 64 * MiB });
    expect(await group.limits()).toEqual({ memoryBytes: 64 * MiB, pids: DEFAULT_PIDS_LIMIT });
  });

  it('is idempotent: creating again adopts the group and its processes', async () => {
    const { fs, manager } = setup();
    const first = await manager.create('shop', 'web', { pids: 5 });
    const pid = fs.spawn(first.dirs[0]!);
    const again = await manager.create('shop', 'web', { pids: 6 });
    expect(await again.pids()).toEqual([pid]);
    expect(await again.limits()).toEqual({ pids: 6 });
  });

  it('lets a process join through procsFiles, then lists it', async () => {
    const { fs, manager } = setup();
    const group = await manager.create('shop', 'web', {});
    const pid = fs.spawn(ROOT);
    for (const f of group.procsFiles) await fs.writeFile(f, String(pid));
    expect(await group.pids()).toEqual([pid]);
    expect(await fs.readFile(`${ROOT}/cgroup.procs`)).toBe('');
    const other = fs.spawn(ROOT);
    await group.join(other);
    expect(await group.pids()).toEqual([pid, other]);
  });

  it('kills every process with cgroup.kill', async () => {
    const { fs, manager } = setup();
    const group = await manager.create('shop', 'web', {});
    for (let i = 0; i < 3; i++) fs.spawn(group.dirs[0]!);
    await group.killAll();
    expect(await group.pids()).toEqual([]);
  });

  it('freezes, kills each pid and thaws where cgroup.kill does not exist', async () => {
    const fs = new FakeCgroup2({ root: ROOT, controllers: ['cpu', 'memory', 'pids'], cgroupKill: false });
    const frozenAtKill: boolean[] = [];
    const deps = fs.deps();
    const manager = v2Manager(ROOT, { ...deps, kill: (pid) => (frozenAtKill.push(fs.isFrozen(pid)), deps.kill(pid)) });
    const group = await manager.create('shop', 'web', {});
    for (let i = 0; i < 3; i++) fs.spawn(group.dirs[0]!);
    await group.killAll();
    expect(frozenAtKill).toEqual([true, true, true]);
    expect(await group.pids()).toEqual([]);
    expect(await fs.readFile(`${group.dirs[0]}/cgroup.freeze`)).toBe('0\n');
  });

  it('freezes and thaws on request', async () => {
    const { fs, manager } = setup();
    const group = await manager.create('shop', 'web', {});
    await group.freeze();
    expect(await fs.readFile(`${group.dirs[0]}/cgroup.events`)).toContain('frozen 1');
    await group.thaw();
    expect(await fs.readFile(`${group.dirs[0]}/cgroup.events`)).toContain('frozen 0');
  });

  it('reports an OOM kill and the usage', async () => {
    const { fs, manager } = setup();
    const group = await manager.create('shop', 'web', { memoryBytes: 64 * MiB });
    fs.spawn(group.dirs[0]!);
    fs.charge(group.dirs[0]!, { memoryBytes: 5 * MiB, cpuUsec: 1500 });
    expect(await group.oomKilled()).toBe(false);
    expect(await group.stats()).toEqual({ memoryBytes: 5 * MiB, pids: 1, cpuUsageNs: 1_500_000, cpuThrottledPeriods: 0, oomKills: 0 });
    fs.oomKill(group.dirs[0]!);
    expect(await group.oomKilled()).toBe(true);
    expect(await group.oomKills()).toBe(1);
    expect(await group.stats()).toMatchObject({ pids: 0, oomKills: 1 });
  });

  it('destroys a populated group by killing it, and the project dir with the last service', async () => {
    const { fs, manager } = setup();
    const web = await manager.create('shop', 'web', {});
    const db = await manager.create('shop', 'db', {});
    fs.spawn(web.dirs[0]!);
    fs.spawn(db.dirs[0]!);
    expect(await manager.services('shop')).toEqual(['db', 'web']);
    await web.destroy();
    expect(await web.exists()).toBe(false);
    expect(await manager.projects()).toEqual(['shop']);
    await db.destroy();
    expect(await manager.projects()).toEqual([]);
    expect(await fs.exists(`${ROOT}/stack`)).toBe(true);
    await db.destroy(); // gone is success
  });

  it('names the failing call when a project dir holds a process (no internal processes)', async () => {
    const { fs, manager } = setup();
    await manager.create('shop', 'web', {});
    await fs.mkdir(`${ROOT}/stack/other`);
    fs.spawn(`${ROOT}/stack/other`);
    const err = await manager.create('other', 'web', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).errno).toBe('EBUSY');
    expect((err as KernelError).message).toBe(`write ${ROOT}/stack/other/cgroup.subtree_control "+memory": EBUSY`);
  });

  it('reports the rmdir that stays busy (a child group stack did not make)', async () => {
    const { fs, manager } = setup();
    const group = await manager.create('shop', 'web', {});
    await fs.mkdir(`${group.dirs[0]}/stray`);
    const err = await group.destroy().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).message).toBe(`rmdir ${ROOT}/stack/shop/web: EBUSY`);
    expect(err).not.toBeInstanceOf(AggregateStackError);
  });

  it('removes a group it created when its limits cannot be written, and keeps one it adopted', async () => {
    // A kernel that refuses one value (as it would a pids.max below the group's current count).
    class Refusing extends FakeCgroup2 {
      override async writeFile(path: string, data: string): Promise<void> {
        if (path.endsWith('/pids.max') && data === '13') throw Object.assign(new Error('EINVAL'), { code: 'EINVAL' });
        return super.writeFile(path, data);
      }
    }
    const fs = new Refusing({ root: ROOT, controllers: ['cpu', 'memory', 'pids'] });
    const manager = v2Manager(ROOT, fs.deps());
    await expect(manager.create('shop', 'web', { pids: 13 })).rejects.toThrow(`write ${ROOT}/stack/shop/web/pids.max "13": EINVAL`);
    expect(await fs.exists(`${ROOT}/stack/shop`)).toBe(false);
    const adopted = await manager.create('shop', 'web', { pids: 12 });
    fs.spawn(adopted.dirs[0]!);
    await expect(manager.create('shop', 'web', { pids: 13 })).rejects.toThrow(/EINVAL/);
    expect(await adopted.pids()).toHaveLength(1);
  });

  it('refuses names that would leave stack/', () => {
    const { manager } = setup();
    expect(() => manager.open('..', 'web')).toThrow(/not a valid cgroup name/);
    expect(() => manager.open('shop', 'a/b')).toThrow(/not a valid cgroup name/);
  });
});
