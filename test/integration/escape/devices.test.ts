// Escape attempts through devices, capabilities and pids (issue 9), each by a root service with
// the default settings — the default view as start-service builds it (this host's hidden paths,
// nodev scratch folders) — mknod + open of the host's disk, a raw socket, raising its own limits
// (rlimits, its cgroup's pids.max), a fork bomb. Each fails and the host is unchanged; `cap_add`,
// `devices:` and `privileged: true` give what they ask for, ping works without NET_RAW, and
// pids_limit is honoured. One test runs without a view, on purpose: it isolates the device
// cgroup's rule (every writable folder of the view is nodev, which refuses the open first).
// Real kernel, root, read-only on the disk (never a write).
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { netnsAdd, netnsDelete, netnsPath } from '../../../src/network/netns.js';
import { openPingGroupRange } from '../../../src/network/ping-group.js';
import { DEFAULT_PIDS_LIMIT } from '../../../src/runtime/cgroup/limits.js';
import { serviceHides } from '../../../src/runtime/hidden.js';
import { stateRoots } from '../../../src/state/paths.js';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, capabilityMask } from '../../../src/runtime/caps.js';
import type { ServiceView } from '../../../src/runtime/view.js';
import type { Service } from '../../../src/spec/project.js';
import { UserError } from '../../../src/errors.js';
import { describeWith } from '../../harness/require.js';
import { testService } from '../../fixtures/launch/service.js';
import { buildLauncher, LaunchRig } from '../launch/harness.js';

/**
 * A block device this test process can open: the disk holding the host's root first (from
 * /proc/self/mountinfo), else another of /sys/dev/block (some sandboxes refuse even root the
 * root disk). Read only, never written.
 */
function probeDisk(): { name: string; major: number; minor: number } {
  const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === '/');
  const rootDev = line?.split(' ')[2] ?? '';
  const all = readdirSync('/sys/dev/block');
  for (const devno of [rootDev, ...all.filter((d) => !d.startsWith('7:')), ...all.filter((d) => d.startsWith('7:'))]) {
    let name: string;
    try {
      name = basename(readlinkSync(`/sys/dev/block/${devno}`));
      closeSync(openSync(`/dev/${name}`, 'r'));
    } catch {
      continue;
    }
    const [major, minor] = devno.split(':').map(Number);
    return { name, major: major!, minor: minor! };
  }
  throw new Error('no block device this host lets root open');
}

