// The real CLI binary (bin/stack.cjs over dist/): start-up paths and exit codes.
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
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
