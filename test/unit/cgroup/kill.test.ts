// Freeze → kill → thaw until empty (v1, and v2 without cgroup.kill), over the fake hierarchy.
import { describe, expect, it } from 'vitest';
import { KernelError } from '../../../src/errors.js';
import { v2Manager } from '../../../src/runtime/cgroup/index.js';
import { FakeCgroup2 } from '../../doubles/cgroup-fakefs.js';

const ROOT = '/sys/fs/cgroup';
const DIR = `${ROOT}/stack/shop/web`;

describe('killAll without cgroup.kill', () => {
  it('goes round again for a task that shows up after the first listing', async () => {
    // A fork that completes as the group thaws: its child is listed only in the next round.
    class Forking extends FakeCgroup2 {
      late: number | undefined;
      override async writeFile(path: string, data: string): Promise<void> {
        await super.writeFile(path, data);
        if (path === `${DIR}/cgroup.freeze` && data === '0' && this.late === undefined) this.late = this.spawn(DIR);
      }
    }
    const fs = new Forking({ root: ROOT, controllers: ['cpu', 'memory', 'pids'], cgroupKill: false });
    const killed: number[] = [];
    const group = await v2Manager(ROOT, { ...fs.deps(), kill: (pid) => (killed.push(pid), fs.kill(pid)) }).create('shop', 'web', {});
    const first = fs.spawn(DIR);
    await group.killAll();
    expect(killed).toEqual([first, fs.late]);
    expect(await group.pids()).toEqual([]);
  });

  it('gives up with a KernelError naming the pids that would not die', async () => {
    const fs = new FakeCgroup2({ root: ROOT, controllers: ['cpu', 'memory', 'pids'], cgroupKill: false });
    const group = await v2Manager(ROOT, { ...fs.deps(), kill: () => {} }).create('shop', 'web', {});
    const pid = fs.spawn(DIR);
    const err = await group.killAll().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).message).toBe(`kill every process in ${DIR} (left: ${pid}): EBUSY`);
    expect(await fs.readFile(`${DIR}/cgroup.freeze`)).toBe('0\n');
  });
});