describeWith({ root: true, commands: ['setcap', 'python3'] }, 'escape: devices, capabilities and pids', () => {
  const rig = new LaunchRig();
  const netns = `stk-esc${randomBytes(4).toString('hex')}`;
  let disk: { name: string; major: number; minor: number };
  let view: ServiceView;

  beforeAll(() => {
    buildLauncher();
    disk = probeDisk();
    const files = { hosts: join(rig.dir, 'hosts'), hostname: join(rig.dir, 'hostname'), resolvConf: join(rig.dir, 'resolv.conf') };
    writeFileSync(files.hosts, '127.0.0.1\tlocalhost\n');
    writeFileSync(files.hostname, 'svc\n');
    writeFileSync(files.resolvConf, 'nameserver 10.9.8.1\n');
    // The default view: what start-service sends for a service with no x-stack-hide/x-stack-show (this process's state roots).
    view = { etcFiles: files, mounts: [], hide: serviceHides(stateRoots(), testService({ command: null })) };
  });

  afterAll(async () => {
    await rig.cleanup();
    netnsDelete(netns);
  });

  /** Runs `script` as a root service in the default view, or on the host's root when `noView` (the one cgroup-only test). */
  async function run(script: string, service: Partial<Service> = {}, noView = false) {
    const { record, lines } = await rig.run(testService({ command: ['sh', '-c', script], ...service }), noView ? {} : { view });
    expect(record.exitCode).toBe(0);
    return lines;
  }

  /** mknod of the host's disk in `dir`, then a read of one block: prints mknod-ok/-refused, then why the open failed (or opened). */
  const mknodAndRead = (dir: string) =>
    `mknod ${dir}/disk b ${disk.major} ${disk.minor} 2>/dev/null && echo mknod-ok || echo mknod-refused; ` +
    `if [ -e ${dir}/disk ]; then dd if=${dir}/disk of=/dev/null bs=512 count=1 2>&1 | grep -o -e 'Operation not permitted' -e 'Permission denied' || echo opened; fi; ` +
    `rm -f ${dir}/disk; true`;
  /** Every folder of the default view a root service can write in. */
  const writable = ['/', '/tmp', '/var/tmp', '/run', '/dev', '/dev/shm'];

  it('by default (the default view) mknod of the host disk is refused (no CAP_MKNOD) in every writable folder; with cap_add MKNOD it is made but cannot be opened (all are nodev)', async () => {
    for (const dir of writable) expect(await run(mknodAndRead(dir === '/' ? '' : dir))).toEqual(['mknod-refused']);
    for (const dir of writable) expect(await run(mknodAndRead(dir === '/' ? '' : dir), { capAdd: ['MKNOD'] })).toEqual(['mknod-ok', 'Permission denied']);
    expect(await run(`dd if=/dev/${disk.name} of=/dev/null bs=512 count=1 2>/dev/null && echo opened || echo refused`)).toEqual(['refused']); // not in its /dev
  });

  it('without a view, on a folder that allows device nodes (isolates the device cgroup): cap_add MKNOD makes the node, opening it fails; privileged opens it', async () => {
    expect(await run(mknodAndRead(rig.dir), { capAdd: ['MKNOD'] }, true)).toEqual(['mknod-ok', 'Operation not permitted']);
    expect(await run(mknodAndRead(rig.dir), { privileged: true }, true)).toEqual(['mknod-ok', 'opened']);
  });

  it('privileged: true opens the host disk (read only) through the view\'s /dev', async () => {
    const open = `dd if=/dev/${disk.name} of=/dev/null bs=512 count=1 2>/dev/null && echo opened || echo refused`;
    expect(await run(open, { privileged: true })).toEqual(['opened']);
  });

  it('devices: gives that one device at its target, and no other', async () => {
    const devices = [{ source: '/dev/zero', target: '/dev/myzero', permissions: 'rwm' }];
    const script = `head -c 16 /dev/myzero | wc -c; dd if=/dev/${disk.name} of=/dev/null count=1 2>/dev/null && echo opened || echo refused`;
    expect(await run(script, { devices })).toEqual(['16', 'refused']);
    // The cgroup is the gate: a mapped disk read-only ("r") can be read but not opened for writing.
    const ro = [{ source: `/dev/${disk.name}`, target: '/dev/disk0', permissions: 'r' }];
    const lines = await run('dd if=/dev/disk0 of=/dev/null count=1 2>/dev/null && echo opened; (exec 3>>/dev/disk0) 2>&1 | grep -o "Operation not permitted"', { devices: ro });
    expect(lines).toEqual(['opened', 'Operation not permitted']);
  });

  it('a raw socket is refused by default and works with cap_add NET_RAW', async () => {
    const script = `/usr/bin/python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); print("raw")' 2>&1 | tail -1`;
    expect((await run(script))[0]).toMatch(/PermissionError|Operation not permitted/);
    expect(await run(script, { capAdd: ['NET_RAW'] })).toEqual(['raw']);
  });

  it('ping works without NET_RAW in a netns whose ping_group_range stack opened', async () => {
    netnsAdd(netns);
    execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    openPingGroupRange(netns);
    expect(execFileSync('ip', ['netns', 'exec', netns, 'cat', '/proc/sys/net/ipv4/ping_group_range'], { encoding: 'utf8' }).trim().split(/\s+/)).toEqual(['0', '2147483647']);
    // A copy without the file capability (ping ships with cap_net_raw=ep, which no exec gets without NET_RAW in its bounding set).
    const ping = join(rig.dir, 'ping');
    copyFileSync('/usr/bin/ping', ping);
    // The view's /tmp is its own: the copy's folder is bound in (nosuid, so no file capability could count either).
    const withPing: ServiceView = { ...view, mounts: [{ type: 'bind', source: rig.dir, target: '/pingbin', readOnly: true }] };
    const lines = await rig.run(testService({ command: ['/pingbin/ping', '-c1', '-W5', '127.0.0.1'] }), { netns: netnsPath(netns), view: withPing });
    expect(lines.record.exitCode).toBe(0);
    expect(lines.lines.join('\n')).toMatch(/1 received/);
  });

  it('a program with file capabilities the service lacks is refused with a hint to add them (cap_add gives them back)', async () => {
    // A copy of `true` that carries cap_net_raw=ep, as Debian's ping does; no view, so the file's own mount counts.
    const prog = join(rig.dir, 'needs-net-raw');
    copyFileSync('/usr/bin/true', prog);
    execFileSync('setcap', ['cap_net_raw=ep', prog]);
    const refused = await rig.run(testService({ command: [prog] })).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UserError);
    expect(refused).toMatchObject({ code: 'COMMAND_NOT_PERMITTED' });
    expect((refused as UserError).hint).toContain('cap_add');
    const allowed = await rig.run(testService({ command: [prog], capAdd: ['NET_RAW'] }));
    expect(allowed.record.exitCode).toBe(0);
  });

  /** A 64-bit capability mask as /proc/PID/status prints it. */
  const hex = (mask: bigint) => mask.toString(16).padStart(16, '0');
  /** stack's own bounding set: no process (privileged services included) can hold a capability outside it. */
  const ownBounding = () => BigInt(`0x${/CapBnd:\s+([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]!}`);
  const SYS_RESOURCE = 1n << BigInt(ALL_CAPABILITIES.indexOf('CAP_SYS_RESOURCE'));

  it('privileged: true bounds the service by every capability the kernel knows (those stack holds); the default set is podman\'s', async () => {
    const last = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    // caps.ts names every capability of this kernel: privileged asks for all of them.
    expect(ALL_CAPABILITIES).toHaveLength(last + 1);
    const kernelAll = (1n << BigInt(last + 1)) - 1n;
    const status = 'grep -E "^Cap(Bnd|Eff|Prm)" /proc/self/status';
    const privileged = await run(status, { privileged: true });
    // A capability outside stack's own bounding set cannot be given to any child (this machine,
    // itself a container, lacks SYS_RESOURCE even in pid 1); every other one is there.
    const expected = hex(kernelAll & ownBounding());
    expect(privileged).toEqual([`CapPrm:\t${expected}`, `CapEff:\t${expected}`, `CapBnd:\t${expected}`]);
    const defaults = hex(capabilityMask(DEFAULT_CAPABILITIES));
    expect(await run(status)).toEqual([`CapPrm:\t${defaults}`, `CapEff:\t${defaults}`, `CapBnd:\t${defaults}`]);
    expect(capabilityMask(DEFAULT_CAPABILITIES) & SYS_RESOURCE).toBe(0n);
  });

  it('by default a service cannot raise its own limits: a lowered hard rlimit stays lowered, its pids.max is not writable', async () => {
    // Lowering the hard limit is allowed; raising it back needs CAP_SYS_RESOURCE.
    const raise = [
      'import resource',
      'soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)',
      'resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, hard - 1), hard - 1))',
      'try:',
      '    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, hard - 1), hard))',
      '    print("raised")',
      'except (PermissionError, ValueError) as e:',
      '    print("refused", e)',
    ].join('\n');
    const script = `/usr/bin/python3 -c '${raise}'`;
    expect((await run(script))[0]).toMatch(/^refused .*Operation not permitted|^refused .*not allowed to raise/);
    // With the capability (and only where stack itself holds it) the raise goes through.
    const withCap = (await run(script, { capAdd: ['SYS_RESOURCE'] }))[0];
    if (ownBounding() & SYS_RESOURCE) expect(withCap).toBe('raised');
    else expect(withCap).toMatch(/^refused/);

    // Its cgroup's pids.max, seen through the view (/sys read-only there): the write fails and the limit holds.
    const write =
      `for f in $(awk -F: '$2=="pids" {print "/sys/fs/cgroup/pids" $3 "/pids.max"} $1=="0" && $3!="/" {print "/sys/fs/cgroup" $3 "/pids.max"}' /proc/self/cgroup); do ` +
      `[ -e "$f" ] || continue; echo found; (echo max > "$f") 2>/dev/null && echo written || echo refused; cat "$f"; done`;
    const { record, lines, started } = await rig.run(testService({ command: ['sh', '-c', write] }), { view });
    expect(record.exitCode).toBe(0);
    expect(lines).toEqual(['found', 'refused', String(DEFAULT_PIDS_LIMIT)]);
    expect(readFileSync(started.group.controllerFile('pids', 'pids.max'), 'utf8').trim()).toBe(String(DEFAULT_PIDS_LIMIT));
  });

  it('a fork bomb stops at the default pids limit (2048); pids_limit: 100 is honoured; the host keeps its pids', async () => {
    const hostMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    // Forks sleepers until fork fails (EAGAIN), counts them, kills them (bounded at 5000).
    const bomb = [
      'import os, signal, time',
      'kids = []',
      'try:',
      '    while len(kids) < 5000:',
      '        pid = os.fork()',
      '        if pid == 0:',
      '            time.sleep(30); os._exit(0)',
      '        kids.append(pid)',
      'except OSError:',
      '    pass',
      'print(len(kids), flush=True)',
      'for k in kids: os.kill(k, signal.SIGKILL)',
      'for k in kids: os.waitpid(k, 0)',
    ].join('\n');
    const forks = async (service: Partial<Service> = {}) => {
      const { record, lines } = await rig.run(testService({ command: ['/usr/bin/python3', '-c', bomb], ...service }), { view });
      expect(record.exitCode).toBe(0);
      return Number(lines[0]);
    };
    const counted = await forks();
    expect(counted).toBeLessThan(DEFAULT_PIDS_LIMIT);
    expect(counted).toBeGreaterThan(DEFAULT_PIDS_LIMIT - 10);
    const limited = await forks({ limits: { pids: 100 } });
    expect(limited).toBeLessThan(100);
    expect(limited).toBeGreaterThan(90);
    expect(Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'))).toBe(hostMax);
    // The host can still fork.
    expect(execFileSync('sh', ['-c', 'echo forked'], { encoding: 'utf8' }).trim()).toBe('forked');
  });
});
