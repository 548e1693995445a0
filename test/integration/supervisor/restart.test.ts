// Restart policies run by the supervisor: on-failure:2 restarts twice and stops, always keeps
// restarting, no never restarts, and a process the user stopped is never revived; a restart
// waits while `up`/`down` hold the project lock. Real kernel, root.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { openCgroups } from '../../../src/runtime/cgroup/index.js';
import { isSameProcess } from '../../../src/runtime/proc.js';
import { acquireProjectLock } from '../../../src/state/lock.js';
import { ensureSupervisor, markStoppedByUser, readHealth, readRestarts, serviceStatePaths, supervisorStatus, type ServiceStatus } from '../../../src/supervisor/index.js';
import { describeRoot } from '../../harness/require.js';
import { eventually, supervisorRigs, type ProjectRig } from './rig.js';

/** How many times the service's program ran: one `run` line each in its log. */
function runs(rig: ProjectRig, service: string): number {
  let text = '';
  try {
    text = readFileSync(serviceStatePaths(rig.roots, rig.project, service).log, 'utf8');
  } catch {
    return 0;
  }
  return text.split('\n').filter((l) => / stdout F run$/.test(l)).length;
}

async function service(rig: ProjectRig, name: string): Promise<ServiceStatus | undefined> {
  return (await supervisorStatus(rig.project, rig.roots))?.services.find((s) => s.name === name);
}

