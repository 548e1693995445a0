// The limits hold against the workload itself: it is in its cgroups from its first
// instruction, a fork bomb stops at pids_limit while the host stays responsive, a cpu quota
// caps its cpu time, and a root service can neither raise its limits nor leave its cgroups
// (cgroupfs is read-only in its mount namespace). Real kernel, root.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stopService } from '../../../src/runtime/stop.js';
import { describeRoot } from '../../harness/require.js';
import { testService } from '../../fixtures/launch/service.js';
import { buildLauncher, LaunchRig } from './harness.js';

describeRoot('launch: limits hold against the workload', () => {
  const rig = new LaunchRig();
  beforeAll(buildLauncher);
  afterAll(() => rig.cleanup());

  it('a fork bomb stops at its pids limit; the host keeps spawning; stop clears it', async () => {
    // pid 1 execs into sleep once the bomb is lit: a shell looping on `sleep 1` could meet the
    // limit at its own fork and exit (dash does), which left nothing running to stop (1 run in 6).
    const s = await rig.start(testService({ command: ['sh', '-c', 'bomb() { bomb | bomb & }; bomb; exec sleep 3600'], limits: { pids: 32 } }));
    const events = s.group.controllerFile('pids', 'pids.events');
    const refusedForks = () => Number(/^max (\d+)$/m.exec(readFileSync(events, 'utf8'))?.[1] ?? 0);
    let peak = 0;
    // It bombs until the kernel refuses a fork for the limit, however loaded the machine is.
    for (let i = 0; i < 1500 && refusedForks() === 0; i++) {
      peak = Math.max(peak, (await s.group.stats()).pids);
      await new Promise((r) => setTimeout(r, 10));
    }
    for (let i = 0; i < 20; i++) {
      peak = Math.max(peak, (await s.group.stats()).pids);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(refusedForks()).toBeGreaterThan(0); // it did bomb into its limit...
    expect(peak).toBeLessThanOrEqual(32); // ...and never past it
    const t0 = performance.now();
    execFileSync('true');
    expect(performance.now() - t0).toBeLessThan(2_000);
    const result = await stopService({ ...s, cgroup: s.group }, { signal: 'SIGTERM', graceMs: 10_000 });
    expect(result.outcome).toBe('killed-at-once');
    expect(await s.group.pids()).toEqual([]);
  });

  it('a cpu quota caps a busy loop', async () => {
    // `timeout` is pid 1 and ends its busy child after 1 s of wall time.
    const { record, started } = await rig.run(testService({ command: ['timeout', '1', 'sh', '-c', 'while :; do :; done'], limits: { cpus: 0.2 } }));
    expect(record.exitCode).toBe(124);
    const cpuSeconds = (await started.group.stats()).cpuUsageNs / 1e9;
    expect(cpuSeconds).toBeGreaterThan(0);
    expect(cpuSeconds).toBeLessThan(0.2 * 1.0 + 0.15); // 0.2 cpu for ~1 s, plus slack for scheduling
  });

  it('a root service can neither raise its own limits nor move itself out of its cgroups', async () => {
    const group = await rig.group('readonly', { memoryBytes: 64 * 1024 * 1024 });
    const memoryLimit = group.controllerFile('memory', group.version === 1 ? 'memory.limit_in_bytes' : 'memory.max');
    const script = [
      `echo 1073741824 > ${memoryLimit} && echo raised`,
      // The hierarchy's root: the group is stack/<project>/<service>.
      `echo $$ > ${join(group.dirs[0]!, '..', '..', '..', 'cgroup.procs')} && echo escaped`,
      `cat ${memoryLimit}`,
    ].join('; ');
    const { record, lines } = await rig.run(testService({ command: ['sh', '-c', script] }), { cgroup: group });
    expect(record.exitCode).toBe(0);
    expect(lines).not.toContain('raised');
    expect(lines).not.toContain('escaped');
    expect(lines.filter((l) => l.includes('Read-only file system'))).toHaveLength(2);
    expect(lines).toContain(String(64 * 1024 * 1024));
  });
});
