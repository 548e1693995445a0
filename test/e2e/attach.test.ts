// `stack attach` through the real CLI (bin/stack.cjs over dist/: `npm run build` first) against
// real services: what is typed reaches a `stdin_open` service's stdin and a `tty` service's
// terminal, its output from then on comes back as it is written, the detach keys leave it
// running, a signal to the attach reaches the service, and the attach ends with its status.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../harness/require.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeWith({ root: true, commands: ['ip'] }, 'stack attach', () => {
  const project = `at${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-attach-'));
  const env = { ...process.env, STACK_ROOT: join(dir, 'state'), STACK_IP_FORWARD: 'leave' };
  const args = (...rest: string[]) => [bin, '-p', project, '-f', join(dir, 'stack.yaml'), ...rest];
  const stack = (...rest: string[]) => execa(process.execPath, args(...rest), { env, reject: false, stdin: 'ignore' });
  /** `stack attach` with a pipe as its stdin, for the test to write to. */
  const attach = (...rest: string[]): ResultPromise<{ reject: false; stdin: 'pipe'; timeout: number }> =>
    execa(process.execPath, args('attach', ...rest), { env, reject: false, stdin: 'pipe', timeout: 20_000 }) as never;
  /** Resolves once the attach has printed `text`. */
  const printed = (child: ReturnType<typeof attach>, text: string): Promise<void> =>
    new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no "${text}" in ${JSON.stringify(out)}`)), 10_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes(text)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  const state = async (): Promise<Record<string, string>> =>
    Object.fromEntries((JSON.parse((await stack('ps', '--format', 'json')).stdout) as { name: string; state: string }[]).map((r) => [r.name, r.state]));

  beforeAll(async () => {
    writeFileSync(
      join(dir, 'stack.yaml'),
      [
        'services:',
        '  repl:',
        // Prints a marker every 50 ms until its first line comes: the attach is known to be
        // following once it sees one, and what is typed after reaches it.
        '    command: ["sh", "-c", "(while :; do echo tick; sleep 0.05; done) & t=$$!; while read l; do kill $$t 2>/dev/null; echo \\"got $$l\\"; done; echo eof"]',
        '    stdin_open: true',
        '  term:',
        '    command: ["sh", "-c", "trap \'echo got TERM; exit 7\' TERM; while :; do echo up; sleep 0.05; done"]',
        '  tty:',
        '    command: ["sh", "-c", "while :; do printf \'name? \'; read -r n; [ -n \\"$$n\\" ] && break; done; echo \\"hi $$n\\"; exit 3"]',
        '    tty: true',
        '    stdin_open: true',
        '',
      ].join('\n'),
    );
    const up = await stack('up', '-d', '--progress', 'quiet');
    expect(up.exitCode, up.stderr).toBe(0);
  });

  afterAll(async () => {
    await stack('down');
    rmSync(dir, { recursive: true, force: true });
  });

  it("passes what is typed to a stdin_open service's stdin, and the detach keys leave it running", async () => {
    const child = attach('repl');
    await printed(child, 'tick');
    child.stdin.write('hello\n');
    await printed(child, 'got hello');
    child.stdin.write('world\n');
    await printed(child, 'got world');
    child.stdin.write('\x10\x11not passed\n');
    const r = await child;
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('stack attach: detached from repl; it runs on');
    expect((await state()).repl).toBe('running');
    // The line after the detach keys never reached it: the next attach's first line is its own.
    // (What is typed at once is read once the attach follows the log: its answer is seen.)
    const again = attach('repl');
    again.stdin.write('third\n');
    await printed(again, 'got third');
    again.stdin.write('\x10\x11');
    expect((await again).exitCode).toBe(0);
    expect((await stack('logs', 'repl', '--no-log-prefix')).stdout.split('\n').filter((l) => l.startsWith('got'))).toEqual(['got hello', 'got world', 'got third']);
    // --sig-proxy=false: the attach's own SIGTERM ends it (as any program's); term, which exits
    // on one, runs on.
    const quiet = attach('term', '--no-stdin', '--sig-proxy=false');
    await printed(quiet, 'up');
    quiet.kill('SIGTERM');
    expect((await quiet).signal).toBe('SIGTERM');
    expect((await state()).term).toBe('running');
  });

  it('--no-stdin passes nothing', async () => {
    const child = attach('repl', '--no-stdin');
    child.stdin.end('ignored\n');
    // A second attach's line is answered: the first one's, typed before, never came.
    const other = attach('repl');
    other.stdin.write('control\n');
    await printed(other, 'got control');
    other.stdin.write('\x10\x11');
    await other;
    child.kill('SIGKILL');
    await child;
    expect((await stack('logs', 'repl', '--no-log-prefix')).stdout).not.toContain('got ignored');
  });

  it("types into a tty service's terminal (which echoes it) and ends with the service's status", async () => {
    const child = attach('tty');
    child.stdin.write('\n'); // a prompt again: the attach sees it, without its newline
    await printed(child, 'name? ');
    child.stdin.write('bob\n');
    const r = await child;
    expect(r.stdout).toContain('name? bob\nhi bob'); // the prompt without its newline, the echo, the answer
    expect(r.exitCode).toBe(3);
  });

  it("passes a signal it gets to the service's process (--sig-proxy) and ends with its status", async () => {
    const child = attach('term', '--no-stdin');
    await printed(child, 'up');
    child.kill('SIGTERM');
    const r = await child;
    expect(r.stdout).toContain('got TERM');
    expect(r.exitCode).toBe(7);
    expect((await state()).term).toBe('exited with code 7');
  });

  it('refuses what it cannot attach to, saying why', async () => {
    const stopped = await stack('attach', 'term');
    expect(stopped.exitCode).toBe(1);
    expect(stopped.stderr).toMatch(/service "term" of project "\w+" is not running/);
    const unknown = await stack('attach', 'rpl');
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain('did you mean repl?');
    expect((await stack('attach', 'repl', '--detach-keys', 'ctrl-pp')).stderr).toContain('--detach-keys ctrl-pp is no list of keys');
    expect((await stack('attach', 'repl', '--sig-proxy', 'maybe')).stderr).toContain('--sig-proxy maybe is not true or false');
    expect((await stack('attach')).stderr).toContain('stack attach needs a service');
  });
});
