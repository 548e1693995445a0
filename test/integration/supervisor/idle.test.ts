// An idle supervisor (issue 11: "the supervisor's CPU is near zero while nothing changes"):
// once nothing is under way it wakes about once a second (its status heartbeat), not at every
// 100 ms tick, and it still acts at once on what changes meanwhile: a service killed from
// outside is restarted, a service recorded by another command shows in its published status
// (the folders it reads are watched). Real kernel, root.
import { readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { ensureSupervisor, supervisorPaths, supervisorStatus } from '../../../src/supervisor/index.js';
import { describeRoot } from '../../harness/require.js';
import { eventually, supervisorRigs, type ProjectRig } from './rig.js';

/** How many times the supervisor's main thread went to sleep on its own (voluntary context switches). */
function sleeps(pid: number): number {
  const status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
  return Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status)?.[1]);
}

/** Its sleeps during `ms`. */
async function sleepsDuring(pid: number, ms: number): Promise<number> {
  const before = sleeps(pid);
  await sleep(ms);
  return sleeps(pid) - before;
}

/** The services its published status file lists (what `stack ps` reads), by name. */
function published(rig: ProjectRig): Record<string, { state: string; pid: number | null }> {
  try {
    const status = JSON.parse(readFileSync(supervisorPaths(rig.roots, rig.project).status, 'utf8')) as { services: { name: string; state: string; pid: number | null }[] };
    return Object.fromEntries(status.services.map((s) => [s.name, { state: s.state, pid: s.pid }]));
  } catch {
    return {};
  }
}

describeRoot('supervisor: idle', () => {
  const newRig = supervisorRigs();

  it('wakes about once a second while nothing changes, and still acts at once on an exit and on a new record', async () => {
    const rig = newRig();
    await rig.up({ web: { command: ['sleep', '3600'], restart: { kind: 'always' } } });
    await ensureSupervisor(rig.project, rig.roots);
    const pid = (await supervisorStatus(rig.project, rig.roots))!.pid;
    // Settled at once: the records were written moments ago, and it reads them again at most
    // once more (until a reading began well after their folder's mtime), then it has nothing to
    // do; its ticks come every 100 ms until the one that makes its folder watches, about 200 ms
    // after its status first answered. A second of ticks every 100 ms holds 10 sleeps or more,
    // an idle one 2-3 (a tick, the watchdog's look at its pid file). It ticked so for 2 s after
    // the records' last change when it trusted no mtime under 2 s old: both windows below then
    // held 11 or more. A machine too busy to tick in time gets the second window.
    await sleep(300);
    const sleptIn: number[] = [];
    while (sleptIn.length < 2 && !sleptIn.some((n) => n <= 5)) sleptIn.push(await sleepsDuring(pid, 1000));
    expect(sleptIn.some((n) => n <= 5), `sleeps in each second: ${sleptIn.join(', ')}`).toBe(true);
    // Measured: 7 in 3 s (each idle tick, each look of the watchdog); 30 ticks or more before.
    expect(await sleepsDuring(pid, 3000)).toBeLessThanOrEqual(12);

    // An exit wakes it: killed from outside, `web` is restarted (restart: always).
    const first = (await supervisorStatus(rig.project, rig.roots))!.services.find((s) => s.name === 'web')!;
    await eventually(async () => ((await sleepsDuring(pid, 1000)) <= 5 ? true : undefined), 'the supervisor to go idle again', 10_000);
    process.kill(first.pid!, 'SIGKILL');
    await eventually(() => {
      const web = published(rig).web;
      return web?.state === 'running' && web.pid !== null && web.pid !== first.pid ? true : undefined;
    }, 'web restarted');

    // A record written by another command (a `stack up` of one more service) shows in its published status.
    await eventually(async () => ((await sleepsDuring(pid, 1000)) <= 5 ? true : undefined), 'the supervisor to go idle again', 10_000);
    await rig.add('api', { command: ['sleep', '3600'] });
    // (Its record is written twice, before its launch and after: a tick between shows it stopped.)
    expect(await eventually(() => (published(rig).api?.state === 'running' ? published(rig).api : undefined), 'api running in the published status')).toMatchObject({
      state: 'running',
      pid: expect.any(Number),
    });
  });

  it('a no-op up takes a supervisor that ticks or is starting for one that serves, without asking it, and asks one that is neither', async () => {
    const rig = newRig();
    await rig.up({ web: { command: ['sleep', '3600'] } });
    const running = await ensureSupervisor(rig.project, rig.roots);
    const paths = supervisorPaths(rig.roots, rig.project);
    const same = { pid: running.pid, startTime: running.startTime };
    await eventually(() => (Date.now() - (statSync(paths.status, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 300 ? true : undefined), 'a heartbeat of its published status', 10_000);
    process.kill(running.pid, 'SIGSTOP');
    let asked: Promise<unknown> | undefined;
    let settled = false;
    try {
      // Stopped, it answers no ping: each of these ensures took it for one that serves unasked.
      // It renewed its status within a heartbeat and a half:
      expect(await ensureSupervisor(rig.project, rig.roots, { unchanged: true })).toMatchObject(same);
      // It published nothing yet, and its record says it started moments ago (set so: a slow
      // machine may have taken seconds to get here):
      const status = readFileSync(paths.status);
      rmSync(paths.status);
      const record = JSON.parse(readFileSync(paths.pidFile, 'utf8')) as Record<string, unknown>;
      writeFileSync(paths.pidFile, JSON.stringify({ ...record, since: new Date().toISOString() }));
      expect(await ensureSupervisor(rig.project, rig.roots, { unchanged: true })).toMatchObject(same);
      // Neither: its status older, its start 10 s ago. The ensure asks it, and waits for its answer.
      writeFileSync(paths.status, status);
      const past = new Date(Date.now() - 5000);
      utimesSync(paths.status, past, past);
      writeFileSync(paths.pidFile, JSON.stringify({ ...record, since: new Date(Date.now() - 10_000).toISOString() }));
      asked = ensureSupervisor(rig.project, rig.roots, { unchanged: true }).finally(() => (settled = true));
      await sleep(700);
      expect(settled).toBe(false);
    } finally {
      process.kill(running.pid, 'SIGCONT');
    }
    expect(await asked).toMatchObject(same);
  });
});
