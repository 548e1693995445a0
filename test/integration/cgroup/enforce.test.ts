// The limits hold against the workload itself, on the real kernel, as root: a memory hog is
// OOM-killed alone, a fork bomb stops at pids.max while the host answers, a cpu quota holds
// (measured), and a workload running as nobody can neither raise its limits nor leave.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeWith } from '../../harness/require.js';
import { parseFlatKeyed } from '../../../src/runtime/cgroup/index.js';
import { alive, exitOf, useScratch, waitFor } from './helpers.js';

const MiB = 1024 * 1024;

describeWith({ root: true, commands: ['bash', 'setpriv'] }, 'cgroup limits against the workload', () => {
  const rig = useScratch();

  it('OOM-kills a memory hog alone and says so', async () => {
    const group = await rig.manager.create(rig.project, 'hog', { memoryBytes: 64 * MiB });
    const neighbour = await rig.manager.create(rig.project, 'neighbour', {});
    rig.scratch.groups.push(group, neighbour);
    const bystander = await rig.scratch.spawnIn(neighbour, ['sleep', '60']);
    expect(await group.oomKilled()).toBe(false);
    // dash doubles a string until it needs far more than 64 MiB.
    const hog = await rig.scratch.spawnIn(group, ['sh', '-c', 'x=0123456789abcdef; while :; do x="$x$x"; done']);
    expect(await exitOf(hog)).toEqual([null, 'SIGKILL']);
    expect(await group.oomKilled()).toBe(true);
    expect(await group.oomKills()).toBe(1);
    expect(parseFlatKeyed(readFileSync(group.oomEventsFile, 'utf8')).get('oom_kill')).toBe(1);
    expect(alive(bystander.pid!)).toBe(true);
    expect(await neighbour.oomKilled()).toBe(false);
  });

  it('stops a fork bomb at pids.max while the host stays responsive', async () => {
    const group = await rig.manager.create(rig.project, 'bomb', { pids: 32 });
    rig.scratch.groups.push(group);
    // bash retries a failed fork, so the bomb keeps pushing against the limit.
    await rig.scratch.spawnIn(group, ['bash', '-c', 'while :; do sleep 60 & done']);
    const refusals = () => parseFlatKeyed(readFileSync(group.controllerFile('pids', 'pids.events'), 'utf8')).get('max') ?? 0;
    await waitFor(() => refusals() > 0, 'the pids limit to refuse a fork');
    expect((await group.stats()).pids).toBe(32);
    const started = Date.now();
    expect(spawnSync('true').status).toBe(0);
    expect(Date.now() - started).toBeLessThan(2_000);
    await group.killAll();
    expect(await group.pids()).toEqual([]);
  });

  it('holds a 0.2 cpu quota against a busy loop (measured in cpuacct)', async () => {
    const group = await rig.manager.create(rig.project, 'spin', { cpus: 0.2 });
    rig.scratch.groups.push(group);
    const started = Date.now();
    await rig.scratch.spawnIn(group, ['sh', '-c', 'while :; do :; done']);
    await new Promise((r) => setTimeout(r, 1_500));
    const { cpuUsageNs, cpuThrottledPeriods } = await group.stats();
    const wallNs = (Date.now() - started) * 1e6;
    await group.killAll();
    // Unlimited, the loop would take up to the whole 1.5 s; at 0.2 cpus at most 0.2 of the
    // wall time, plus one period of slack. On a loaded host it may get less, never more; the
    // throttle counter shows the quota, not the load, is what held it back.
    const used = `used ${(cpuUsageNs / 1e9).toFixed(3)} s of cpu in ${(wallNs / 1e9).toFixed(3)} s, throttled in ${cpuThrottledPeriods} periods`;
    expect(cpuUsageNs, used).toBeGreaterThan(0);
    expect(cpuUsageNs, used).toBeLessThan(0.2 * wallNs + 0.1e9);
    expect(cpuThrottledPeriods, used).toBeGreaterThan(0);
  });

  it('keeps a workload running as nobody from raising its limits or leaving its group', async () => {
    const group = await rig.manager.create(rig.project, 'app', { memoryBytes: 64 * MiB, pids: 16 });
    rig.scratch.groups.push(group);
    // Every path comes from the manager, so the same attempts run on a v1 and on a v2 host.
    const memoryLimit = group.controllerFile('memory', rig.manager.version === 1 ? 'memory.limit_in_bytes' : 'memory.max');
    const tries = [
      `echo 1073741824 > ${memoryLimit}`,
      `echo max > ${group.controllerFile('pids', 'pids.max')}`,
      // Out to the project's group and to the hierarchy's root (the group is stack/<project>/<service>).
      ...group.dirs.flatMap((d) => [`echo $$ > ${join(d, '..', 'cgroup.procs')}`, `echo $$ > ${join(d, '..', '..', '..', 'cgroup.procs')}`]),
      `rmdir ${group.dirs[0]}`,
    ];
    const script = `${tries.map((t) => `if (${t}) 2>/dev/null; then echo allowed; else echo denied; fi`).join('; ')}; cat /proc/self/cgroup`;
    // Output goes to a file opened by root before setpriv, not to a pipe into this process: a
    // pipe here once gave no output (and once no EOF) on a loaded machine.
    const dir = mkdtempSync(join(tmpdir(), 'stack-cg-'));
    const outFile = join(dir, 'out');
    let out: string;
    try {
      const app = await rig.scratch.spawnIn(group, ['sh', '-c', `exec "$@" > ${outFile}`, 'sh', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', 'sh', '-c', script]);
      expect(await exitOf(app)).toEqual([0, null]);
      out = readFileSync(outFile, 'utf8');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const lines = out.trim().split('\n');
    expect(lines.slice(0, tries.length)).toEqual(tries.map(() => 'denied'));
    // Still in the group in every hierarchy it has: one /proc/self/cgroup line per group dir.
    const where = lines.slice(tries.length).filter((l) => l.endsWith(`:/stack/${rig.project}/app`));
    expect(where).toHaveLength(group.dirs.length);
    expect(await group.limits()).toEqual({ memoryBytes: 64 * MiB, pids: 16 });
  });
});
