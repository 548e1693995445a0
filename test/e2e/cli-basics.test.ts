// The real CLI binary (bin/stack.cjs over dist/): start-up paths and exit codes.
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));
const stack = (...args: string[]) => execa(process.execPath, [bin, ...args], { reject: false });

describe('stack CLI basics', () => {
  it('prints the package version', async () => {
    const r = await stack('--version');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+$/);
    // compose's version command and its options
    expect((await stack('version')).stdout).toBe(r.stdout);
    expect((await stack('version', '--short')).stdout).toBe(r.stdout);
    expect(JSON.parse((await stack('version', '-f', 'json')).stdout)).toEqual({ version: r.stdout });
    expect((await stack('version', '--format', 'xml')).stderr).toContain('unknown format "xml"');
  });

  it('prints help with the commands', async () => {
    const r = await stack('--help');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Usage: stack \[OPTIONS\] COMMAND/);
  });

  it('a mistyped command is a user error with a suggestion, no stack trace', async () => {
    const r = await stack('verison');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('unknown command "verison"');
    expect(r.stderr).toContain('did you mean `stack version`?');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('run from a folder that was removed, says so: status 1, no stack trace', async () => {
    const gone = mkdtempSync(join(tmpdir(), 'stack-cwd-gone-'));
    // The shell's folder removed under it: the child starts there, then getcwd(3) fails (ENOENT).
    const r = await execa('sh', ['-c', `cd "${gone}" && rmdir "${gone}" && exec "${process.execPath}" "${bin}" ps`], { reject: false });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toBe('stack: cannot tell the current folder (ENOENT): it was removed, or it cannot be read\nhint: `cd` to a folder that exists, then run the command again');
  });

  it('a reader that goes away ends the command as SIGPIPE would: status 141, no stack trace', async () => {
    // A project whose normalized form (~1.6 MB) is far more than the socket pair between the two
    // processes holds (a few hundred KB), of which the first bytes are read.
    const dir = mkdtempSync(join(tmpdir(), 'stack-epipe-'));
    try {
      const services = Array.from({ length: 200 }, (_, i) => `  s${i}:\n    command: ["true"]\n    environment: {A: "${'x'.repeat(8000)}"}\n`).join('');
      writeFileSync(join(dir, 'compose.yaml'), `name: epipe\nservices:\n${services}`);
      const child = spawn(process.execPath, [bin, 'config'], { cwd: dir, env: { ...process.env, STACK_CACHE: join(dir, 'cache') }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      // The first bytes, then the reading end is closed, as `| head -c 100` closes it.
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      child.stdout.destroy();
      const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      expect(stderr).toBe('');
      expect(status).toBe(141);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a reader that reads late gets the whole output: the command leaves once the pipe took it, not as soon as its work is done', async () => {
    // ~1.6 MB of normalized project into a non-blocking pipe (64 KiB) whose reader waits 300 ms:
    // write(2) takes what fits, the stream queues the rest, and the command's work is done long
    // before the pipe took it.
    const dir = mkdtempSync(join(tmpdir(), 'stack-late-reader-'));
    try {
      const services = Array.from({ length: 200 }, (_, i) => `  s${i}:\n    command: ["true"]\n    environment: {A: "${'x'.repeat(8000)}"}\n`).join('');
      writeFileSync(join(dir, 'compose.yaml'), `name: late\nservices:\n${services}`);
      const env = { ...process.env, STACK_CACHE: join(dir, 'cache') };
      expect((await execa(process.execPath, [bin, 'config'], { cwd: dir, env, stdout: { file: join(dir, 'whole.yaml') } })).exitCode).toBe(0);
      const fifo = join(dir, 'fifo');
      await execa('mkfifo', [fifo]);
      const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
      const child = spawn(process.execPath, [bin, 'config'], { cwd: dir, env, stdio: ['ignore', writer, 'inherit'] });
      // libuv made the child's stdout blocking before its exec; a socket made on this side's
      // descriptor makes the description they share non-blocking again (as a shell's pipe from a
      // Node program can be), and closes this side's descriptor as it goes.
      new Socket({ fd: writer, readable: false, writable: true }).destroy();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const input = new Socket({ fd: reader, readable: true, writable: false });
      const chunks: Buffer[] = [];
      input.on('data', (c: Buffer) => chunks.push(c));
      const [status] = await Promise.all([new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))), new Promise((resolve) => input.on('end', resolve))]);
      expect(status).toBe(0);
      expect(Buffer.concat(chunks).equals(readFileSync(join(dir, 'whole.yaml')))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([['--version'], ['--help']])('%s to a full disk (/dev/full) says so once, status 1, no stack trace', async (flag) => {
    const full = openSync('/dev/full', 'w');
    try {
      const child = spawn(process.execPath, [bin, flag], { stdio: ['ignore', full, 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      expect(stderr).toBe('stack: cannot write to stdout: ENOSPC\n');
      expect(status).toBe(1);
    } finally {
      closeSync(full);
    }
  });
});
