// Choosing the hierarchy: v2 only with its controllers, else v1, else a UserError.
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { FakeCgroup2 } from '../../doubles/cgroup-fakefs.js';
import { detectCgroups, parseCgroupMounts } from '../../../src/runtime/cgroup/index.js';

// This machine's mounts: v1 controllers each on their own, cgroup2 holding nothing useful.
const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw`;

// A systemd distro on v2 only.
const UNIFIED = `25 20 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot`;

// Older layout: cpu and cpuacct share one hierarchy, mounted at an escaped path.
const COMOUNTED = `30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw shared:10 - cgroup cgroup rw,cpu,cpuacct
31 25 0:27 / /sys/fs/cgroup/memory rw shared:11 - cgroup cgroup rw,memory
32 25 0:28 / /sys/fs/cgroup/pids rw shared:12 - cgroup cgroup rw,pids
33 25 0:29 / /sys/fs/cgroup/my\\040freezer rw shared:13 - cgroup cgroup rw,freezer`;

describe('parseCgroupMounts', () => {
  it('finds each v1 controller and the unified mount', () => {
    const m = parseCgroupMounts(HYBRID);
    expect(m.unified).toBe('/sys/fs/cgroup/unified');
    expect(Object.fromEntries(m.v1)).toEqual({
      cpu: '/sys/fs/cgroup/cpu',
      cpuacct: '/sys/fs/cgroup/cpuacct',
      cpuset: '/sys/fs/cgroup/cpuset',
      memory: '/sys/fs/cgroup/memory',
      freezer: '/sys/fs/cgroup/freezer',
      pids: '/sys/fs/cgroup/pids',
      devices: '/sys/fs/cgroup/devices',
    });
  });
  it('maps co-mounted controllers to one mount and unescapes mount points', () => {
    const m = parseCgroupMounts(COMOUNTED);
    expect(m.unified).toBeUndefined();
    expect(m.v1.get('cpu')).toBe('/sys/fs/cgroup/cpu,cpuacct');
    expect(m.v1.get('cpuacct')).toBe('/sys/fs/cgroup/cpu,cpuacct');
    expect(m.v1.get('freezer')).toBe('/sys/fs/cgroup/my freezer');
  });
});

describe('detectCgroups', () => {
  it('picks v1 on a hybrid host whose cgroup2 has only hugetlb, saying why', async () => {
    const fs = new FakeCgroup2({ root: '/sys/fs/cgroup/unified', controllers: ['hugetlb'] });
    const layout = await detectCgroups(fs.deps(), HYBRID);
    expect(layout.version).toBe(1);
    expect(layout.version === 1 && layout.roots.memory).toBe('/sys/fs/cgroup/memory');
    expect(layout.notes).toEqual(['cgroup2 at /sys/fs/cgroup/unified lacks memory, pids, cpu (it has: hugetlb)']);
  });

  it('picks v2 where its controllers are there, enabling them for children', async () => {
    const fs = new FakeCgroup2({ root: '/sys/fs/cgroup', controllers: ['cpuset', 'cpu', 'io', 'memory', 'pids'] });
    const layout = await detectCgroups(fs.deps(), UNIFIED);
    expect(layout).toEqual({ version: 2, root: '/sys/fs/cgroup', notes: [] });
    expect((await fs.readFile('/sys/fs/cgroup/cgroup.subtree_control')).trim()).toBe('memory pids cpu');
  });

  it('prefers v2 on a hybrid host whose cgroup2 has the controllers', async () => {
    const fs = new FakeCgroup2({ root: '/sys/fs/cgroup/unified', controllers: ['cpu', 'memory', 'pids'] });
    expect((await detectCgroups(fs.deps(), HYBRID)).version).toBe(2);
  });

  it('fails with CGROUP_UNAVAILABLE naming what is missing', async () => {
    const fs = new FakeCgroup2({ root: '/sys/fs/cgroup', controllers: ['cpu', 'io'] });
    const err = await detectCgroups(fs.deps(), UNIFIED).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe('CGROUP_UNAVAILABLE');
    expect((err as UserError).message).toBe(
      'no usable cgroup hierarchy: cgroup2 at /sys/fs/cgroup lacks memory, pids (it has: cpu io); cgroup v1 lacks memory, pids, cpu, cpuacct, freezer, devices',
    );
    expect((err as UserError).hint).toMatch(/run stack as root/);
  });

  it('fails when v1 lacks the freezer (killAll needs it)', async () => {
    const fs = new FakeCgroup2({ root: '/nowhere', controllers: [] });
    const noFreezer = COMOUNTED.split('\n').slice(0, 3).join('\n');
    await expect(detectCgroups(fs.deps(), noFreezer)).rejects.toThrow(/cgroup2 is not mounted; cgroup v1 lacks freezer/);
  });
});
