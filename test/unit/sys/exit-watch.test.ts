// ExitWatcher (src/sys/exit-watch.ts) on real processes: an exit is reported once, for the
// process that was watched only; a process not running (or another one with the pid) is not
// watched; a watch let go of reports nothing; close() lets the event loop end.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { ExitWatcher } from '../../../src/sys/exit-watch.js';
import { readStartTime } from '../../../src/sys/proc.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function sleeper(): { child: ChildProcess; pid: number; startTime: number } {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(child);
  return { child, pid: child.pid!, startTime: readStartTime(child.pid!)! };
}

/** Resolves with the names reported within `ms`. */
function reported(ms: number, names: string[]): Promise<string[]> {
  return new Promise((resolve) => setTimeout(() => resolve([...names]), ms));
}

describe('ExitWatcher', () => {
  test('reports the exit of each watched process, once, and only of those that exited', async () => {
    const watcher = ExitWatcher.open();
    expect(watcher).toBeDefined();
    const seen: string[] = [];
    const [a, b, c] = [sleeper(), sleeper(), sleeper()];
    const exited = new Promise<void>((resolve) => {
      watcher!.watch(a.pid, a.startTime, () => (seen.push('a'), resolve()));
    });
    watcher!.watch(b.pid, b.startTime, () => seen.push('b'));
    const stopC = watcher!.watch(c.pid, c.startTime, () => seen.push('c'));
    expect(stopC).toBeTypeOf('function');
    stopC!(); // let go of: its exit is not reported
    a.child.kill('SIGKILL');
    c.child.kill('SIGKILL');
    await exited;
    expect(await reported(100, seen)).toEqual(['a']);
    b.child.kill('SIGTERM');
    await new Promise((r) => b.child.once('exit', r));
    expect(await reported(100, seen)).toEqual(['a', 'b']);
    watcher!.close();
  });

  test('watches no process that does not run now, nor another that got the pid', () => {
    const watcher = ExitWatcher.open()!;
    const a = sleeper();
    expect(watcher.watch(a.pid, a.startTime + 1, () => undefined)).toBeUndefined(); // another start time
    expect(watcher.watch(2 ** 22 + 7, 1, () => undefined)).toBeUndefined(); // above pid_max: no such pid
    watcher.close();
  });

  test('a watcher with a process to watch holds the event loop until closed', () => {
    // In a node of its own (vitest's has handles of its own): the build's module (npm run build).
    const module = new URL('../../../dist/sys/exit-watch.js', import.meta.url).pathname;
    expect(existsSync(module), `${module} is missing: run npm run build`).toBe(true);
    const program = (closeIt: boolean): string =>
      `import { ExitWatcher } from '${module}';
       import { spawn } from 'node:child_process';
       import { readFileSync } from 'node:fs';
       const child = spawn('sleep', ['2'], { stdio: 'ignore' });
       child.unref();
       const start = Number(readFileSync('/proc/' + child.pid + '/stat', 'utf8').split(') ')[1].split(' ')[19]);
       const w = ExitWatcher.open();
       w.watch(child.pid, start, () => console.log('exited'));
       console.log('watching');
       ${closeIt ? 'setTimeout(() => w.close(), 100);' : ''}`;
    const run = (closeIt: boolean): string =>
      spawnSync(process.execPath, ['--input-type=module', '-e', program(closeIt)], { encoding: 'utf8', timeout: 10_000 }).stdout.trim();
    expect(run(true)).toBe('watching'); // ended once closed, before the process it watched did
    expect(run(false)).toBe('watching\nexited'); // held until the process it watched ended
  });

  test('process.exit and an uncaught exception end the process while a poll waits (Node waits for libuv\'s threads)', () => {
    const module = new URL('../../../dist/sys/exit-watch.js', import.meta.url).pathname;
    const program = (end: string): string =>
      `import { ExitWatcher } from '${module}';
       import { spawn } from 'node:child_process';
       import { readFileSync } from 'node:fs';
       const child = spawn('sleep', ['5'], { stdio: 'ignore', detached: true });
       child.unref();
       console.log(child.pid);
       const start = Number(readFileSync('/proc/' + child.pid + '/stat', 'utf8').split(') ')[1].split(' ')[19]);
       ExitWatcher.open().watch(child.pid, start, () => console.log('exited'));
       setTimeout(() => { ${end} }, 100);`;
    for (const [end, status] of [['process.exit(3)', 3], ["throw new Error('boom')", 1]] as const) {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', program(end)], { encoding: 'utf8', timeout: 4000 });
      const pid = Number(r.stdout.trim().split('\n')[0]);
      if (pid > 0) spawnSync('kill', ['-9', String(pid)]);
      // Ended by itself with its own status, before the sleep it watched (the timeout would give null).
      expect({ status: r.status, out: r.stdout.includes('exited') }).toEqual({ status, out: false });
    }
  });
});
