// spawnPiped (src/sys/spawn.ts) with its stdio read and written as a ReadyWatcher
// (src/sys/ready-watch.ts) says they can be (src/sys/fd-io.ts), on real programs: what they
// read and write comes through whole, a write waits for room and fails once no one reads, a
// watch stopped is not told, a descriptor a poll may hold is closed only once it returned, and
// nothing is left to hold a process once its reads are done.
import { spawnSync } from 'node:child_process';
import { existsSync, writeSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { communicate, readToEnd, writeAll } from '../../../src/sys/fd-io.js';
import { close, POLLIN, readSome, socketPair } from '../../../src/sys/libc.js';
import { readyWatcher, ReadyWatcher } from '../../../src/sys/ready-watch.js';
import { spawnPiped, type PipedChild } from '../../../src/sys/spawn.js';

const exited = (child: PipedChild): Promise<number | null> =>
  child.exited ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', (code) => resolve(code)));

describe('spawnPiped and fd-io', () => {
  test('a request larger than the socket\'s buffer goes through whole, and comes back whole, with stderr and the exit code; the descriptors are closed', async () => {
    const watcher = readyWatcher();
    const child = await spawnPiped('sh', ['-c', 'cat; echo done >&2; exit 4']);
    const data = Buffer.alloc(4 << 20, 'abcdefghij'); // 4 MiB: many times what a socket pair holds, so the write waits for room
    // The end of stdin is closed through whenFree while a poll waits for the output: it wakes it.
    const said = await communicate(child, data, watcher, (stdout, stderr) => Promise.all([stdout.ended, stderr.ended]));
    expect(said.stdout.length).toBe(data.length);
    expect(said.stdout === data.toString('utf8')).toBe(true);
    expect(said.stderr).toBe('done\n');
    expect(await exited(child)).toBe(4);
    for (const fd of [child.stdin, child.stdout, child.stderr]) expect(() => readSome(fd, Buffer.alloc(1), () => 'read')).toThrow(/EBADF/);
  });

  test('its descriptors do not block: nothing there yet reads as undefined', async () => {
    const child = await spawnPiped('sleep', ['30']);
    expect(readSome(child.stdout, Buffer.alloc(16), () => 'read')).toBeUndefined();
    child.kill('SIGKILL');
    await exited(child);
    for (const fd of [child.stdin, child.stdout, child.stderr]) close(fd);
  });

  test('a write to a child that no longer reads fails (EPIPE)', async () => {
    const watcher = readyWatcher();
    const child = await spawnPiped('true', []);
    await exited(child);
    await expect(writeAll(child.stdin, Buffer.alloc(1 << 20), watcher, 'stdin')).rejects.toMatchObject({ errno: 'EPIPE' });
    for (const fd of [child.stdin, child.stdout, child.stderr]) close(fd);
  });
});

describe('ReadyWatcher', () => {
  test('a watch is told once, with POLLIN; a stopped one is never told', async () => {
    const watcher = ReadyWatcher.open()!;
    const [a, b] = socketPair('test a');
    const [c, d] = socketPair('test c');
    const told: string[] = [];
    const toldA = new Promise<number>((resolve) => watcher.watch(a, POLLIN, (revents) => (told.push('a'), resolve(revents))));
    const stopC = watcher.watch(c, POLLIN, () => told.push('c'));
    stopC();
    writeSync(b, 'x');
    writeSync(d, 'x');
    expect((await toldA) & POLLIN).toBe(POLLIN);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(told).toEqual(['a']); // once, though a stays readable; c not at all
    watcher.close();
    for (const fd of [a, b, c, d]) close(fd);
  });

  test('a descriptor a poll under way holds is closed once that poll returned, not at once; the stop resolves then', async () => {
    const watcher = ReadyWatcher.open()!;
    const [a, b] = socketPair('test a');
    const stop = watcher.watch(a, POLLIN, () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the poll is under way on its thread
    let closed = false;
    const done = stop(() => {
      close(a);
      closed = true;
    });
    expect(closed).toBe(false);
    await done; // resolves once it ran
    expect(closed).toBe(true);
    watcher.close();
    close(b);
  });

  test('whenFree wakes a poll under way that waits for something else: what it closes is closed at once', async () => {
    const watcher = ReadyWatcher.open()!;
    const [a, b] = socketPair('test a');
    const [c, d] = socketPair('test c');
    watcher.watch(a, POLLIN, () => undefined); // never ready: the poll waits
    await new Promise((resolve) => setTimeout(resolve, 20));
    let closed = false;
    const done = watcher.whenFree(() => {
      close(c);
      closed = true;
    });
    const late = new Promise((resolve) => setTimeout(() => resolve('late'), 2000));
    expect(await Promise.race([done.then(() => 'closed'), late])).toBe('closed');
    expect(closed).toBe(true);
    watcher.close();
    for (const fd of [a, b, d]) close(fd);
  });

  test('whenFree of a descriptor the poll under way was not made with closes it at once (a request written whole, never watched)', async () => {
    const watcher = ReadyWatcher.open()!;
    const [a, b] = socketPair('test a');
    const [c, d] = socketPair('test c');
    const stopA = watcher.watch(a, POLLIN, () => undefined); // never ready: the poll waits, holding a only
    await new Promise((resolve) => setTimeout(resolve, 20));
    let closed = false;
    const done = watcher.whenFree(() => {
      close(c);
      closed = true;
    }, c);
    expect(closed).toBe(true); // not on a later turn, once the woken poll came back to this thread
    await done;
    // One the poll holds still waits for it (its watch's stop names it).
    let closedA = false;
    const doneA = stopA(() => {
      close(a);
      closedA = true;
    });
    expect(closedA).toBe(false);
    await doneA;
    expect(closedA).toBe(true);
    watcher.close();
    for (const fd of [b, d]) close(fd);
  });

  test('a process whose reads are done ends; one still reading is held until the child ends', () => {
    // In a node of its own (vitest's has handles of its own): the build's modules (npm run build).
    const root = new URL('../../../dist/sys/', import.meta.url).pathname;
    expect(existsSync(`${root}fd-io.js`), `${root}fd-io.js is missing: run npm run build`).toBe(true);
    const program = (stopEarly: boolean): string =>
      `import { spawnPiped } from '${root}spawn.js';
       import { readToEnd } from '${root}fd-io.js';
       import { readyWatcher } from '${root}ready-watch.js';
       import { close } from '${root}libc.js';
       const child = await spawnPiped('sh', ['-c', 'sleep 1; echo late']);
       child.unref();
       const out = readToEnd(child.stdout, readyWatcher(), 'stdout');
       console.log('reading');
       ${stopEarly ? "setTimeout(() => out.stop(() => close(child.stdout)), 50);" : "out.ended.then(() => console.log(out.text().trim()));"}`;
    const run = (stopEarly: boolean): string =>
      spawnSync(process.execPath, ['--input-type=module', '-e', program(stopEarly)], { encoding: 'utf8', timeout: 10_000 }).stdout.trim();
    expect(run(true)).toBe('reading'); // ended once it stopped reading, before the child wrote
    expect(run(false)).toBe('reading\nlate'); // held until the child wrote and ended
  });
});
