// spawnPiped and spawnDetached (src/sys/spawn.ts): real programs started with posix_spawn (on
// one of libuv's threads), their stdio (read and written with sys/fd-io.ts), their exit (reaped,
// no zombie left), what they inherit, and the errors of a program that cannot run.
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { communicate } from '../../../src/sys/fd-io.js';
import { close } from '../../../src/sys/libc.js';
import { readyWatcher } from '../../../src/sys/ready-watch.js';
import { spawnDetached, spawnPiped, type PipedChild } from '../../../src/sys/spawn.js';

const dir = mkdtempSync(join(tmpdir(), 'stack-spawn-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Feeds the child `input` (then the end of its stdin); everything it writes to stdout and stderr, and how it ended. Its descriptors are closed. */
async function finished(child: PipedChild, input = ''): Promise<{ out: string; err: string; code: number | null; signal: NodeJS.Signals | null }> {
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.exited ? resolve([child.exitCode, child.signalCode]) : child.once('exit', (c, s) => resolve([c, s])),
  );
  const said = await communicate(child, Buffer.from(input), readyWatcher(), (stdout, stderr) => Promise.all([stdout.ended, stderr.ended]));
  const [code, signal] = await exited;
  return { out: said.stdout, err: said.stderr, code, signal };
}

/** The state letter of `pid` in /proc (undefined once it is reaped). */
function procState(pid: number): string | undefined {
  try {
    return /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

describe('spawnPiped', () => {
  test('stdin, stdout and stderr are the child\'s, and its exit code comes back; it is reaped', async () => {
    const child = await spawnPiped('sh', ['-c', 'cat; echo to-stderr >&2; exit 3']);
    const result = await finished(child, 'hello\n');
    expect(result).toEqual({ out: 'hello\n', err: 'to-stderr\n', code: 3, signal: null });
    expect(child.exitCode).toBe(3);
    expect(procState(child.pid)).toBeUndefined(); // no zombie
  });

  test('a signal that ends it is reported by name', async () => {
    const child = await spawnPiped('sleep', ['30']);
    const done = finished(child);
    expect(child.kill('SIGKILL')).toBe(true);
    expect(await done).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(child.kill('SIGKILL')).toBe(false); // reaped: its pid is not signalled again
  });

  test('the environment, working directory and session are the ones asked for; no signal ignored or blocked', async () => {
    const child = await spawnPiped('/bin/sh', ['-c', 'echo "$FOO $(pwd)"; grep -E "^(SigIgn|SigBlk)" /proc/self/status; ps -o sid= -p $$; echo $$'], {
      env: { FOO: 'bar', PATH: '/usr/bin:/bin' },
      cwd: dir,
      detached: true,
    });
    const { out, code } = await finished(child);
    expect(code).toBe(0);
    const [first, ...rest] = out.trim().split('\n');
    const pid = rest.pop();
    const sid = rest.pop();
    const mask = (key: string): string | undefined => rest.find((l) => l.startsWith(`${key}:`));
    expect(first).toBe(`bar ${dir}`);
    // Node ignores SIGPIPE and SIGXFSZ; the child must not inherit that. (glibc's posix_spawn
    // leaves its own signals 32 and 33 ignored, the top two bits shown: the launcher resets them.)
    const bits = (key: string): bigint => BigInt(`0x${mask(key)?.split(/\s+/)[1] ?? 'ff'}`);
    expect(bits('SigIgn') & 0x7fffffffn).toBe(0n); // signals 1-31
    expect(bits('SigBlk')).toBe(0n);
    expect(sid!.trim()).toBe(pid); // setsid: it leads its own session
  });

  test('a program that is not there, or not executable, rejects with ENOENT or EACCES, and leaves no descriptor open', async () => {
    const before = readdirSync('/proc/self/fd').length;
    await expect(spawnPiped(join(dir, 'missing'), [])).rejects.toMatchObject({ code: 'ENOENT' });
    const script = join(dir, 'not-executable');
    writeFileSync(script, '#!/bin/sh\n');
    chmodSync(script, 0o644);
    await expect(spawnPiped(script, [])).rejects.toMatchObject({ code: 'EACCES' });
    expect(readdirSync('/proc/self/fd').length).toBe(before); // the socket pairs made for them are closed
  });

  test('a child keeps the event loop alive until it ends, unless unref()\'d', () => {
    // In a node of its own (this one has handles of vitest's): the build's module (npm run build).
    const module = new URL('../../../dist/sys/spawn.js', import.meta.url).pathname;
    expect(existsSync(module), `${module} is missing: run npm run build`).toBe(true);
    const program = (unref: boolean): string =>
      `import { spawnPiped } from '${module}';
       import { closeSync } from 'node:fs';
       const child = await spawnPiped('sh', ['-c', 'sleep 0.3; exit 7']);
       closeSync(child.stdin); closeSync(child.stdout); closeSync(child.stderr);
       ${unref ? 'child.unref();' : ''}
       child.once('exit', (code) => console.log('exit', code));`;
    const run = (unref: boolean): string =>
      spawnSync(process.execPath, ['--input-type=module', '-e', program(unref)], { encoding: 'utf8' }).stdout;
    expect(run(false).trim()).toBe('exit 7');
    expect(run(true).trim()).toBe('');
  });

  test('a child that exits at once is reaped and reported, one after another', async () => {
    // `true` execs and exits at once: its SIGCHLD may come before the spawn's answer reaches this
    // thread (spawnPiped then reaps once it knows the pid), and with no other child of
    // posix_spawn running no later SIGCHLD would. Here the answer came first in every run seen.
    for (let i = 0; i < 30; i++) {
      const child = await spawnPiped('true', []);
      // As its callers do: the listener right after the spawn, never a look at `exited` first.
      const code = await new Promise((resolve) => child.once('exit', (c) => resolve(c)));
      for (const fd of [child.stdin, child.stdout, child.stderr]) close(fd);
      expect(code).toBe(0);
      expect(procState(child.pid)).toBeUndefined();
    }
  });

  test('twenty at once: each its own stdio and exit code, a session of its own, no signal ignored or blocked', async () => {
    const children = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        spawnPiped('/bin/sh', ['-c', `read x; echo "$x ${i}"; grep -E "^(SigIgn|SigBlk)" /proc/self/status; ps -o sid= -p $$; echo $$; exit ${i}`], {
          env: { PATH: '/usr/bin:/bin' },
          cwd: dir,
          detached: true,
        }),
      ),
    );
    expect(new Set(children.map((c) => c.pid)).size).toBe(20);
    const results = await Promise.all(
      children.map((c, i) => finished(c, 'child\n').then((r) => ({ ...r, i }))),
    );
    for (const { out, code, i } of results) {
      const [first, ...rest] = out.trim().split('\n');
      const pid = rest.pop();
      const sid = rest.pop();
      expect(first).toBe(`child ${i}`);
      expect(code).toBe(i);
      const bits = (key: string): bigint => BigInt(`0x${rest.find((l) => l.startsWith(`${key}:`))?.split(/\s+/)[1] ?? 'ff'}`);
      expect(bits('SigIgn') & 0x7fffffffn).toBe(0n);
      expect(bits('SigBlk')).toBe(0n);
      expect(sid!.trim()).toBe(pid);
    }
  });
});

describe('spawnDetached', () => {
  test('hands over descriptors as 0, 1, 2, 3, … in the order given, whatever their numbers; a session of its own; reaped when it ends', async () => {
    // Enough files that their descriptors are numbered among the targets (3 … 3 + count): a
    // dup2 done in order would overwrite one before it is read.
    const files = Array.from({ length: 40 }, (_, i) => join(dir, `fd-${i}`));
    for (const f of files) writeFileSync(f, '');
    const fds = files.map((f) => openSync(f, 'r'));
    const report = join(dir, 'fd-report');
    const out = openSync(report, 'w');
    try {
      const given = [fds[0]!, out, out, ...[...fds].reverse()]; // 0 from fds[0], 1 and 2 the report, 3… the rest backwards
      expect(Math.min(...fds)).toBeLessThan(given.length); // some are among the targets
      const targets = Array.from({ length: fds.length }, (_, i) => i + 3);
      const before = readdirSync('/proc/self/fd').length;
      // Its descriptors besides 0..42, each with what it names (the shell's own, from 10 up, are
      // not ours: it moves nothing it was given, so only a leaked copy of ours above 42 would show).
      const extra = `for f in /proc/$$/fd/*; do n=\${f##*/}; [ "$n" -gt ${given.length - 1} ] && printf '%s=%s ' "$n" "$(readlink $f)"; done; echo`;
      const pid = await spawnDetached('/bin/sh', ['-c', `${extra}; for n in 0 ${targets.join(' ')}; do echo "$n $(readlink /proc/self/fd/$n)"; done; ps -o sid= -p $$; echo $$`], {
        fds: given,
        env: { PATH: '/usr/bin:/bin' },
        cwd: dir,
      });
      expect(readdirSync('/proc/self/fd').length).toBe(before); // the copies above the targets are closed
      for (const fd of fds) closeSync(fd); // the child has its own
      const all = await (async () => {
        for (let i = 0; i < 100; i++) {
          const text = readFileSync(report, 'utf8');
          if (text.split('\n').length >= fds.length + 5) return text.replace(/\n$/, '').split('\n');
          await new Promise((r) => setTimeout(r, 20));
        }
        throw new Error(`no report: ${readFileSync(report, 'utf8')}`);
      })();
      const [above, ...lines] = all;
      // Above its 42: never a copy made for the spawn, which would name one of our files. What
      // else is there is what this process held without close-on-exec at that moment (a fork
      // passes those on too): under load, descriptors of the test runner's own come and go.
      const ours = new Set([...files, report]);
      const leaked = above!.trim().split(/\s+/).filter(Boolean).filter((entry) => ours.has(entry.slice(entry.indexOf('=') + 1)));
      expect(leaked).toEqual([]);
      expect(lines.slice(0, fds.length + 1)).toEqual([`0 ${files[0]}`, ...[...files].reverse().map((f, i) => `${i + 3} ${f}`)]);
      const [sid, self] = lines.slice(fds.length + 1);
      expect(sid!.trim()).toBe(String(pid)); // its own session
      expect(self).toBe(String(pid));
      for (let i = 0; i < 100 && procState(pid) !== undefined; i++) await new Promise((r) => setTimeout(r, 20));
      expect(procState(pid)).toBeUndefined(); // reaped: no zombie while this process runs
    } finally {
      closeSync(out);
    }
  });

  test('a program that cannot be run is said so, and the copies made for it are closed', async () => {
    const files = Array.from({ length: 30 }, (_, i) => join(dir, `gone-${i}`));
    for (const f of files) writeFileSync(f, '');
    const fds = files.map((f) => openSync(f, 'r'));
    try {
      const before = readdirSync('/proc/self/fd').length;
      const failed = await spawnDetached(join(dir, 'no-such-program'), [], { fds: [fds[0]!, fds[1]!, fds[2]!, ...fds], env: {} }).catch((e: unknown) => e);
      expect(failed).toMatchObject({ code: 'ENOENT' });
      expect(readdirSync('/proc/self/fd').length).toBe(before);
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  });
});
