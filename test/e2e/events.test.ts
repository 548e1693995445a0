// `stack events` through the real CLI (dist), watching while things happen: `up` starts the
// services (start), a service OOM-killed under mem_limit and restarted by `restart: on-failure`
// gives oom, die with exit code 137, restart and start (a new pid), and a healthcheck passing
// then failing gives health_status healthy then unhealthy; SIGINT ends it with exit 0.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { serviceFiles } from '../../src/state/service-files.js';
import { stateRoots } from '../../src/state/paths.js';
import { supervisorPaths } from '../../src/supervisor/paths.js';
import { describeRoot } from '../harness/require.js';
import { eventually } from '../harness/eventually.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

interface Event { time: string; type: string; action: string; id: string; service: string; attributes: Record<string, string> }

describeRoot('stack events', () => {
  const project = `ev${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-events-'));
  const spec = join(dir, 'compose.yaml');
  const env = { ...process.env, STACK_ROOT: join(dir, 'state'), STACK_IP_FORWARD: 'leave' };
  const cli = [bin, '-p', project, '-f', spec];
  const stack = (...args: string[]) => execa(process.execPath, [...cli, ...args], { env, reject: false });
  let watcher: ReturnType<typeof spawn> | undefined;
  let text = '';
  const events = (): Event[] => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event);
  const seen = (service: string, action: string, from = 0) => events().slice(from).findIndex((e) => e.service === service && e.action === action);
  let errors = '';
  /** What a timeout should tell: the watcher's state and stderr, and the service's state as `ps`, its exit record and the supervisor's log show it. */
  const diagnosis = async (service: string) => {
    const ps = await stack('ps', '--all', '--format', 'json');
    let exit = '(none)';
    try {
      exit = readFileSync(serviceFiles(stateRoots(env), project, service).exit, 'utf8');
    } catch {
      // absent
    }
    const pids = events().filter((e) => e.service === service && e.action === 'start').map((e) => e.attributes.pid!);
    const kernel = pids.map((pid) => {
      try {
        return `${pid}: ${/^State:.*$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[0] ?? '?'}`;
      } catch {
        return `${pid}: gone`;
      }
    });
    const watcherState = watcher ? `exit ${String(watcher.exitCode)} signal ${String(watcher.signalCode)}` : 'not started';
    let supervisor = '(none)';
    try {
      supervisor = readFileSync(supervisorPaths(stateRoots(env), project).log, 'utf8').split('\n').slice(-15).join('\n');
    } catch {
      // absent
    }
    return `watcher: ${watcherState}; processes: ${kernel.join(', ')}; stderr: ${errors || '(empty)'}; ps: ${ps.stdout}${ps.stderr}; exit record: ${exit}; supervisor log:\n${supervisor}\nevents:\n${text}`;
  };
  const waitFor = async (service: string, action: string, from = 0) => {
    try {
      return await eventually(`${service} ${action}`, () => {
        const i = seen(service, action, from);
        return i >= 0 ? from + i : undefined;
      });
    } catch (e) {
      throw new Error(`${(e as Error).message} (${await diagnosis(service)})`);
    }
  };

  beforeAll(() => {
    writeFileSync(
      spec,
      [
        'services:',
        '  hog:',
        // Waits for /tmp/go (its own tmpfs: a restarted copy waits again), then grows without end.
        '    command: ["sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.1; done; exec tail /dev/zero"]',
        '    mem_limit: 32m',
        '    restart: on-failure',
        '  checked:',
        '    command: sleep infinity',
        '    healthcheck:',
        '      test: ["CMD", "test", "-e", "/tmp/ok"]',
        '      interval: 200ms',
        '      retries: 1',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    if (watcher && watcher.exitCode === null && watcher.signalCode === null) watcher.kill('SIGKILL');
    await execa(process.execPath, [bin, '-p', project, 'down', '--timeout', '0'], { env, reject: false });
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('tells create, start, oom, die 137, restart, start again, health_status, and destroy on down as they happen', async () => {
    watcher = spawn(process.execPath, [...cli, 'events', '--format', 'json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    watcher.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    watcher.stderr!.on('data', (d: Buffer) => (errors += d.toString()));
    const up = await stack('up', '-d', '--progress', 'plain');
    expect(up.exitCode, String(up.stderr)).toBe(0);
    const firstStart = await waitFor('hog', 'start');
    await waitFor('checked', 'start');
    expect(seen('hog', 'create')).toBeGreaterThanOrEqual(0);
    expect(seen('hog', 'create')).toBeLessThan(firstStart);
    const pid = Number(events()[firstStart]!.attributes.pid);

    // The watcher held still from before the OOM kill until the restart is made: the restarted
    // launcher has removed the exit record by then, and the code comes from the supervisor's
    // restart record (a watcher slower than the 100 ms before a first restart said die without it).
    watcher.kill('SIGSTOP');
    try {
      expect((await stack('exec', 'hog', 'touch', '/tmp/go')).exitCode).toBe(0);
      await eventually('hog to be restarted', async () => {
        const listed = JSON.parse((await stack('ps', '--format', 'json')).stdout || '[]') as { name: string; restarts: number }[];
        return (listed.find((s) => s.name === 'hog')?.restarts ?? 0) >= 1 ? true : undefined;
      }, 30_000);
    } finally {
      watcher.kill('SIGCONT');
    }
    const oom = await waitFor('hog', 'oom', firstStart + 1);
    const die = await waitFor('hog', 'die', firstStart + 1);
    const restart = await waitFor('hog', 'restart', firstStart + 1);
    const again = await waitFor('hog', 'start', firstStart + 1);
    expect(oom).toBeLessThan(die);
    expect(die).toBeLessThan(again);
    expect(restart).toBeLessThanOrEqual(again);
    expect(events()[die]!.attributes.exitCode).toBe('137');
    expect(Number(events()[again]!.attributes.pid)).not.toBe(pid);
    const ps = JSON.parse((await stack('ps', '--format', 'json')).stdout) as { name: string; restarts: number }[];
    expect(ps.find((s) => s.name === 'hog')!.restarts).toBeGreaterThanOrEqual(1);

    expect((await stack('exec', 'checked', 'touch', '/tmp/ok')).exitCode).toBe(0);
    const healthy = await waitFor('checked', 'health_status: healthy');
    expect((await stack('exec', 'checked', 'rm', '/tmp/ok')).exitCode).toBe(0);
    const unhealthy = await waitFor('checked', 'health_status: unhealthy', healthy + 1);
    expect(unhealthy).toBeGreaterThan(healthy);
    for (const e of events()) {
      expect(e.type).toBe('container');
      expect(e.id).toBe(`${project}-${e.service}-1`);
      expect(Number.isNaN(Date.parse(e.time))).toBe(false);
    }

    // down: each service dies, then is destroyed
    const mark = events().length;
    expect((await stack('down', '--timeout', '0', '--progress', 'quiet')).exitCode).toBe(0);
    const destroyed = await waitFor('checked', 'destroy', mark);
    await waitFor('hog', 'destroy', mark);
    const died = seen('checked', 'die', mark);
    expect(died, 'checked dies before it is destroyed').toBeGreaterThanOrEqual(0);
    expect(mark + died).toBeLessThan(destroyed);

    const exited = new Promise<number | null>((resolve) => watcher!.once('exit', (code) => resolve(code)));
    watcher.kill('SIGINT');
    expect(await exited, errors).toBe(0);
  }, 90_000);

  it('text format: compose\'s line; a bad format is a user error', async () => {
    const bad = await stack('events', '--format', 'yaml');
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('unknown format "yaml"');
    expect((await stack('up', '-d', '--progress', 'quiet')).exitCode).toBe(0); // the test above took it down
    const child = spawn(process.execPath, [...cli, 'events', 'checked'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      // Restarted until a start is told: a restart before events' first reading is its baseline, not an event.
      const line = await eventually(`a start line (got ${out})`, async () => {
        const found = out.split('\n').find((l) => / container start /.test(l));
        if (found === undefined) expect((await stack('restart', 'checked')).exitCode).toBe(0);
        return found;
      }, 30_000, 500);
      expect(line).toMatch(new RegExp(`^\\S+Z container start ${project}-checked-1 \\(name=${project}-checked-1, pid=\\d+, project=${project}, service=checked\\)$`));
    } finally {
      child.kill('SIGINT');
    }
  }, 60_000);
});
