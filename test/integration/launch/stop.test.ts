// Stopping: a pid 1 that cannot act on its stop signal is killed at once, and so is one that
// took it but can no longer act on it (node re-raises it, which the kernel drops for pid 1);
// a clean shutdown is waited for, a program that handles the signal but keeps running is
// killed after the grace period, and nothing is left: no process, no fd, no cgroup. Real
// kernel, root.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readLogLines } from '../../../src/runtime/logs.js';
import { isSameProcess, readStatus } from '../../../src/runtime/proc.js';
import { cannotActOnStop, isEventWait, stopService } from '../../../src/runtime/stop.js';
import { describeRoot, hasCommand } from '../../harness/require.js';
import { testService } from '../../fixtures/launch/service.js';
import { buildLauncher, LaunchRig, openFds, waitForExit, type Started } from './harness.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/launch/${name}`, import.meta.url));

/** Waits until the service printed `ready` (its handler is installed). */
/** Whether `pid` runs (neither gone nor a zombie not reaped yet). */
function running(pid: number): boolean {
  const state = readStatus(pid)?.state;
  return state !== undefined && state !== 'Z';
}

async function ready(s: Started): Promise<void> {
  for (let i = 0; i < 1000 && !readLogLines(s.logPath).some((l) => l.text === 'ready'); i++) await new Promise((r) => setTimeout(r, 5));
  expect(readLogLines(s.logPath).map((l) => l.text)).toContain('ready');
}

