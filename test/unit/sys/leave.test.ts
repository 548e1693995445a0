// leaveNow (src/sys/leave.ts, native/lib/leave.c): a process that leaves through it ends with its
// status, its 'exit' listeners run first, the call does not return, its pipes reach their end
// for a reader, and the process that held its memory meanwhile is gone soon after. In nodes of
// their own, from the build (`npm run build`: dist/ and native/build/libstack.so).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { eventually } from '../../harness/eventually.js';

const dist = new URL('../../../dist/sys/', import.meta.url).pathname;
const libstack = new URL('../../../native/build/libstack.so', import.meta.url).pathname;

/** Live processes (not zombies) whose environment holds `marker`: what shares a child's memory holds its environment too. */
function holding(marker: string): number[] {
  return readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${entry}/stat`, 'utf8'))) return [];
      return readFileSync(`/proc/${entry}/environ`, 'latin1').includes(marker) ? [Number(entry)] : [];
    } catch {
      return []; // gone meanwhile, or not ours to read
    }
  });
}

/** Runs `body` (an ES module's code, dist/sys/ as `dist`) in a node of its own; its status, what it wrote on stdout (to its end), and its marker. */
function runNode(body: string): Promise<{ status: number | null; out: string; marker: string }> {
  const marker = `STACK_LEAVE_TEST=${randomBytes(6).toString('hex')}`;
  const [key, value] = marker.split('=') as [string, string];
  const child = spawn(process.execPath, ['--input-type=module', '-e', `const dist = ${JSON.stringify(dist)};\n${body}`], {
    env: { ...process.env, [key]: value },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  // 'close': the process ended and every holder of its stdout's write end closed it.
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, out, marker })));
}

describe('leaveNow', () => {
  test('ends the process with its status once its exit listeners ran; nothing keeps its memory or its pipes after', async () => {
    expect(existsSync(libstack), `${libstack} is missing: run npm run build`).toBe(true);
    const r = await runNode(`
      const { loadKoffi } = await import(dist + 'koffi.js');
      const { leaveNow } = await import(dist + 'leave.js');
      loadKoffi();
      const heap = Array.from({ length: 200000 }, (_, i) => ({ i })); // memory to tear down
      process.on('exit', (code) => process.stdout.write('exit listener ' + code + ' ' + heap.length + '\\n'));
      leaveNow(7);
      process.stdout.write('returned\\n');
      process.exit(9);`);
    expect(r).toMatchObject({ status: 7, out: 'exit listener 7 200000\n' });
    await eventually('the memory holder gone', () => (holding(r.marker).length === 0 ? true : undefined), 5000);
  }, 15_000);

  test("gives the shared pipe back the O_NONBLOCK it had at start, as Node's exit does: the shell's next command writes to it", () => {
    // Node makes a pipe it writes through process.stdout non-blocking; the shell's `grep` after
    // it shares that pipe (one open file description): its flags show what the leave left.
    const body = `const dist = ${JSON.stringify(dist)};
      const { loadKoffi } = await import(dist + 'koffi.js');
      const { leaveNow } = await import(dist + 'leave.js');
      loadKoffi();
      process.stdout.write('written\\n');
      leaveNow(0);`;
    const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
    const out = execFileSync('sh', ['-c', `${quote(process.execPath)} --input-type=module -e ${quote(body)} && grep '^flags' /proc/self/fdinfo/1`], { encoding: 'utf8' });
    const [written, flags] = out.trim().split('\n');
    expect(written).toBe('written');
    expect(Number.parseInt(flags!.split(/\s+/)[1]!, 8) & 0o4000).toBe(0);
  });

  test("leaves while libuv's workers end jobs: they still wake the loop, nothing aborts", async () => {
    // Each worker that ends a job writes the loop's eventfd, and libuv aborts when that write
    // fails: closing every descriptor under them, as the leave once did, ended a `down -v` with
    // SIGABRT now and then (CI). Here jobs end throughout the leave: 20 nodes, each with work
    // queued on every worker.
    const runs = await Promise.all(
      Array.from({ length: 20 }, () =>
        runNode(`
          const { loadKoffi } = await import(dist + 'koffi.js');
          const { leaveNow } = await import(dist + 'leave.js');
          const { pbkdf2 } = await import('node:crypto');
          loadKoffi();
          for (let i = 0; i < 400; i++) pbkdf2('secret', 'salt', 200 + i, 32, 'sha256', () => undefined);
          await new Promise((resolve) => setTimeout(resolve, 5));
          leaveNow(5);`),
      ),
    );
    expect(runs.map((r) => r.status)).toEqual(Array(20).fill(5));
  }, 60_000);

  test('returns, doing nothing, where koffi is not loaded: the caller exits its own way', async () => {
    const r = await runNode(`
      const { leaveNow } = await import(dist + 'leave.js');
      process.on('exit', (code) => process.stdout.write('exit listener ' + code + '\\n'));
      leaveNow(7);
      process.stdout.write('returned\\n');
      process.exitCode = 3;`);
    expect(r).toMatchObject({ status: 3, out: 'returned\nexit listener 3\n' });
  });
});
