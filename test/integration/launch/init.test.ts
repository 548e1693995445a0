// `init: true`: the launcher's own init is the service's pid 1, with the workload as its child
// (pid 2): it reaps orphans, forwards signals, runs under the workload's privileges and hands
// the workload's own end (code or signal) to the exit record. Real kernel, root, no tini.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launch } from '../../../src/runtime/launch.js';
import { readLogLines } from '../../../src/runtime/logs.js';
import { stopService } from '../../../src/runtime/stop.js';
import { describeRoot } from '../../harness/require.js';
import { testService } from '../../fixtures/launch/service.js';
import { buildLauncher, LaunchRig, type Started } from './harness.js';

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Fields of /proc/PID/stat after the command name: [state, ppid, pgrp, ...]; undefined when gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Host pids whose parent is `pid` (zombies included): this kernel has no /proc/PID/task/TID/children. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((p) => statFields(p)?.[1] === String(pid));
}

/** The lines of /proc/PID/status that say who a process is and what it may do. */
function privileges(pid: number): string[] {
  return readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .filter((l) => /^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):/.test(l));
}

/** Waits until the service's log has `line`. */
async function logged(s: Started, line: string): Promise<void> {
  for (let i = 0; i < 2000 && !readLogLines(s.logPath).some((l) => l.text === line); i++) await pause(5);
  expect(readLogLines(s.logPath).map((l) => l.text)).toContain(line);
}

/** The workload under the init: its single child. */
async function workloadOf(s: Started): Promise<number> {
  for (let i = 0; i < 2000; i++) {
    const [child] = childrenOf(s.pid);
    if (child !== undefined) return child;
    await pause(5);
  }
  throw new Error(`the init ${s.pid} has no child`);
}

