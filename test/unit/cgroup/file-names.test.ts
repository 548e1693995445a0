// Service and project names that are the names of cgroup interface files: refused by the
// spec, by groupRel, and (should one get through) by mkdirChain, which no longer takes a
// kernel file for a group already made.
import { describe, expect, it } from 'vitest';
import { isCgroupFileName } from '../../../src/cgroup-files.js';
import { groupRel, mkdirChain, removeGroup } from '../../../src/runtime/cgroup/dirs.js';
import { v2Manager } from '../../../src/runtime/cgroup/index.js';
import { FakeCgroup2 } from '../../doubles/cgroup-fakefs.js';

const ROOT = '/sys/fs/cgroup';
const CLASHING = [
  'cgroup.procs',
  'cgroup.kill',
  'cgroup.some-future-file',
  'memory.max',
  'cpu.shares',
  'cpuset.cpus',
  'cpuacct.usage',
  'pids.max',
  'io.max',
  'blkio.weight',
  'devices.allow',
  'freezer.state',
  'hugetlb.2MB.limit_in_bytes',
  'net_cls.classid',
  'net_prio.ifpriomap',
  'perf_event.x',
  'rdma.max',
  'misc.max',
  'tasks',
  'notify_on_release',
  'release_agent',
];

describe('isCgroupFileName', () => {
  it.each(CLASHING)('%j names a cgroup file', (name) => expect(isCgroupFileName(name)).toBe(true));
  it.each(['web', 'memory', 'cgroup', 'Memory.max', 'my.memory.max', 'tasks2', 'a.b', 'memorymax', '.memory'])(
    '%j does not',
    (name) => expect(isCgroupFileName(name)).toBe(false),
  );
});

