// The device rules (runtime/cgroup/devices.ts): Docker's default allow-list, a service's rules
// from its devices: and privileged:, their v1 devices.allow lines, and what they allow. The
// eBPF program built from them is tested on the kernel (test/integration/cgroup/devices-bpf.test.ts).
// Also: the v2 manager on a cgroup2 that lacks controllers (a hybrid host's).
import { describe, expect, it } from 'vitest';
import {
  ALL_DEVICES,
  DEFAULT_DEVICE_RULES,
  deviceAllowed,
  deviceRuleLine,
  serviceDeviceRules,
  v1DeviceWrites,
  type ResolvedDevice,
} from '../../../src/runtime/cgroup/devices.js';
import { deviceNumbers } from '../../../src/runtime/devices.js';
import { v2Manager } from '../../../src/runtime/cgroup/v2.js';
import { FakeCgroup2 } from '../../doubles/cgroup-fakefs.js';

const sdb: ResolvedDevice = { source: '/dev/sdb', target: '/dev/xvdb', permissions: 'r', type: 'b', major: 8, minor: 16 };

describe("Docker's default device rules", () => {
  it('are runc\'s AllowedDevices as v1 lines, after a deny of everything', () => {
    expect(v1DeviceWrites(DEFAULT_DEVICE_RULES)).toEqual([
      { file: 'devices.deny', value: 'a' },
      ...['c *:* m', 'b *:* m', 'c 1:3 rwm', 'c 1:8 rwm', 'c 1:7 rwm', 'c 5:0 rwm', 'c 1:5 rwm', 'c 1:9 rwm', 'c 136:* rwm', 'c 5:2 rwm', 'c 10:200 rwm'].map(
        (value) => ({ file: 'devices.allow', value }),
      ),
    ]);
  });

  it.each([
    ['null read-write', { type: 'c', major: 1, minor: 3, access: 'rw' }, true],
    ['a pty', { type: 'c', major: 136, minor: 7, access: 'rw' }, true],
    ['tun', { type: 'c', major: 10, minor: 200, access: 'rw' }, true],
    ['mknod of a disk', { type: 'b', major: 8, minor: 0, access: 'm' }, true],
    ['mknod of /dev/mem', { type: 'c', major: 1, minor: 1, access: 'm' }, true],
    ['reading a disk', { type: 'b', major: 8, minor: 0, access: 'r' }, false],
    ['reading /dev/mem', { type: 'c', major: 1, minor: 1, access: 'r' }, false],
    ['reading /dev/kmsg', { type: 'c', major: 1, minor: 11, access: 'r' }, false],
    ['fuse', { type: 'c', major: 10, minor: 229, access: 'rw' }, false],
    ['mknod + read of a disk in one go', { type: 'b', major: 8, minor: 0, access: 'mr' }, false],
  ] as const)('%s: %s', (_what, want, allowed) => {
    expect(deviceAllowed(DEFAULT_DEVICE_RULES, want)).toBe(allowed);
  });
});

