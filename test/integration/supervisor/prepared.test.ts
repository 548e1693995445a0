// The supervisor's launcher spawned ahead of its start (control.ts prepareSupervisor): it places
// itself in the project's monitor group while its caller goes on, and becomes the supervisor
// when the start hands it its descriptors (native/launcher/take.h); let go, it leaves; dead, the
// supervisor is started the other way.
import { Resolver } from 'node:dns/promises';
import { existsSync, readlinkSync } from 'node:fs';
import { expect, it } from 'vitest';
import { monitorGroup } from '../../../src/runtime/cgroup/monitors.js';
import { LAUNCHER_PATH } from '../../../src/runtime/launcher-path.js';
import { discardPreparedSupervisor, ensureSupervisor, prepareSupervisor, runningSupervisor } from '../../../src/supervisor/control.js';
import { isSameProcess } from '../../../src/sys/proc.js';
import { describeRoot } from '../../harness/require.js';
import { eventually, PROGRAMS_DIR, supervisorRigs, type ProjectRig } from './rig.js';

const echo = `${PROGRAMS_DIR}/echo.mjs`;

/** The launcher prepareSupervisor spawned: the one process of the monitor group that runs the launcher and was not there before. */
async function preparedLauncher(rig: ProjectRig, before: readonly number[]): Promise<number> {
  return eventually(async () => {
    const fresh = (await monitorGroup(rig.project).pids()).filter((pid) => !before.includes(pid));
    const launchers = fresh.filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/exe`) === LAUNCHER_PATH;
      } catch {
        return false;
      }
    });
    return launchers.length === 1 ? launchers[0] : undefined;
  }, 'the prepared launcher in the monitor group');
}

/** The rig's project up with one service (web), then its supervisor prepared: the launcher, and the monitor group's pids before it. */
async function upAndPrepare(rig: ProjectRig): Promise<{ before: number[]; launcher: number }> {
  await rig.up({ web: { command: ['node', echo, '8080'] } });
  const before = await monitorGroup(rig.project).pids();
  prepareSupervisor(rig.project, rig.roots);
  return { before, launcher: await preparedLauncher(rig, before) };
}

async function answersName(rig: ProjectRig, name: string): Promise<string[]> {
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([rig.gateway]);
  return resolver.resolve4(name);
}

describeRoot('supervisor: prepared ahead', () => {
  const newRig = supervisorRigs();

  it('placed while its caller goes on, it becomes the supervisor with the sockets the start binds', async () => {
    const rig = newRig();
    const { launcher } = await upAndPrepare(rig);
    const record = await ensureSupervisor(rig.project, rig.roots);
    expect(record.pid).toBe(launcher); // the same process: it execs Node (not waited for once its descriptors are taken)
    await eventually(() => readlinkSync(`/proc/${launcher}/exe`) !== LAUNCHER_PATH || undefined, 'the launcher running Node');
    expect(await monitorGroup(rig.project).pids()).toContain(launcher);
    expect(await eventually(() => answersName(rig, 'web').catch(() => undefined), 'its DNS answer')).toEqual([rig.addressOf('web')]);
  });

  it('let go, it leaves without running anything', async () => {
    const rig = newRig();
    const { before, launcher } = await upAndPrepare(rig);
    discardPreparedSupervisor(rig.project, rig.roots);
    await eventually(() => !existsSync(`/proc/${launcher}/exe`) || undefined, 'the launcher gone');
    expect(await runningSupervisor(rig.project, rig.roots)).toBeUndefined();
    expect(await monitorGroup(rig.project).pids()).toEqual(before);
  });

  it('let go before it was spawned (a run refused early), none is: no monitor group is made', async () => {
    const rig = newRig();
    const project = `${rig.project}x`; // nothing of it on the host
    prepareSupervisor(project, rig.roots);
    discardPreparedSupervisor(project, rig.roots);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(monitorGroup(project).dirs.filter((dir) => existsSync(dir))).toEqual([]);
  });

  it('one that died before its start: the supervisor is started the other way', async () => {
    const rig = newRig();
    const { launcher } = await upAndPrepare(rig);
    process.kill(launcher, 'SIGKILL');
    await eventually(() => !existsSync(`/proc/${launcher}/exe`) || undefined, 'the launcher gone');
    const record = await ensureSupervisor(rig.project, rig.roots);
    expect(record.pid).not.toBe(launcher);
    expect(isSameProcess(record.pid, record.startTime)).toBe(true);
    expect(await eventually(() => answersName(rig, 'web').catch(() => undefined), 'its DNS answer')).toEqual([rig.addressOf('web')]);
  });
});
