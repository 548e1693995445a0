// What a launched service sees: its own pid, uts and net namespaces, its environment, user,
// groups, capabilities and no_new_privs, its cgroups. Real kernel, root.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { capabilityMask, serviceCapabilities } from '../../../src/runtime/caps.js';
import { loadUserDb } from '../../../src/runtime/user.js';
import { describeRoot } from '../../harness/require.js';
import { testService } from '../../fixtures/launch/service.js';
import { buildLauncher, LaunchRig } from './harness.js';

const statusFields = ['grep', '-E', '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):', '/proc/self/status'];

/** `Key:\tvalue` lines → map. */
function fields(lines: string[]): Record<string, string> {
  return Object.fromEntries(lines.map((l) => l.split(':\t').map((s) => s.trim()) as [string, string]));
}

describeRoot('launch: isolation of a service', () => {
  const rig = new LaunchRig();
  beforeAll(buildLauncher);
  afterAll(() => rig.cleanup());

  it('is pid 1 with its own hostname and sees none of the host\'s processes', async () => {
    const { record, lines } = await rig.run(
      testService({ hostname: 'iso-host', command: ['sh', '-c', 'echo pid=$$; hostname; ls -d /proc/[0-9]*'] }),
    );
    expect(record.exitCode).toBe(0);
    expect(lines.slice(0, 2)).toEqual(['pid=1', 'iso-host']);
    // The shell (pid 1) expands the glob itself once `hostname` is gone: it alone is there.
    expect(lines.slice(2)).toEqual(['/proc/1']);
    expect(execFileSync('hostname', { encoding: 'utf8' }).trim()).not.toBe('iso-host');
  });

  it('holds no fd but its stdin, stdout and stderr', async () => {
    const { lines } = await rig.run(testService({ command: ['ls', '-l', '/proc/self/fd'] }));
    const fds = lines.filter((l) => l.includes(' -> ')).map((l) => l.replace(/^.* (\d+) -> /, '$1 -> '));
    // 3 is the directory ls itself is listing.
    expect(fds).toEqual(['0 -> /dev/null', expect.stringMatching(/^1 -> pipe:/), expect.stringMatching(/^2 -> pipe:/), expect.stringMatching(/^3 -> \/proc\/\d+\/fd$/)]);
  });

  it('its monitor is shielded from the OOM killer, the service is not', async () => {
    const s = await rig.start(testService({ command: ['sleep', '3600'] }));
    const score = (pid: number | string) => readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim();
    // Some sandboxes refuse a negative score even to root (EIO): there the shield is off.
    const shieldable = spawnSync('sh', ['-c', 'echo -1000 > /proc/self/oom_score_adj']).status === 0;
    expect(score(s.monitorPid)).toBe(shieldable ? '-1000' : score('self'));
    expect(score(s.pid)).toBe(score('self'));
    await s.group.killAll();
  });

  it('gets exactly the environment it was given, and finds its program on Docker\'s default PATH', async () => {
    const environment = { FOO: 'bar', EMPTY: '', WITH_EQUALS: 'a=b c' };
    const { lines } = await rig.run(testService({ command: ['env'], environment }));
    expect(lines.sort()).toEqual(['EMPTY=', 'FOO=bar', 'WITH_EQUALS=a=b c']);
  });

  it('starts in its working_dir', async () => {
    const { lines } = await rig.run(testService({ command: ['pwd'], workingDir: '/usr/share' }));
    expect(lines).toEqual(['/usr/share']);
  });

  it('as root: Docker\'s default capabilities, nothing inheritable or ambient, no_new_privs', async () => {
    const { lines } = await rig.run(testService({ command: statusFields }));
    expect(fields(lines)).toMatchObject({
      Uid: '0\t0\t0\t0',
      Gid: '0\t0\t0\t0',
      CapInh: '0000000000000000',
      CapPrm: '00000000800405fb',
      CapEff: '00000000800405fb',
      CapBnd: '00000000800405fb',
      CapAmb: '0000000000000000',
      NoNewPrivs: '1',
    });
  });

  it('cap_add and cap_drop change the effective and bounding sets', async () => {
    const service = testService({ command: statusFields, capAdd: ['NET_ADMIN'], capDrop: ['kill'] });
    const { lines } = await rig.run(service);
    const expected = ((0x800405fbn | (1n << 12n)) & ~(1n << 5n)).toString(16).padStart(16, '0');
    expect(capabilityMask(serviceCapabilities(service)).toString(16).padStart(16, '0')).toBe(expected);
    expect(fields(lines)).toMatchObject({ CapEff: expected, CapBnd: expected });
  });

  it('cap_add: [ALL] keeps what the host gives and nothing more (a capability missing from stack\'s own bounding set is not an error)', async () => {
    const service = testService({ command: statusFields, capAdd: ['ALL'] });
    const { lines } = await rig.run(service);
    const own = /CapBnd:\s+([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]!;
    const expected = (capabilityMask(serviceCapabilities(service)) & BigInt(`0x${own}`)).toString(16).padStart(16, '0');
    expect(fields(lines)).toMatchObject({ CapEff: expected, CapBnd: expected });
  });

  it('as `nobody` from the host\'s passwd: its ids, no capabilities, the bounding set still bounded', async () => {
    const { lines } = await rig.run(testService({ command: statusFields, user: 'nobody' }));
    expect(fields(lines)).toMatchObject({
      Uid: '65534\t65534\t65534\t65534',
      Gid: '65534\t65534\t65534\t65534',
      Groups: '',
      CapPrm: '0000000000000000',
      CapEff: '0000000000000000',
      CapBnd: '00000000800405fb',
      NoNewPrivs: '1',
    });
  });

  it('a user\'s supplementary groups are set (uid:gid too)', async () => {
    const host = loadUserDb();
    const userDb = { passwd: host.passwd, group: [...host.group, { name: 'extra', gid: 4242, members: ['daemon'] }, { name: 'more', gid: 4343, members: ['daemon'] }] };
    const { lines } = await rig.run(testService({ command: statusFields, user: 'daemon' }), { userDb });
    expect(fields(lines)).toMatchObject({ Uid: '1\t1\t1\t1', Gid: '1\t1\t1\t1', Groups: '4242 4343' });
    const explicit = await rig.run(testService({ command: statusFields, user: '1234:5678' }));
    expect(fields(explicit.lines)).toMatchObject({ Uid: '1234\t1234\t1234\t1234', Gid: '5678\t5678\t5678\t5678', Groups: '' });
  });

  it('runs in its cgroups from its first instruction', async () => {
    const { lines } = await rig.run(testService({ command: ['cat', '/proc/self/cgroup'] }));
    for (const controller of ['memory', 'pids', 'freezer']) {
      expect(lines.find((l) => l.split(':')[1]?.split(',').includes(controller))).toMatch(new RegExp(`:/stack/${rig.project}/s\\d+$`));
    }
  });

  it('enters the network namespace it is given', async () => {
    const name = `stk-lt${randomBytes(4).toString('hex')}`;
    execFileSync('ip', ['netns', 'add', name]);
    try {
      const { lines } = await rig.run(testService({ command: ['readlink', '/proc/self/ns/net'] }), { netns: `/run/netns/${name}` });
      expect(lines).toEqual([`net:[${statSync(`/run/netns/${name}`).ino}]`]);
    } finally {
      execFileSync('ip', ['netns', 'del', name]);
    }
  });
});
