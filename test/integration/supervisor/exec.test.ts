// execInService: a command runs inside a running service — its pid, net, uts, ipc and mount
// namespaces, its cgroups, its user and capabilities, its environment — and its exit code and
// output come back. Real kernel, root.
import { readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execInService, execRequest, type ExecTarget } from '../../../src/runtime/exec.js';
import { isSameProcess } from '../../../src/runtime/proc.js';
import { describeRoot } from '../../harness/require.js';
import { buildNative, ProjectRig } from './rig.js';

describeRoot('supervisor: exec inside a service', () => {
  const rig = new ProjectRig();
  let web: ExecTarget;
  let nobody: ExecTarget;

  beforeAll(async () => {
    buildNative();
    await rig.up({
      web: { command: ['sleep', '3600'], environment: { GREETING: 'hello', PATH: '/usr/local/bin:/usr/bin:/bin' } },
      worker: { command: ['sleep', '3600'], user: 'nobody' },
    });
    const target = async (name: string): Promise<ExecTarget> => {
      const record = (await rig.record(name))!;
      return { service: rig.spec!.services[name]!, pid: record.process!.pid, startTime: record.process!.startTime, cgroupDirs: record.cgroups };
    };
    web = await target('web');
    nobody = await target('worker');
  });
  afterAll(() => rig.cleanup());

  it('runs in the service namespaces: its hostname, its pid 1, its netns and address', async () => {
    const r = await execInService(web, ['sh', '-c', 'hostname; tr "\\0" " " < /proc/1/cmdline; echo; readlink /proc/self/ns/net /proc/self/ns/pid /proc/self/ns/mnt; ip -4 -o addr show eth0']);
    expect(r).toMatchObject({ exitCode: 0, signal: null, timedOut: false });
    const [hostname, pid1, net, pid, mnt, addr] = r.stdout.split('\n');
    expect(hostname).toBe('web');
    expect(pid1?.trim()).toBe('sleep 3600');
    expect(net).toBe(readlinkSync(`/proc/${web.pid}/ns/net`));
    expect(pid).toBe(readlinkSync(`/proc/${web.pid}/ns/pid`));
    expect(mnt).toBe(readlinkSync(`/proc/${web.pid}/ns/mnt`));
    expect(addr).toContain(`inet ${rig.address('web')}/24`);
  });

  it("joins the service's cgroups", async () => {
    const r = await execInService(web, ['cat', '/proc/self/cgroup']);
    const lines = r.stdout.trim().split('\n');
    const ours = lines.filter((l) => l.endsWith(`/stack/${rig.project}/web`));
    // One line per v1 hierarchy the service was put in.
    expect(ours.length).toBe(web.cgroupDirs.length);
  });

  it("runs as the service's user with its capabilities, under no_new_privs, with its environment", async () => {
    const root = await execInService(web, ['sh', '-c', 'id -u; grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status; echo $GREETING $EXTRA']);
    const [uid, capEff, capBnd, nnp, env] = root.stdout.trim().split('\n');
    expect(uid).toBe('0');
    // podman's default set: 0x00000000800405fb.
    expect(capEff).toMatch(/CapEff:\s+00000000800405fb/);
    expect(capBnd).toMatch(/CapBnd:\s+00000000800405fb/);
    expect(nnp).toMatch(/NoNewPrivs:\s+1/);
    expect(env).toBe('hello');
    const other = await execInService(nobody, ['sh', '-c', 'id -u; grep CapEff /proc/self/status'], {});
    expect(other.stdout).toMatch(/^65534\nCapEff:\s+0000000000000000\n$/);
    const asUser = await execInService(web, ['id', '-u'], { user: 'nobody', env: { EXTRA: 'x' } });
    expect(asUser.stdout).toBe('65534\n');
  });

  it('passes the exit code and both streams through', async () => {
    const r = await execInService(web, ['sh', '-c', 'echo out; echo err >&2; exit 7']);
    expect(r).toMatchObject({ exitCode: 7, stdout: 'out\n', stderr: 'err\n', timedOut: false });
  });

  it('kills a command that outlives its timeout, with what it left behind in its process group', async () => {
    const started = Date.now();
    const r = await execInService(web, ['sh', '-c', 'sleep 30 & echo started; wait'], { timeoutMs: 300 });
    expect(r).toMatchObject({ timedOut: true, exitCode: null, stdout: 'started\n' });
    expect(Date.now() - started).toBeLessThan(5000);
    // What is left of it in the service: at most a zombie (pid 1, `sleep`, reaps nothing).
    const left = await execInService(web, ['sh', '-c', 'cat /proc/[0-9]*/stat']);
    const sleeps = left.stdout.split('\n').filter((l) => l.includes('(sleep)') && !l.startsWith('1 '));
    expect(sleeps.every((l) => / Z /.test(l))).toBe(true);
  });

  it('a program that does not exist is COMMAND_NOT_FOUND naming the service', async () => {
    await expect(execInService(web, ['no-such-program-stk'])).rejects.toMatchObject({
      code: 'COMMAND_NOT_FOUND',
      message: expect.stringContaining('service "web"'),
    });
  });

  it('a process that is gone, or whose pid is now another process, is SERVICE_NOT_RUNNING', async () => {
    await expect(execInService({ ...web, startTime: web.startTime + 1 }, ['true'])).rejects.toMatchObject({ code: 'SERVICE_NOT_RUNNING' });
    expect(isSameProcess(web.pid, web.startTime)).toBe(true);
  });
});

