// Signals go through pidfds (src/sys/pidfd.ts): a process is pinned only when its pid AND start
// time match, the pinned descriptor tells its exit, and a record naming another process (the
// same pid, another start time: the pid was reused) signals nobody.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { killProcessAndWait, PinnedProcess, signalProcess } from '../../../src/sys/pidfd.js';
import { readStartTime } from '../../../src/sys/proc.js';
import { stopService } from '../../../src/runtime/stop.js';

const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function sleeper(): { child: ChildProcess; pid: number; startTime: number; exit: Promise<unknown[]> } {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  children.push(child);
  const exit = once(child, 'exit');
  const pid = child.pid!;
  const startTime = readStartTime(pid);
  if (startTime === undefined) throw new Error('sleep did not start');
  return { child, pid, startTime, exit };
}

describe('pidfd', () => {
  it('pins the process of a matching pid and start time, tells its exit through the descriptor', async () => {
    const { pid, startTime, exit } = sleeper();
    const pinned = PinnedProcess.open(pid, startTime);
    expect(pinned).toBeDefined();
    try {
      expect(pinned!.exited()).toBe(false);
      expect(pinned!.signal(15)).toBe(true);
      expect(await pinned!.waitExit(5000)).toBe(true);
      const [, signal] = await exit;
      expect(signal).toBe('SIGTERM');
    } finally {
      pinned!.close();
    }
    expect(PinnedProcess.open(pid, startTime)).toBeUndefined();
    expect(signalProcess(pid, startTime, 15)).toBe(false);
  });

  it('a record with the pid of another process (another start time) signals nobody', async () => {
    const { child, pid, startTime, exit } = sleeper();
    expect(PinnedProcess.open(pid, startTime + 1)).toBeUndefined();
    expect(signalProcess(pid, startTime + 1, 9)).toBe(false);
    expect(await killProcessAndWait(pid, startTime + 1)).toBe(true);
    const stop = await stopService(
      { service: 'x', pid, startTime: startTime + 1, exitPath: '/nonexistent/exit', monitorPid: 2 ** 22 + 1, monitorStartTime: 1, cgroup: { killAll: async () => undefined, procsFiles: [] } },
      { signal: 'SIGKILL', graceMs: 0 },
    );
    expect(stop.outcome).toBe('not-running');
    expect(child.exitCode).toBeNull();
    expect(child.signalCode).toBeNull();
    expect(signalProcess(pid, startTime, 0)).toBe(true);
    expect(await killProcessAndWait(pid, startTime)).toBe(true);
    expect((await exit)[1]).toBe('SIGKILL');
  });

  it('a process that is gone cannot be opened', () => {
    expect(PinnedProcess.open(2 ** 22 + 1, 1)).toBeUndefined();
  });
});
