// depends_on conditions from the executor's side: waitHealthy rejects for a service that exits
// before it is healthy; waitCompleted resolves for exit 0 and names the failure otherwise.
// Real kernel, root.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureSupervisor, waitCompleted, waitHealthy } from '../../../src/supervisor/index.js';
import { describeRoot } from '../../harness/require.js';
import { buildNative, bundleSupervisor, removeBundles, ProjectRig } from './rig.js';

describeRoot('supervisor: waiting for dependencies', () => {
  const rig = new ProjectRig();
  beforeAll(async () => {
    buildNative();
    process.env.STACK_SUPERVISOR_ENTRY = await bundleSupervisor();
    const check = { test: ['CMD', 'false'], intervalMs: 100, timeoutMs: 1000, retries: 50, startPeriodMs: 0, startIntervalMs: 0 };
    await rig.up({
      crashing: { command: ['sh', '-c', 'sleep 0.3; exit 2'], healthcheck: check },
      migrate: { command: ['sh', '-c', 'sleep 0.2; exit 0'] },
      failing: { command: ['sh', '-c', 'exit 4'] },
    });
    await ensureSupervisor(rig.project, rig.roots);
  });
  afterAll(async () => {
    await rig.cleanup();
    removeBundles();
  });

  it('waitHealthy: a service that exits before it is healthy is SERVICE_EXITED, saying how', async () => {
    await expect(waitHealthy(rig.project, 'crashing', { roots: rig.roots, timeoutMs: 10_000 })).rejects.toMatchObject({
      code: 'SERVICE_EXITED',
      message: expect.stringContaining('service "crashing" exited with code 2 before it was healthy'),
    });
  });

  it('waitHealthy: a supervisor it started that leaves is SUPERVISOR_FAILED, with the end of its log', async () => {
    // `stack` does not wait for a supervisor's start: the wait that started it notices its end.
    const other = new ProjectRig();
    const entry = join(other.base, 'failing-supervisor.cjs');
    writeFileSync(entry, "console.log('the test supervisor cannot start'); process.exit(1);\n");
    const saved = process.env.STACK_SUPERVISOR_ENTRY;
    try {
      await other.up({ web: { command: ['sleep', '3600'], healthcheck: { test: ['CMD', 'false'], intervalMs: 100, timeoutMs: 1000, retries: 50, startPeriodMs: 0, startIntervalMs: 0 } } });
      process.env.STACK_SUPERVISOR_ENTRY = entry;
      await expect(waitHealthy(other.project, 'web', { roots: other.roots, timeoutMs: 20_000 })).rejects.toMatchObject({
        code: 'SUPERVISOR_FAILED',
        message: expect.stringContaining('the test supervisor cannot start'),
      });
    } finally {
      process.env.STACK_SUPERVISOR_ENTRY = saved;
      await other.cleanup();
    }
  });

  it('waitHealthy: an unknown service is SERVICE_UNKNOWN', async () => {
    await expect(waitHealthy(rig.project, 'nope', { roots: rig.roots })).rejects.toMatchObject({ code: 'SERVICE_UNKNOWN' });
  });

  it('waitCompleted: exit 0 completes; another code is SERVICE_FAILED naming it', async () => {
    await expect(waitCompleted(rig.project, 'migrate', { roots: rig.roots, timeoutMs: 10_000 })).resolves.toMatchObject({ exitCode: 0 });
    await expect(waitCompleted(rig.project, 'failing', { roots: rig.roots, timeoutMs: 10_000 })).rejects.toMatchObject({
      code: 'SERVICE_FAILED',
      message: 'service "failing" did not complete successfully: exited with code 4',
    });
  });
});