describe('cgroup dirs', () => {
  it('groupRel refuses a service or project named like a cgroup file (a bug upstream)', () => {
    expect(() => groupRel('shop', 'memory.max')).toThrow(/not a valid cgroup name: "memory.max"/);
    expect(() => groupRel('tasks')).toThrow(/not a valid cgroup name: "tasks"/);
    expect(groupRel('shop', 'web')).toBe('stack/shop/web');
  });

  it('mkdirChain takes an existing group as made, but an interface file of that name as an error', async () => {
    const fs = new FakeCgroup2({ root: ROOT, controllers: ['cpu', 'io', 'memory', 'pids'] });
    await v2Manager(ROOT, fs.deps()).create('shop', 'web', {});
    await expect(mkdirChain(fs, ROOT, 'stack/shop/web')).resolves.toBe(`${ROOT}/stack/shop/web`);
    for (const file of ['memory.max', 'cgroup.procs', 'pids.max']) {
      expect(await fs.exists(`${ROOT}/stack/shop/${file}`)).toBe(true);
      await expect(mkdirChain(fs, ROOT, `stack/shop/${file}`)).rejects.toMatchObject({
        code: 'CGROUP_NAME',
        message: `cannot create cgroup ${ROOT}/stack/shop/${file}: the kernel keeps a file of that name there`,
      });
    }
  });

  it('mkdirChain makes the levels above a leaf once per file system when nothing is to be prepared; one removed meanwhile is made again', async () => {
    const fs = new FakeCgroup2({ root: ROOT, controllers: ['cpu', 'io', 'memory', 'pids'] });
    const made: string[] = [];
    const mkdir = fs.mkdir.bind(fs);
    fs.mkdir = async (path: string) => {
      made.push(path.slice(ROOT.length + 1));
      await mkdir(path);
    };
    await mkdirChain(fs, ROOT, 'stack/shop/web');
    await mkdirChain(fs, ROOT, 'stack/shop/db');
    expect(made).toEqual(['stack', 'stack/shop', 'stack/shop/web', 'stack/shop/db']);
    // The project's level goes with its last group (a `down` by another command): made again.
    for (const dir of ['stack/shop/web', 'stack/shop/db', 'stack/shop']) await fs.rmdir(`${ROOT}/${dir}`);
    made.length = 0;
    await expect(mkdirChain(fs, ROOT, 'stack/shop/api')).resolves.toBe(`${ROOT}/stack/shop/api`);
    expect(made).toEqual(['stack/shop/api', 'stack', 'stack/shop', 'stack/shop/api']);
    // Another file system (another hierarchy, a test's fresh one) knows none of these levels.
    const other = new FakeCgroup2({ root: ROOT, controllers: ['cpu', 'io', 'memory', 'pids'] });
    await expect(mkdirChain(other, ROOT, 'stack/shop/web')).resolves.toBe(`${ROOT}/stack/shop/web`);
  });

  it('mkdirChain prepares the levels above the leaf once per preparation it is told the name of, and every time for one without a name', async () => {
    const fs = new FakeCgroup2({ root: ROOT, controllers: ['cpu', 'io', 'memory', 'pids'] });
    await mkdirChain(fs, ROOT, 'stack/shop/web'); // the levels known, unprepared
    const prepared: string[] = [];
    const prepare = (how: string) => async (dir: string) => void prepared.push(`${how} ${dir.slice(ROOT.length + 1)}`);
    await mkdirChain(fs, ROOT, 'stack/shop/db', prepare('cpuset'), 'cpuset');
    await mkdirChain(fs, ROOT, 'stack/shop/api', prepare('cpuset'), 'cpuset');
    // What a service with `cpuset:` prepares (v2's cpuset controller): the levels again, once.
    await mkdirChain(fs, ROOT, 'stack/shop/pinned', prepare('more'), 'more');
    await mkdirChain(fs, ROOT, 'stack/shop/pinned2', prepare('more'), 'more');
    expect(prepared).toEqual(['cpuset stack', 'cpuset stack/shop', 'more stack', 'more stack/shop']);
    prepared.length = 0;
    await mkdirChain(fs, ROOT, 'stack/shop/x', prepare('anon'));
    await mkdirChain(fs, ROOT, 'stack/shop/y', prepare('anon'));
    expect(prepared).toEqual(['anon stack', 'anon stack/shop', 'anon stack', 'anon stack/shop']);
    // The project's level removed (its last group went): made and prepared again.
    for (const dir of ['web', 'db', 'api', 'pinned', 'pinned2', 'x', 'y']) await fs.rmdir(`${ROOT}/stack/shop/${dir}`);
    await fs.rmdir(`${ROOT}/stack/shop`);
    prepared.length = 0;
    await expect(mkdirChain(fs, ROOT, 'stack/shop/z', prepare('cpuset'), 'cpuset')).resolves.toBe(`${ROOT}/stack/shop/z`);
    expect(prepared).toEqual(['cpuset stack', 'cpuset stack/shop']);
  });

  it('mkdirChain prepares again a level removed with the project\'s last group, or made anew, whatever it was remembered as', async () => {
    const fs = new FakeCgroup2({ root: ROOT, controllers: ['cpu', 'io', 'memory', 'pids'] });
    const prepared: string[] = [];
    const prepare = (how: string) => async (dir: string) => void prepared.push(`${how} ${dir.slice(ROOT.length + 1)}`);
    await mkdirChain(fs, ROOT, 'stack/shop/web', prepare('a'), 'a');
    // The project's last group goes, and its level with it (a leaf's removal: removeGroup); the
    // level, made again by a chain that remembered it otherwise, is prepared again.
    await removeGroup(fs.deps(), [`${ROOT}/stack/shop/web`], [`${ROOT}/stack/shop`], async () => undefined);
    expect(await fs.exists(`${ROOT}/stack/shop`)).toBe(false);
    await mkdirChain(fs, ROOT, 'stack/shop/db', prepare('b'), 'b'); // the level made again, prepared as b only
    await mkdirChain(fs, ROOT, 'stack/shop/api', prepare('a'), 'a');
    expect(prepared).toEqual(['a stack', 'a stack/shop', 'b stack', 'b stack/shop', 'a stack/shop']);
    // Removed by another process this time (its `down`), then made again here by a chain that
    // remembers nothing of it: the level it made is prepared by no one else yet.
    for (const dir of ['stack/shop/db', 'stack/shop/api', 'stack/shop']) await fs.rmdir(`${ROOT}/${dir}`);
    prepared.length = 0;
    await mkdirChain(fs, ROOT, 'stack/shop/x', prepare('c'), 'c');
    await mkdirChain(fs, ROOT, 'stack/shop/y', prepare('a'), 'a');
    expect(prepared).toEqual(['c stack', 'c stack/shop', 'a stack/shop']);
  });

  it('mkdirChain: chains side by side make and prepare a level once, the others wait for it; an existing group is told from a file by the path itself', async () => {
    const fs = new FakeCgroup2({ root: ROOT, controllers: ['cpu', 'io', 'memory', 'pids'] });
    await fs.mkdir(`${ROOT}/stack`); // made by an earlier run: this process meets its EEXIST
    const calls: string[] = [];
    for (const name of ['mkdir', 'subdirs', 'isDirectory'] as const) {
      const real = (fs[name] as (path: string) => Promise<unknown>).bind(fs);
      (fs as unknown as Record<string, (path: string) => Promise<unknown>>)[name] = async (path: string) => {
        calls.push(`${name} ${path.slice(ROOT.length + 1)}`);
        return real(path);
      };
    }
    const prepared: string[] = [];
    const prepare = async (dir: string) => {
      await new Promise((resolve) => setTimeout(resolve, 5)); // a preparation that waits (v1's cpuset reads and writes)
      prepared.push(dir.slice(ROOT.length + 1));
    };
    const leaves = ['web', 'db', 'api', 'worker'];
    expect(await Promise.all(leaves.map((l) => mkdirChain(fs, ROOT, `stack/shop/${l}`, prepare, 'cpuset')))).toEqual(leaves.map((l) => `${ROOT}/stack/shop/${l}`));
    expect(prepared).toEqual(['stack', 'stack/shop']);
    expect(calls).toEqual(['mkdir stack', 'isDirectory stack', 'mkdir stack/shop', ...leaves.map((l) => `mkdir stack/shop/${l}`)]);
  });
});
