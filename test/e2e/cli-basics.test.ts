// The real CLI binary (bin/stack.cjs over dist/): start-up paths and exit codes.
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));
const stack = (...args: string[]) => execa(process.execPath, [bin, ...args], { reject: false });

describe('stack CLI basics', () => {
  it('prints the package version', async () => {
    const r = await stack('--version');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+$/);
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
});
