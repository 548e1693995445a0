// Healthchecks run by the supervisor inside each service: a service that answers turns
// healthy, one whose check fails turns unhealthy with the check's output kept, and
// waitHealthy reports both (and refuses a service without a healthcheck). Real kernel, root.
import { utimesSync } from 'node:fs';
import { expect, it } from 'vitest';
import type { Healthcheck } from '../../../src/spec/project.js';
import { ensureSupervisor, readHealth, serviceStatePaths, supervisorStatus, waitHealthy } from '../../../src/supervisor/index.js';
import { processStartedAt } from '../../../src/supervisor/prober.js';
import { publishedStatus } from '../../../src/supervisor/control.js';
import { supervisorPaths } from '../../../src/supervisor/paths.js';
import type { ServiceStatus } from '../../../src/supervisor/protocol.js';
import { describeRoot } from '../../harness/require.js';
import { eventually, PROGRAMS_DIR, supervisorRigs } from './rig.js';

const echo = `${PROGRAMS_DIR}/echo.mjs`;

/** A fast healthcheck: probes every 100 ms. */
function check(test: string[], extra: Partial<Healthcheck> = {}): Healthcheck {
  return { test, intervalMs: 100, timeoutMs: 5000, retries: 2, startPeriodMs: 0, startIntervalMs: 0, ...extra };
}

describeRoot('supervisor: healthchecks', () => {
  const newRig = supervisorRigs();

  it('healthy when the check passes inside the service, unhealthy with its output when it fails', async () => {
    const rig = newRig();
    // The check connects to the service's own port from inside its netns: it passes only there.
    const connect = "require('net').connect(8080,'127.0.0.1').on('connect',()=>{console.log('up on '+require('os').hostname());process.exit(0)}).on('error',()=>process.exit(1))";
    await rig.up({
      api: { command: ['node', echo, '8080'], healthcheck: check(['CMD', 'node', '-e', connect]) },
      broken: { command: ['sleep', '3600'], healthcheck: check(['CMD-SHELL', 'echo "no database on $(hostname)" >&2; exit 1']) },
      plain: { command: ['sleep', '3600'] },
    });
    await ensureSupervisor(rig.project, rig.roots);
    const options = { roots: rig.roots, timeoutMs: 20_000 };
    await waitHealthy(rig.project, 'api', options);
    await expect(waitHealthy(rig.project, 'broken', options)).rejects.toMatchObject({
      code: 'SERVICE_UNHEALTHY',
      message: expect.stringMatching(/service "broken" is unhealthy: no database on broken/),
    });
    await expect(waitHealthy(rig.project, 'plain', options)).rejects.toMatchObject({ code: 'HEALTHCHECK_MISSING', message: expect.stringContaining('"plain"') });

    const api = await readHealth(serviceStatePaths(rig.roots, rig.project, 'api').health);
    expect(api).toMatchObject({ status: 'healthy', failingStreak: 0, pid: (await rig.record('api'))!.process!.pid });
    expect(api!.log.at(-1)).toMatchObject({ exitCode: 0, output: 'up on api\n' });
    const broken = await readHealth(serviceStatePaths(rig.roots, rig.project, 'broken').health);
    expect(broken).toMatchObject({ status: 'unhealthy' });
    expect(broken!.failingStreak).toBeGreaterThanOrEqual(2);

    const status = await supervisorStatus(rig.project, rig.roots);
    expect(status!.services.map((s) => [s.name, s.state, s.health])).toEqual([
      ['api', 'running', 'healthy'],
      ['broken', 'running', 'unhealthy'],
      ['plain', 'running', null],
    ]);
    expect(status!.services[1]!.healthOutput).toBe('no database on broken');

    // What it publishes for `ps` (supervisor.ts publishStatus) says the same, and is taken only
    // while the kernel shows the processes it names; else undefined: ps asks (supervisorStatus).
    const seen = new Map<string, number | null>();
    for (const name of ['api', 'broken', 'plain']) seen.set(name, (await rig.record(name))!.process!.pid);
    const shown = (s: { services: readonly ServiceStatus[] }) => s.services.map((x) => [x.name, x.state, x.pid, x.health, x.healthOutput ?? null, x.restarts]);
    const published = await eventually(async () => {
      const p = await publishedStatus(rig.project, rig.roots, seen);
      return p !== undefined && p !== 'none' && JSON.stringify(shown(p)) === JSON.stringify(shown(status!)) ? p : undefined;
    }, 'the published status to say what status() says');
    expect(shown(published)).toEqual(shown(status!));
    expect(await publishedStatus(rig.project, rig.roots, new Map([...seen, ['api', seen.get('api')! + 1]]))).toBeUndefined();
    expect(await publishedStatus(rig.project, rig.roots, new Map([...seen, ['plain', null]]))).toBeUndefined();
    expect(await publishedStatus(rig.project, rig.roots, new Map([...seen, ['absent', null]]))).toBeUndefined();
    expect(await publishedStatus('not-' + rig.project, rig.roots, seen)).toBe('none');
    // Older than 3 s: a supervisor that no longer ticks; not taken until its heartbeat renews it (every second).
    const file = supervisorPaths(rig.roots, rig.project).status;
    const old = new Date(Date.now() - 10_000);
    utimesSync(file, old, old);
    expect(await publishedStatus(rig.project, rig.roots, seen)).toBeUndefined();
    await eventually(async () => (await publishedStatus(rig.project, rig.roots, seen)) !== undefined, 'the heartbeat to renew the published status', 5000);
  });

  it('start_period: failures do not count until it is over, a timeout is a failure', async () => {
    const rig = newRig();
    await rig.up({
      slow: { command: ['sleep', '3600'], healthcheck: check(['CMD', 'sleep', '5'], { timeoutMs: 200, retries: 1, startPeriodMs: 2500, startIntervalMs: 100 }) },
    });
    await ensureSupervisor(rig.project, rig.roots);
    await expect(waitHealthy(rig.project, 'slow', { roots: rig.roots, timeoutMs: 20_000 })).rejects.toMatchObject({
      code: 'SERVICE_UNHEALTHY',
      message: expect.stringContaining('exceeded timeout (200 ms)'),
    });
    const process = (await rig.record('slow'))!.process!;
    const health = (await readHealth(serviceStatePaths(rig.roots, rig.project, 'slow').health))!;
    // retries: 1 — had the probes inside the start period counted, the first would have decided.
    expect(health.log.length).toBeGreaterThanOrEqual(2);
    expect(health.log.every((p) => p.exitCode === -1)).toBe(true);
    expect(Date.parse(health.log.at(-1)!.start) - processStartedAt(process.startTime)).toBeGreaterThanOrEqual(2500 - 50);
  });
});
