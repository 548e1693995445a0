// Stopping: a pid 1 that cannot act on its stop signal is killed at once, a clean shutdown
// is waited for, a program that handles the signal but keeps running is killed after the
// grace period, and nothing is left: no process, no fd, no cgroup. Real kernel, root.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readLogLines } from '../../../src/executor/logs.js';
import { isSameProcess } from '../../../src/executor/proc.js';
import { stopService } from '../../../src/executor/stop.js';
import { describeRoot } from '../../harness/require.js';
import { testService } from '../../fixtures/launch/service.js';
import { buildLauncher, LaunchRig, openFds, waitForExit, type Started } from './harness.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/launch/${name}`, import.meta.url));

/** Waits until the service printed `ready` (its handler is installed). */
async function ready(s: Started): Promise<void> {
  for (let i = 0; i < 1000 && !readLogLines(s.logPath).some((l) => l.text === 'ready'); i++) await new Promise((r) => setTimeout(r, 5));
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
