// A cpuset.cpus the kernel refuses is the spec's `cpuset` when it names cpus the parent group
// does not give (EINVAL) or the host does not have (ERANGE); any other refusal is left as the
// kernel said it. Over a CgroupFs whose writes fail as cgroupfs's do (errno on the write).
import { describe, expect, it } from 'vitest';
import { cpuList, writeCpuset } from '../../../src/runtime/cgroup/io.js';
import type { CgroupFs } from '../../../src/runtime/cgroup/fs.js';
import { KernelError, UserError } from '../../../src/errors.js';

/** A cgroupfs whose cpuset.cpus write fails with `code`, its parent giving `parent`. */
function refusing(code: string, parent: string): CgroupFs & { read: string[] } {
  const read: string[] = [];
  const fail = (): never => {
    throw Object.assign(new Error(`${code}: refused, write`), { code, syscall: 'write' });
  };
  return {
    read,
    mkdir: async () => undefined,
    rmdir: async () => undefined,
    readFile: async (path) => (read.push(path), `${parent}\n`),
    writeFile: async () => fail(),
    writeEach: async () => fail(),
    exists: async () => true,
    isDirectory: async () => true,
    subdirs: async () => [],
  };
}

const file = '/sys/fs/cgroup/cpuset/stack/p/web/cpuset.cpus';

describe('writeCpuset', () => {
  it('tells cpus past the host\'s (ERANGE) with the cpus the parent gives', async () => {
    const fs = refusing('ERANGE', '0-1');
    const e = await writeCpuset(fs, file, '0-63', 'cpuset.cpus').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect(e).toMatchObject({ code: 'CPUSET_UNAVAILABLE', message: 'cpuset 0-63: not cpus this host gives its services (it gives 0-1)' });
    expect(fs.read).toEqual(['/sys/fs/cgroup/cpuset/stack/p/cpuset.cpus']);
  });

  it('tells cpus the parent does not give (EINVAL), from v2\'s effective list', async () => {
    const e = await writeCpuset(refusing('EINVAL', '0-1,3'), file, '2', 'cpuset.cpus.effective').catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'CPUSET_UNAVAILABLE', message: 'cpuset 2: not cpus this host gives its services (it gives 0-1,3)' });
  });

  it('tells a cpu number past 2^32 (EOVERFLOW), and a parent that gives none', async () => {
    const e = await writeCpuset(refusing('EOVERFLOW', ''), file, '4294967296', 'cpuset.cpus').catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'CPUSET_UNAVAILABLE', message: 'cpuset 4294967296: not cpus this host gives its services (it gives none)' });
    expect((e as UserError).hint).toContain("the host's (/sys/devices/system/cpu/online)");
  });

  it("leaves an EINVAL for cpus the parent gives (a sibling's cpu_exclusive) as the kernel said it", async () => {
    const e = await writeCpuset(refusing('EINVAL', '0-3'), file, '0-1', 'cpuset.cpus').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KernelError);
    expect((e as KernelError).errno).toBe('EINVAL');
  });
});

describe('cpuList', () => {
  it('reads the kernel\'s lists and refuses what is none', () => {
    expect([...cpuList('0-2,5')!]).toEqual([0, 1, 2, 5]);
    expect(cpuList('')?.size).toBe(0);
    expect(cpuList('3-1')).toBeUndefined();
    expect(cpuList('a')).toBeUndefined();
  });
});
