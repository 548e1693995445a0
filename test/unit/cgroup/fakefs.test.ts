// The fake v2 hierarchy keeps the kernel's rules: the v2 manager's tests are only worth what
// this fake is, so each rule it claims is pinned here.
import { describe, expect, it } from 'vitest';
import { FakeCgroup2 } from '../../doubles/cgroup-fakefs.js';

const ROOT = '/sys/fs/cgroup';
const fake = (opts: { swap?: boolean; cgroupKill?: boolean } = {}) => new FakeCgroup2({ root: ROOT, controllers: ['cpu', 'memory', 'pids', 'io'], ...opts });

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code;
  }
}

describe('fake cgroup v2 hierarchy', () => {
  it('gives a child its parent subtree_control as cgroup.controllers, and their files', async () => {
    const fs = fake();
    await fs.mkdir(`${ROOT}/a`);
    expect(await fs.readFile(`${ROOT}/a/cgroup.controllers`)).toBe('\n');
    expect(await fs.exists(`${ROOT}/a/memory.max`)).toBe(false);
    await fs.writeFile(`${ROOT}/cgroup.subtree_control`, '+memory +pids');
    expect(await fs.readFile(`${ROOT}/a/cgroup.controllers`)).toBe('memory pids\n');
    expect(await fs.readFile(`${ROOT}/a/memory.max`)).toBe('max\n');
    expect(await fs.exists(`${ROOT}/a/cpu.max`)).toBe(false);
  });

  it('refuses a controller the group does not have with ENOENT', async () => {
    const fs = fake();
    expect(await code(fs.writeFile(`${ROOT}/cgroup.subtree_control`, '+hugetlb'))).toBe('ENOENT');
    await fs.mkdir(`${ROOT}/a`);
    expect(await code(fs.writeFile(`${ROOT}/a/cgroup.subtree_control`, '+memory'))).toBe('ENOENT');
  });

  it('keeps processes out of inner groups: no enabling with processes, no joining with controllers (EBUSY)', async () => {
    const fs = fake();
    await fs.writeFile(`${ROOT}/cgroup.subtree_control`, '+memory');
    await fs.mkdir(`${ROOT}/a`);
    const pid = fs.spawn(`${ROOT}/a`);
    expect(await code(fs.writeFile(`${ROOT}/a/cgroup.subtree_control`, '+memory'))).toBe('EBUSY');
    fs.kill(pid);
    await fs.writeFile(`${ROOT}/a/cgroup.subtree_control`, '+memory');
    const other = fs.spawn(ROOT);
    expect(await code(fs.writeFile(`${ROOT}/a/cgroup.procs`, String(other)))).toBe('EBUSY');
    expect(await code(fs.writeFile(`${ROOT}/a/cgroup.procs`, '999999'))).toBe('ESRCH');
  });

  it('refuses to disable a controller a child still enables (EBUSY)', async () => {
    const fs = fake();
    await fs.writeFile(`${ROOT}/cgroup.subtree_control`, '+memory');
    await fs.mkdir(`${ROOT}/a`);
    await fs.writeFile(`${ROOT}/a/cgroup.subtree_control`, '+memory');
    expect(await code(fs.writeFile(`${ROOT}/cgroup.subtree_control`, '-memory'))).toBe('EBUSY');
  });

  it('refuses rmdir of a group with processes, with children, or of the root (EBUSY); a missing one is ENOENT', async () => {
    const fs = fake();
    await fs.mkdir(`${ROOT}/a`);
    await fs.mkdir(`${ROOT}/a/b`);
    expect(await code(fs.rmdir(`${ROOT}/a`))).toBe('EBUSY');
    const pid = fs.spawn(`${ROOT}/a/b`);
    expect(await code(fs.rmdir(`${ROOT}/a/b`))).toBe('EBUSY');
    fs.kill(pid);
    await fs.rmdir(`${ROOT}/a/b`);
    await fs.rmdir(`${ROOT}/a`);
    expect(await code(fs.rmdir(`${ROOT}/a`))).toBe('ENOENT');
    expect(await code(fs.rmdir(ROOT))).toBe('EBUSY');
  });

  it('empties a whole subtree on cgroup.kill and reports it unpopulated', async () => {
    const fs = fake();
    await fs.mkdir(`${ROOT}/a`);
    await fs.mkdir(`${ROOT}/a/b`);
    fs.spawn(`${ROOT}/a/b`);
    fs.spawn(`${ROOT}/a/b`);
    expect(await fs.readFile(`${ROOT}/a/cgroup.events`)).toContain('populated 1');
    await fs.writeFile(`${ROOT}/a/cgroup.kill`, '1');
    expect(await fs.readFile(`${ROOT}/a/b/cgroup.procs`)).toBe('');
    expect(await fs.readFile(`${ROOT}/a/cgroup.events`)).toContain('populated 0');
  });

  it('has cgroup.kill, cgroup.freeze and cgroup.events only below the root', async () => {
    const fs = fake();
    expect(await fs.exists(`${ROOT}/cgroup.kill`)).toBe(false);
    await fs.mkdir(`${ROOT}/a`);
    expect(await fs.exists(`${ROOT}/a/cgroup.kill`)).toBe(true);
    expect(await fake({ cgroupKill: false }).exists(`${ROOT}/cgroup.kill`)).toBe(false);
  });

  it('refuses writes to read-only files and reads of cgroup.kill (EACCES), bad values (EINVAL)', async () => {
    const fs = fake();
    await fs.writeFile(`${ROOT}/cgroup.subtree_control`, '+memory +pids +cpu');
    await fs.mkdir(`${ROOT}/a`);
    expect(await code(fs.writeFile(`${ROOT}/a/memory.current`, '0'))).toBe('EACCES');
    expect(await code(fs.writeFile(`${ROOT}/a/cgroup.controllers`, 'memory'))).toBe('EACCES');
    expect(await code(fs.readFile(`${ROOT}/a/cgroup.kill`))).toBe('EACCES');
    expect(await code(fs.writeFile(`${ROOT}/a/pids.max`, 'lots'))).toBe('EINVAL');
    expect(await code(fs.writeFile(`${ROOT}/a/cpu.max`, '10 100000'))).toBe('EINVAL');
    expect(await code(fs.writeFile(`${ROOT}/a/no.such.file`, '1'))).toBe('ENOENT');
  });

  it('rounds memory.max down to pages and stops forks at pids.max (EAGAIN) up the tree', async () => {
    const fs = fake();
    await fs.writeFile(`${ROOT}/cgroup.subtree_control`, '+memory +pids');
    await fs.mkdir(`${ROOT}/a`);
    await fs.writeFile(`${ROOT}/a/memory.max`, '10000');
    expect(await fs.readFile(`${ROOT}/a/memory.max`)).toBe('8192\n');
    await fs.writeFile(`${ROOT}/a/pids.max`, '2');
    await fs.writeFile(`${ROOT}/a/cgroup.subtree_control`, '+pids');
    await fs.mkdir(`${ROOT}/a/b`);
    fs.spawn(`${ROOT}/a/b`);
    fs.spawn(`${ROOT}/a/b`);
    expect(() => fs.spawn(`${ROOT}/a/b`)).toThrow(/EAGAIN/);
    expect(await fs.readFile(`${ROOT}/a/pids.current`)).toBe('2\n');
  });

  it('lists only child groups, not interface files', async () => {
    const fs = fake();
    await fs.mkdir(`${ROOT}/a`);
    await fs.mkdir(`${ROOT}/b`);
    expect((await fs.subdirs(ROOT)).sort()).toEqual(['a', 'b']);
  });
});
