// The monitor group (src/runtime/cgroup/monitors.ts): where a host's hierarchies are, and
// `stack.monitors/<project>` made, joined and removed over the kernel-like cgroup v2 fake (a pure
// v2 host, where stack's own controllers are enabled at the root).
import { describe, expect, it } from 'vitest';
import { FakeCgroup2 } from '../../doubles/cgroup-fakefs.js';
import { monitorGroup, monitorGroupRel, parseHierarchyRoots } from '../../../src/runtime/cgroup/monitors.js';
import { v2Manager } from '../../../src/runtime/cgroup/index.js';

const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
90 80 0:36 / /mnt/again\\040pids rw,relatime - cgroup cgroup rw,pids
91 80 0:32 /docker/abc /mnt/nested rw,relatime - cgroup cgroup rw,memory
`;

describe('monitor group', () => {
  it('lives in every hierarchy the host mounts, each once, named ones and the unified one included', () => {
    expect(parseHierarchyRoots(HYBRID)).toEqual([
      '/sys/fs/cgroup/cpu',
      '/sys/fs/cgroup/memory',
      '/sys/fs/cgroup/pids',
      '/sys/fs/cgroup/systemd',
      '/sys/fs/cgroup/unified',
    ]);
    expect(parseHierarchyRoots('25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n')).toEqual(['/sys/fs/cgroup']);
  });

  it('is stack.monitors/<project>, never a name that leaves it', () => {
    expect(monitorGroupRel('shop')).toBe('stack.monitors/shop');
    for (const bad of ['', '.', '..', 'a/b']) expect(() => monitorGroupRel(bad)).toThrow();
  });

  it('on a pure v2 host: joined beside stack/ (not inside a service group), removed once its processes left', async () => {
    const root = '/sys/fs/cgroup';
    const fs = new FakeCgroup2({ root, controllers: ['cpu', 'io', 'memory', 'pids'] });
    const service = await v2Manager(root, fs.deps()).create('shop', 'web', {}); // enables the controllers at the root
    const session = '/sys/fs/cgroup/session';
    await fs.mkdir(session);
    const monitor = fs.spawn(session);
    const workload = fs.spawn(session);
    await service.join(workload);

    const group = monitorGroup('shop', [root], fs);
    await group.join(monitor);
    expect(group.dirs).toEqual(['/sys/fs/cgroup/stack.monitors/shop']);
    expect(await group.pids()).toEqual([monitor]);
    expect(await fs.readFile(`${session}/cgroup.procs`)).toBe('');

    await service.killAll(); // a service's kill never reaches its monitor
    expect(await group.pids()).toEqual([monitor]);
    expect(await group.remove(20)).toEqual(['/sys/fs/cgroup/stack.monitors/shop']); // busy: nothing killed
    expect(await group.pids()).toEqual([monitor]);

    fs.kill(monitor); // the monitor exits once its service's exit record is written
    expect(await group.remove(20)).toEqual([]);
    expect(await fs.exists('/sys/fs/cgroup/stack.monitors')).toBe(false);
    expect(await group.remove(20)).toEqual([]); // gone is success
  });
});