describeRoot('launch: init: true', () => {
  const rig = new LaunchRig();
  beforeAll(buildLauncher);
  afterAll(() => rig.cleanup());

  it('runs the workload as pid 2 under the launcher\'s init and records its exit code', async () => {
    const { record, lines, started } = await rig.run(testService({ init: true, command: ['sh', '-c', 'echo pid=$$; exit 5'] }));
    expect(lines).toEqual(['pid=2']);
    expect(record).toMatchObject({ pid: started.pid, exitCode: 5, signal: null });
  });

  it('the init is named stack-init, and runs as the workload\'s user with its capabilities and no_new_privs', async () => {
    const s = await rig.start(testService({ init: true, user: 'nobody', capDrop: ['ALL'], command: ['sleep', '3600'] }));
    const workload = await workloadOf(s);
    expect(readFileSync(`/proc/${s.pid}/comm`, 'utf8').trim()).toBe('stack-init');
    const nsPid = (pid: number): string | undefined => readFileSync(`/proc/${pid}/status`, 'utf8').match(/^NSpid:\t\d+\t(\d+)$/m)?.[1];
    expect([nsPid(s.pid), nsPid(workload)]).toEqual(['1', '2']);
    expect(privileges(s.pid)).toEqual(privileges(workload));
    expect(privileges(s.pid)).toContain('NoNewPrivs:\t1');
    expect(privileges(s.pid).find((l) => l.startsWith('Uid:'))).toMatch(/^Uid:\t65534\t/);
    expect(statFields(workload)?.[2]).toBe(String(workload)); // its own process group
    await stopService({ ...s, cgroup: s.group }, { signal: 'SIGTERM', graceMs: 10_000 });
  });

  it('reaps the zombie of an orphaned grandchild', async () => {
    // The inner sh exits at once; its background `sleep` is orphaned to pid 1, then exits.
    const s = await rig.start(testService({ init: true, command: ['sh', '-c', 'sh -c "sleep 0.1 &"; echo spawned; exec sleep 3600'] }));
    await logged(s, 'spawned');
    await pause(300);
    const children = childrenOf(s.pid);
    expect(children.map((p) => statFields(p)?.[0])).toEqual(['S']); // the workload alone, no zombie
    await stopService({ ...s, cgroup: s.group }, { signal: 'SIGTERM', graceMs: 10_000 });
  });

  it('without the init, the same orphan stays a zombie (the check above can see one)', async () => {
    const s = await rig.start(testService({ command: ['sh', '-c', 'sh -c "sleep 0.1 &"; echo spawned; exec sleep 3600'] }));
    await logged(s, 'spawned');
    await pause(300);
    expect(childrenOf(s.pid).map((p) => statFields(p)?.[0])).toEqual(['Z']);
    await stopService({ ...s, cgroup: s.group }, { signal: 'SIGTERM', graceMs: 10_000 });
  });

  it('forwards signals to the workload: a handled SIGTERM ends it with its own exit code', async () => {
    const script = 'trap "echo got HUP" HUP; trap "echo got USR2" USR2; trap "echo got TERM; exit 7" TERM; echo ready; while :; do sleep 0.05; done';
    const s = await rig.start(testService({ init: true, command: ['sh', '-c', script] }));
    await logged(s, 'ready');
    process.kill(s.pid, 'SIGHUP');
    await logged(s, 'got HUP');
    process.kill(s.pid, 'SIGUSR2');
    await logged(s, 'got USR2');
    const result = await stopService({ ...s, cgroup: s.group }, { signal: 'SIGTERM', graceMs: 10_000 });
    expect(result).toMatchObject({ outcome: 'exited', record: { exitCode: 7, signal: null } });
    expect(readLogLines(s.logPath).map((l) => l.text)).toContain('got TERM');
  });

  it('`sleep` under the init dies of the forwarded SIGTERM: no kill, and the record says SIGTERM', async () => {
    const s = await rig.start(testService({ init: true, command: ['sleep', '3600'] }));
    const result = await stopService({ ...s, cgroup: s.group }, { signal: 'SIGTERM', graceMs: 10_000 });
    expect(result).toMatchObject({ outcome: 'exited', record: { exitCode: null, signal: 'SIGTERM' } });
  });

  it('a node server under the init dies of the forwarded SIGTERM (it is no pid 1 that drops it)', async () => {
    const s = await rig.start(testService({ init: true, command: ['node', '-e', 'require("http").createServer().listen(8080); console.log("ready")'] }));
    await logged(s, 'ready');
    const result = await stopService({ ...s, cgroup: s.group }, { signal: 'SIGTERM', graceMs: 10_000 });
    expect(result).toMatchObject({ outcome: 'exited', record: { exitCode: null, signal: 'SIGTERM' } });
  });

  it('reports a workload killed by a signal as such', async () => {
    const { record } = await rig.run(testService({ init: true, command: ['sh', '-c', 'kill -USR1 $$'] }));
    expect(record).toMatchObject({ exitCode: null, signal: 'SIGUSR1' });
  });

  it('a stop whose grace runs out kills the init and the workload: SIGKILL is recorded', async () => {
    const s = await rig.start(testService({ init: true, command: ['sh', '-c', 'trap "echo ignoring TERM" TERM; echo ready; while :; do sleep 0.05; done'] }));
    await logged(s, 'ready');
    const result = await stopService({ ...s, cgroup: s.group }, { signal: 'SIGTERM', graceMs: 300 });
    expect(result).toMatchObject({ outcome: 'killed-after-grace', record: { signal: 'SIGKILL' } });
    expect(await s.group.pids()).toEqual([]);
  });

  it('a program that does not exist still fails the launch with COMMAND_NOT_FOUND, leaving nothing', async () => {
    const group = await rig.group('missing');
    const paths = rig.paths('missing');
    const attempt = launch({ service: testService({ init: true, command: ['no-such-program-stk'] }), cgroup: group, netns: 'new', ...paths });
    await expect(attempt).rejects.toMatchObject({ code: 'COMMAND_NOT_FOUND' });
    expect(await group.pids()).toEqual([]);
  });

  it('an exit code 0 is recorded as 0 (service_completed_successfully)', async () => {
    const { record } = await rig.run(testService({ init: true, command: ['true'] }));
    expect(record).toMatchObject({ exitCode: 0, signal: null });
  });
});