describeRoot('supervisor: restart policies', () => {
  const newRig = supervisorRigs();

  it('on-failure:2 restarts twice then leaves it exited; no never restarts; always keeps going', async () => {
    const rig = newRig();
    await rig.up({
      flaky: { command: ['sh', '-c', 'echo run; sleep 0.2; exit 3'], restart: { kind: 'on-failure', maxRetries: 2 } },
      once: { command: ['sh', '-c', 'echo run; sleep 0.2; exit 1'], restart: { kind: 'no' } },
      // Each run says `run` only if its volume is there: restarts get the same view as the first start.
      loop: {
        command: ['sh', '-c', 'test -d /shared/run && echo run; sleep 0.2; exit 0'],
        restart: { kind: 'always' },
        volumes: [{ type: 'bind', source: rig.base, target: '/shared', readOnly: true, createHostPath: false }],
      },
    });
    await ensureSupervisor(rig.project, rig.roots);
    const r = rig;
    const flaky = await eventually(async () => {
      const s = await service(r, 'flaky');
      return s?.state === 'exited' && s.restarts === 2 ? s : undefined;
    }, 'flaky to give up after 2 restarts');
    expect(flaky.lastExit).toBe('exited with code 3');
    // The exit record the last restart replaced (its launcher removed the file) is kept with the count.
    expect((await readRestarts(serviceStatePaths(rig.roots, rig.project, 'flaky').restarts))?.lastExit).toMatchObject({ exitCode: 3, signal: null });
    await eventually(async () => ((await service(r, 'loop'))?.restarts ?? 0) >= 3, 'loop to be restarted 3 times');
    // Given time for one more restart of each (the next delay would be 400 ms), nothing more happens.
    await sleep(1000);
    expect(runs(rig, 'flaky')).toBe(3);
    expect(await service(rig, 'flaky')).toMatchObject({ state: 'exited', restarts: 2 });
    expect(runs(rig, 'once')).toBe(1);
    expect(await service(rig, 'once')).toMatchObject({ state: 'exited', restarts: 0, lastExit: 'exited with code 1' });
    expect(runs(rig, 'loop')).toBeGreaterThanOrEqual(4);
    // The record names the newest process, in the service's cgroups.
    const loop = (await rig.record('loop'))!;
    const group = (await openCgroups()).open(rig.project, 'loop');
    if (isSameProcess(loop.process!.pid, loop.process!.startTime)) expect(await group.pids()).toContain(loop.process!.pid);
  });

  it('a process stopped by the user is not restarted, even under restart: always', async () => {
    const rig = newRig();
    await rig.up({ web: { command: ['sleep', '3600'], restart: { kind: 'always' } }, other: { command: ['sleep', '3600'], restart: { kind: 'always' } } });
    await ensureSupervisor(rig.project, rig.roots);
    const web = (await rig.record('web'))!.process!;
    await markStoppedByUser(rig.project, 'web', web, rig.roots);
    const cgroups = await openCgroups();
    await cgroups.open(rig.project, 'web').killAll();
    // The other one, killed the same way without the mark, comes back: the mark is what differs.
    const other = (await rig.record('other'))!.process!;
    await cgroups.open(rig.project, 'other').killAll();
    const r = rig;
    await eventually(async () => (await r.record('other'))?.process?.pid !== other.pid, 'other to be restarted');
    await eventually(async () => (await service(r, 'web'))?.state === 'exited', 'web to be seen exited');
    await sleep(500);
    expect((await rig.record('web'))!.process).toEqual(web);
    expect(await service(rig, 'web')).toMatchObject({ state: 'exited', restarts: 0 });
  });

  it('waits for the project lock: no restart while up/down act on the project', async () => {
    const rig = newRig();
    await rig.up({ web: { command: ['sh', '-c', 'echo run; exit 1'], restart: { kind: 'on-failure' } } });
    const lock = await acquireProjectLock(rig.roots, rig.project, { command: 'test (stands for stack up)' });
    try {
      await ensureSupervisor(rig.project, rig.roots);
      const r = rig;
      await eventually(async () => (await service(r, 'web'))?.state === 'restarting', 'web to be due for a restart');
      await sleep(500);
      expect(runs(rig, 'web')).toBe(1);
    } finally {
      await lock.release();
    }
    const r = rig;
    await eventually(() => runs(r, 'web') >= 2, 'the restart once the lock is free');
  });

  it('a new supervisor after a SIGKILL restarts what exited meanwhile and resumes health where it was', async () => {
    const rig = newRig();
    const sick = join(rig.base, 'sick');
    const check = { test: ['CMD-SHELL', 'test ! -e /shared/sick'], intervalMs: 200, timeoutMs: 5000, retries: 10, startPeriodMs: 0, startIntervalMs: 0 };
    await rig.up({
      web: { command: ['sleep', '3600'], restart: { kind: 'always' } },
      db: {
        command: ['sleep', '3600'],
        healthcheck: check,
        volumes: [{ type: 'bind', source: rig.base, target: '/shared', readOnly: true, createHostPath: false }],
      },
    });
    const first = await ensureSupervisor(rig.project, rig.roots);
    const r = rig;
    const healthFile = serviceStatePaths(rig.roots, rig.project, 'db').health;
    await eventually(async () => (await readHealth(healthFile))?.status === 'healthy', 'db to be healthy in its health file');
    process.kill(first.pid, 'SIGKILL');
    await eventually(() => !isSameProcess(first.pid, first.startTime), 'the supervisor to die');
    const web = (await rig.record('web'))!.process!;
    await (await openCgroups()).open(rig.project, 'web').killAll();
    await sleep(300);
    expect((await rig.record('web'))!.process).toEqual(web); // nobody restarts it while no supervisor runs
    // From now on every probe fails: only a resumed verdict can still say healthy (failures never
    // turn `starting` into `healthy`), until 10 failures in a row (2 s) make it unhealthy.
    writeFileSync(sick, '');
    await ensureSupervisor(rig.project, rig.roots);
    expect(await service(rig, 'db')).toMatchObject({ health: 'healthy' });
    await eventually(async () => (await service(r, 'db'))?.health === 'unhealthy', 'db to turn unhealthy');
    const again = await eventually(async () => {
      const now = (await r.record('web'))?.process;
      return now && now.pid !== web.pid ? now : undefined;
    }, 'web to be restarted by the new supervisor');
    expect(isSameProcess(again.pid, again.startTime)).toBe(true);
  });
});