describeRoot('stopService', () => {
  const rig = new LaunchRig();
  beforeAll(async () => {
    buildLauncher();
    // Warm up: Node opens some fds on its first spawn; the leak checks count from after it.
    await rig.run(testService({ command: ['true'] }));
  });
  afterAll(() => rig.cleanup());

  it('kills a pid 1 without a SIGTERM handler (sleep) at once instead of waiting out its grace period', async () => {
    const s = await rig.start(testService({ command: ['sleep', '3600'] }));
    const t0 = performance.now();
    const result = await stopService({ ...s, cgroup: s.group }, { signal: 'SIGTERM', graceMs: 10_000 });
    const elapsed = performance.now() - t0;
    expect(result.outcome).toBe('killed-at-once');
    expect(result.record).toMatchObject({ signal: 'SIGKILL', pid: s.pid });
    expect(elapsed).toBeLessThan(5_000);
  });

  it("takes sh's `wait` (dash: sigsuspend) for a program done starting, and kills that pid 1 ignoring SIGTERM at once", async () => {
    const s = await rig.start(testService({ command: ['sh', '-c', "trap '' TERM; sleep 3600 & wait"] }));
    let wchan = '';
    for (let i = 0; i < 400 && !isEventWait(wchan); i++) {
      await new Promise((r) => setTimeout(r, 5));
      wchan = readStatus(s.pid)?.wchan ?? '';
    }
    expect(wchan).toMatch(/sigsuspend|do_wait/); // dash, or bash where /bin/sh is bash
    expect(isEventWait(wchan)).toBe(true);
    const result = await stopService({ ...s, cgroup: s.group }, { signal: 'SIGTERM', graceMs: 10_000 });
    expect(result.outcome).toBe('killed-at-once');
  });

  it('cannotActOnStop: true for a pid 1 asleep without a handler or ignoring the signal, false for one with a handler, for a process that is gone and for a signal the kernel lacks', async () => {
    // Judged once asleep in an event wait (a process just launched may still be starting).
    const eventually = async (s: Started, signal: string): Promise<boolean> => {
      for (let i = 0; i < 400; i++) {
        if (cannotActOnStop(s.pid, s.startTime, signal)) return true;
        await new Promise((r) => setTimeout(r, 5));
      }
      return false;
    };
    const sleeper = await rig.start(testService({ command: ['sleep', '3600'] }));
    const ignoring = await rig.start(testService({ command: ['sh', '-c', "trap '' TERM; sleep 3600 & wait"] }));
    const handling = await rig.start(testService({ command: ['sh', fixture('term-handler.sh')] }));
    await ready(handling);
    expect(await eventually(sleeper, 'SIGTERM')).toBe(true);
    expect(await eventually(ignoring, 'TERM')).toBe(true);
    expect(cannotActOnStop(handling.pid, handling.startTime, 'SIGTERM')).toBe(false);
    expect(cannotActOnStop(handling.pid, handling.startTime, 'SIGKILL')).toBe(true); // nothing can act on it
    expect(cannotActOnStop(sleeper.pid, sleeper.startTime, 'SIGNOPE')).toBe(false);
    // SIGUSR1's default action is to end a process, but a namespace's pid 1 is spared it: the same judgement.
    expect(cannotActOnStop(sleeper.pid, sleeper.startTime, 'SIGUSR1')).toBe(true);
    for (const s of [sleeper, ignoring, handling]) await stopService({ ...s, cgroup: s.group }, { signal: 'SIGKILL', graceMs: 0 });
    expect(cannotActOnStop(sleeper.pid, sleeper.startTime, 'SIGTERM')).toBe(false); // gone
  });

  it('gives a program with a SIGTERM handler its clean shutdown', async () => {
    const s = await rig.start(testService({ command: ['sh', fixture('term-handler.sh')] }));
    await ready(s);
    const result = await stopService({ ...s, cgroup: s.group }, { signal: 'SIGTERM', graceMs: 10_000 });
    expect(result.outcome).toBe('exited');
    expect(result.record).toMatchObject({ exitCode: 0, signal: null });
    expect(readLogLines(s.logPath).map((l) => l.text)).toEqual(['ready', 'clean shutdown']);
  });

  it('kills everything in the cgroup once the grace period of a program that handles but ignores SIGTERM ran out', async () => {
    const s = await rig.start(testService({ command: ['sh', fixture('term-stubborn.sh')] }));
    await ready(s);
    const t0 = performance.now();
    const result = await stopService({ ...s, cgroup: s.group }, { signal: 'TERM', graceMs: 300 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(300);
    expect(result.outcome).toBe('killed-after-grace');
    expect(result.record).toMatchObject({ signal: 'SIGKILL' });
    expect(readLogLines(s.logPath).map((l) => l.text)).toContain('ignoring TERM');
  });

  it('tells a stop of a service that already exited from a kill', async () => {
    const { started } = await rig.run(testService({ command: ['true'] }));
    const result = await stopService({ ...started, cgroup: started.group }, { signal: 'SIGTERM', graceMs: 10_000 });
    expect(result).toMatchObject({ outcome: 'not-running', record: { exitCode: 0 } });
  });

  // What each runtime installed here does as pid 1 with the stop signal (measured through
  // /proc/PID/status before and after it): node catches TERM and INT, resets the handler and
  // re-raises, which the kernel drops; python3 (TERM), perl, bash and dash have no handler.
  // The shells are stopped once they wait for their `sleep` (dash blocks every signal around
  // a fork: a stop then would be judged on the signal it drops later, 'killed-after-signal').
  const NODE_SERVER = 'require("http").createServer().listen(8080, () => console.log("ready"))';
  it.each([
    ['node', 'SIGTERM', 'killed-after-signal', ['node', '-e', NODE_SERVER], 1],
    ['node', 'SIGINT', 'killed-after-signal', ['node', '-e', NODE_SERVER], 1],
    ['python3', 'SIGTERM', 'killed-at-once', ['python3', '-c', 'import time; print("ready", flush=True); time.sleep(3600)'], 1],
    ['perl', 'SIGTERM', 'killed-at-once', ['perl', '-e', '$| = 1; print "ready\\n"; sleep 3600'], 1],
    ['bash', 'SIGTERM', 'killed-at-once', ['bash', '-c', 'echo ready; sleep 3600; echo done'], 2],
    ['dash', 'SIGTERM', 'killed-at-once', ['dash', '-c', 'echo ready; sleep 3600; echo done'], 2],
  ] as const)('%s as pid 1, stopped with %s: %s, not after its 10 s grace period', async (program, signal, outcome, command, processes) => {
    if (!hasCommand(program)) return; // a runtime this host lacks has nothing to show
    const s = await rig.start(testService({ command }));
    await ready(s);
    for (let i = 0; i < 1000 && (await s.group.pids()).length < processes; i++) await new Promise((r) => setTimeout(r, 5));
    const result = await stopService({ ...s, cgroup: s.group }, { signal, graceMs: 10_000 });
    expect(result).toMatchObject({ outcome, record: { signal: 'SIGKILL' } });
  });

  it('node with its own SIGTERM handler keeps it: its clean shutdown is waited for', async () => {
    const script = 'process.on("SIGTERM", () => setTimeout(() => { console.log("clean shutdown"); process.exit(3) }, 100)); setInterval(() => {}, 1000); console.log("ready")';
    const s = await rig.start(testService({ command: ['node', '-e', script] }));
    await ready(s);
    const result = await stopService({ ...s, cgroup: s.group }, { signal: 'SIGTERM', graceMs: 10_000 });
    expect(result).toMatchObject({ outcome: 'exited', record: { exitCode: 3, signal: null } });
    expect(readLogLines(s.logPath).map((l) => l.text)).toContain('clean shutdown');
  });

  // A handler that removes itself (`process.once`, NestJS's shutdown hooks) leaves SIGTERM at its
  // default while the program shuts down, asleep in epoll: that must not look like node's own
  // re-raise (no program code ran), or a graceful shutdown is cut short.
  it('node whose once-handler shuts down slowly gets its grace period, not a kill', async () => {
    const script = 'process.once("SIGTERM", () => setTimeout(() => { console.log("drained"); process.exit(7) }, 1500)); require("http").createServer().listen(8080); console.log("ready")';
    const s = await rig.start(testService({ command: ['node', '-e', script] }));
    await ready(s);
    const result = await stopService({ ...s, cgroup: s.group }, { signal: 'SIGTERM', graceMs: 10_000 });
    expect(result).toMatchObject({ outcome: 'exited', record: { exitCode: 7, signal: null } });
    expect(readLogLines(s.logPath).map((l) => l.text)).toContain('drained');
  });

  // The signal may land while node still starts: its early handler takes it and resets itself, and
  // the program's own handler comes after. Stopped right after launch, again and again, the
  // program must still get its SIGTERM (sent once more) and shut down cleanly, never wait out the grace.
  it('node stopped while it starts up still gets its SIGTERM handler run (the signal is sent again)', async () => {
    const script = 'process.on("SIGTERM", () => { console.log("clean shutdown"); process.exit(0) }); setInterval(() => {}, 1000)';
    for (let i = 0; i < 8; i++) {
      const s = await rig.start(testService({ command: ['node', '-e', script] }));
      await new Promise((r) => setTimeout(r, i * 4)); // at different points of its start
      const result = await stopService({ ...s, cgroup: s.group }, { signal: 'SIGTERM', graceMs: 10_000 });
      expect(result.outcome, `stop ${i}`).not.toBe('killed-after-grace');
    }
  });

  it('python3 handles SIGINT (KeyboardInterrupt) and exits on it: waited for, not killed', async () => {
    const s = await rig.start(testService({ command: ['python3', '-c', 'import time; print("ready", flush=True); time.sleep(3600)'] }));
    await ready(s);
    const result = await stopService({ ...s, cgroup: s.group }, { signal: 'SIGINT', graceMs: 10_000 });
    // Its re-raised SIGINT is dropped for pid 1 too, but it exits 130 right after.
    expect(result).toMatchObject({ outcome: 'exited', record: { exitCode: 130, signal: null } });
  });

  it('kills a process that joined the cgroup from outside the service\'s pid namespace too', async () => {
    // The init's SIGKILL takes its namespace with it; a host process moved into the group is not
    // in that namespace, and is killed by the cgroup-wide kill that follows.
    const s = await rig.start(testService({ command: ['sleep', '3600'] }));
    const outsider = spawn('sleep', ['3600'], { stdio: 'ignore' });
    const gone = new Promise<NodeJS.Signals | null>((resolve) => outsider.once('exit', (_code, signal) => resolve(signal)));
    try {
      await s.group.join(outsider.pid!);
      expect((await s.group.pids()).sort()).toEqual([s.pid, outsider.pid!].sort());
      const result = await stopService({ ...s, cgroup: s.group }, { signal: 'SIGTERM', graceMs: 10_000 });
      expect(result.outcome).toBe('killed-at-once');
      expect(await gone).toBe('SIGKILL');
      expect(await s.group.pids()).toEqual([]);
    } finally {
      if (outsider.exitCode === null && outsider.signalCode === null) outsider.kill('SIGKILL');
    }
  });

  /**
   * Stops a service running `command` with a host process joined to its cgroup from outside its
   * pid namespace: how it ended, and what gone() saw each time it was called.
   */
  async function stopWithOutsider(command: string[]): Promise<{ outcome: string; seen: { main: boolean; outsider: boolean }[] }> {
    const s = await rig.start(testService({ command }));
    const outsider = spawn('sleep', ['3600'], { stdio: 'ignore' });
    try {
      await s.group.join(outsider.pid!);
      const seen: { main: boolean; outsider: boolean }[] = [];
      const gone = (): void => void seen.push({ main: isSameProcess(s.pid, s.startTime), outsider: running(outsider.pid!) });
      const result = await stopService({ ...s, cgroup: s.group }, { signal: 'SIGTERM', graceMs: 10_000, gone });
      expect(await s.group.pids()).toEqual([]);
      return { outcome: result.outcome, seen };
    } finally {
      if (outsider.exitCode === null && outsider.signalCode === null) outsider.kill('SIGKILL');
    }
  }

  it('says its processes are gone once its namespace\'s init was killed and exited, before it kills what joined from outside', async () => {
    // Once, with the namespace gone and the outsider (not in it) still there: killed after.
    expect(await stopWithOutsider(['sleep', '3600'])).toEqual({ outcome: 'killed-at-once', seen: [{ main: false, outsider: true }] });
  });

  it('says its processes are gone once its namespace\'s init exited on its signal, before it kills what joined from outside', async () => {
    // The init exits on SIGTERM by itself: the kernel ended it last of its namespace, so that is
    // gone (a down's veths go from there) before the cgroup's listing and kill of the outsider.
    expect(await stopWithOutsider(['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"])).toEqual({ outcome: 'exited', seen: [{ main: false, outsider: true }] });
  });

  /** The size of `path` (0 before it exists). */
  const sizeOf = (path: string): number => (existsSync(path) ? statSync(path).size : 0);

  /** Waits until `path` has grown (the service's writes have begun). */
  async function growing(path: string): Promise<void> {
    for (let i = 0; i < 400 && sizeOf(path) === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(sizeOf(path)).toBeGreaterThan(0);
  }

  it('says a killed init alone in its cgroup is gone at once: nothing of it writes after', async () => {
    // A pid 1 that appends to a file without a pause (dash's echo is a builtin: no child). Its
    // stop signal is SIGKILL: nothing to judge, killed at once.
    const out = join(rig.dir, 'alone.out');
    const s = await rig.start(testService({ command: ['sh', '-c', `while :; do echo x >> ${out}; done`], stopSignal: 'SIGKILL' }));
    await growing(out);
    let atGone = -1;
    const gone = (): void => void (atGone = sizeOf(out));
    const result = await stopService({ ...s, cgroup: s.group }, { signal: 'SIGKILL', graceMs: 10_000, gone });
    expect(result.outcome).toBe('killed-at-once');
    expect(atGone).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 50));
    // One write of 2 bytes may have been under way in the kernel at the kill (it ends whole).
    expect(sizeOf(out) - atGone).toBeLessThanOrEqual(2);
  });

  it('says a killed init alone in its cgroup is gone only once it exited when its cgroup has a group below it (where a privileged workload may have moved processes)', async () => {
    const s = await rig.start(testService({ command: ['sleep', '3600'] }));
    const below = join(s.group.dirs[0]!, 'moved');
    mkdirSync(below);
    try {
      const seen: boolean[] = [];
      const gone = (): void => void seen.push(isSameProcess(s.pid, s.startTime));
      const result = await stopService({ ...s, cgroup: s.group }, { signal: 'SIGTERM', graceMs: 10_000, gone });
      expect(result.outcome).toBe('killed-at-once');
      expect(seen).toEqual([false]);
    } finally {
      rmdirSync(below);
    }
  });

  it('says an init killed with a child beside it in its cgroup is gone only once it exited: the child wrote nothing after', async () => {
    // pid 1 (no handler for SIGTERM, asleep in `wait`) is killed at once; its child, which
    // appends without a pause, runs on until the init's exit takes the namespace with it.
    const out = join(rig.dir, 'child.out');
    const s = await rig.start(testService({ command: ['sh', '-c', `(while :; do echo x >> ${out}; done) & wait`] }));
    await growing(out);
    const seen: { main: boolean; size: number }[] = [];
    const gone = (): void => void seen.push({ main: isSameProcess(s.pid, s.startTime), size: sizeOf(out) });
    const result = await stopService({ ...s, cgroup: s.group }, { signal: 'SIGTERM', graceMs: 10_000, gone });
    expect(result.outcome).toBe('killed-at-once');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.main).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
    expect(sizeOf(out) - seen[0]!.size).toBeLessThanOrEqual(2); // a write under way at the kill ends whole
  });

  it('leaves no process, fd or cgroup behind', async () => {
    const fds = openFds();
    const s = await rig.start(testService({ command: ['sh', '-c', 'sleep 3600 & sleep 3600 & echo ready; wait'] }));
    await ready(s);
    expect((await s.group.pids()).length).toBe(3);
    await stopService({ ...s, cgroup: s.group }, { signal: 'SIGTERM', graceMs: 10_000 });
    await waitForExit(s.exitPath);
    for (let i = 0; i < 200 && isSameProcess(s.monitorPid, s.monitorStartTime); i++) await new Promise((r) => setTimeout(r, 5));
    expect(isSameProcess(s.monitorPid, s.monitorStartTime)).toBe(false);
    expect(await s.group.pids()).toEqual([]);
    await s.group.destroy();
    expect(s.group.dirs.some((d) => existsSync(d))).toBe(false);
    expect(existsSync(join(s.group.dirs[0] as string, '..'))).toBe(true); // other services' groups remain
    expect(openFds()).toBe(fds);
  });
});