describe("a service's rules", () => {
  it('are the defaults plus one rule per devices: node, with its permissions', () => {
    const rules = serviceDeviceRules({ privileged: false }, [sdb, { ...sdb, source: '/dev/fuse', target: '/dev/fuse', type: 'c', major: 10, minor: 229, permissions: 'rwm' }]);
    expect(rules.slice(0, DEFAULT_DEVICE_RULES.length)).toEqual(DEFAULT_DEVICE_RULES);
    expect(rules.slice(DEFAULT_DEVICE_RULES.length).map(deviceRuleLine)).toEqual(['b 8:16 r', 'c 10:229 rwm']);
    expect(deviceAllowed(rules, { type: 'b', major: 8, minor: 16, access: 'r' })).toBe(true);
    expect(deviceAllowed(rules, { type: 'b', major: 8, minor: 16, access: 'w' })).toBe(false);
    expect(deviceAllowed(rules, { type: 'b', major: 8, minor: 16, access: 'rw' })).toBe(false);
    expect(deviceAllowed(rules, { type: 'b', major: 8, minor: 17, access: 'r' })).toBe(false);
    expect(deviceAllowed(rules, { type: 'c', major: 8, minor: 16, access: 'r' })).toBe(false);
    expect(deviceAllowed(rules, { type: 'c', major: 10, minor: 229, access: 'rw' })).toBe(true);
  });

  it('of a privileged service allow every device, whatever devices: says; v1 writes `a`', () => {
    const rules = serviceDeviceRules({ privileged: true }, [sdb]);
    expect(rules).toBe(ALL_DEVICES);
    expect(v1DeviceWrites(rules)).toEqual([{ file: 'devices.deny', value: 'a' }, { file: 'devices.allow', value: 'a' }]);
    expect(deviceAllowed(rules, { type: 'b', major: 8, minor: 0, access: 'rwm' })).toBe(true);
  });

  it('write `a` only for every access: a partial one keeps its letters', () => {
    expect(deviceRuleLine({ type: 'a', major: '*', minor: '*', access: 'mwr' })).toBe('a');
    expect(deviceRuleLine({ type: 'a', major: '*', minor: '*', access: 'r' })).toBe('a *:* r');
    expect(deviceRuleLine({ type: 'b', major: 7, minor: '*', access: 'rw' })).toBe('b 7:* rw');
  });
});

describe('deviceNumbers (glibc dev_t packing)', () => {
  it.each([
    [0x0103, 1, 3],
    [0x0810, 8, 16],
    [0xfe00, 254, 0],
    // major 259 (blkext: nvme partitions), minor 300: both beyond a byte
    [(259 << 8) | (300 & 0xff) | ((300 & ~0xff) << 12), 259, 300],
  ])('%i → %i:%i', (rdev, major, minor) => {
    expect(deviceNumbers(rdev)).toEqual({ major, minor });
  });
});

describe('v2 manager on a cgroup2 lacking controllers (a hybrid host)', () => {
  const ROOT = '/sys/fs/cgroup/unified';

  it('makes a service group with device rules and no limits, enabling nothing it cannot', async () => {
    const fs = new FakeCgroup2({ root: ROOT, controllers: ['hugetlb'] });
    const group = await v2Manager(ROOT, fs.deps()).create('shop', 'web', { pids: -1 }, DEFAULT_DEVICE_RULES);
    expect(group.dirs).toEqual([`${ROOT}/stack/shop/web`]);
    expect(fs.devicePrograms.has(`${ROOT}/stack/shop/web`)).toBe(true);
    expect((await fs.readFile(`${ROOT}/stack/cgroup.subtree_control`)).trim()).toBe('');
  });

  it.each([
    ['a memory limit', { memoryBytes: 64 << 20, pids: -1 }, 'memory'],
    ['the default pids limit (2048)', {}, 'pids'],
    ['a cpu limit', { cpus: 0.5, pids: -1 }, 'cpu'],
  ])('refuses %s, naming the controller, and leaves no group', async (_what, limits, controller) => {
    const fs = new FakeCgroup2({ root: ROOT, controllers: ['hugetlb'] });
    const err = await v2Manager(ROOT, fs.deps()).create('shop', 'web', limits).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CGROUP_CONTROLLER_MISSING', message: expect.stringContaining(`has no ${controller} controller`) });
    expect(await fs.exists(`${ROOT}/stack/shop`)).toBe(false);
  });

  it('with the controllers there, still writes every limit, "unlimited" ones included', async () => {
    const fs = new FakeCgroup2({ root: ROOT, controllers: ['cpu', 'memory', 'pids'] });
    const group = await v2Manager(ROOT, fs.deps()).create('shop', 'web', { cpus: 0.5 });
    expect((await fs.readFile(`${group.dirs[0]}/memory.max`)).trim()).toBe('max');
    expect((await fs.readFile(`${group.dirs[0]}/cpu.max`)).trim()).toBe('50000 100000');
    expect((await fs.readFile(`${group.dirs[0]}/pids.max`)).trim()).toBe('2048');
  });
});