describe('exec request', () => {
  const target: ExecTarget = {
    service: { name: 'x', environment: { A: '1', PATH: '/opt/bin' }, capAdd: [], capDrop: ['ALL'], user: 'nobody' },
    pid: 42,
    startTime: 7,
    cgroupDirs: ['/sys/fs/cgroup/pids/stack/p/x'],
  };
  const db = { passwd: [{ name: 'nobody', uid: 65534, gid: 65534, home: '/' }], group: [] };

  it("carries the service's identity, environment (overridable) and search path", () => {
    const pairs = execRequest(target, ['ls', '-l'], { env: { A: '2' }, timeoutMs: 1500 }, db);
    expect(pairs.filter(([key]) => !key.startsWith('seccomp_'))).toEqual([
      ['pid', '42'], ['start_time', '7'], ['uid', '65534'], ['gid', '65534'], ['caps', '0'], ['cwd', '/'],
      ['search_path', '/opt/bin'], ['timeout_ms', '1500'], ['cgroup', '/sys/fs/cgroup/pids/stack/p/x'],
      ['env', 'A=2'], ['env', 'PATH=/opt/bin'], ['arg', 'ls'], ['arg', '-l'],
    ]);
  });

  it("carries the service's seccomp filter (the default unless the service says otherwise), never the helper's own", () => {
    const pairs = execRequest(target, ['ls'], {}, db);
    expect(pairs.find(([key]) => key === 'seccomp_default')).toEqual(['seccomp_default', 'errno:1']);
    expect(pairs.filter(([key]) => key === 'seccomp_rule').length).toBeGreaterThan(300);
    const unconfined = execRequest({ ...target, service: { ...target.service, seccomp: { mode: 'unconfined' } } }, ['ls'], {}, db);
    expect(unconfined.filter(([key]) => key.startsWith('seccomp_'))).toEqual([]);
  });

  it('refuses NUL bytes and an empty command', () => {
    expect(() => execRequest(target, ['echo', 'a\0b'], {}, db)).toThrowError(expect.objectContaining({ code: 'NUL_IN_VALUE' }));
    expect(() => execRequest(target, [], {}, db)).toThrowError(expect.objectContaining({ code: 'EXEC_NO_COMMAND' }));
  });
});
