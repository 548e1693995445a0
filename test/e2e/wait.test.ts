// `stack wait SERVICE...` through the real CLI (bin/stack.cjs over dist/: `npm run build` first)
// and the real kernel, as `docker compose wait`: it blocks until the named services' processes
// stop, says how each ended and exits with the status code of the last (128 + the signal's
// number for one a signal ended); nothing running is a user error; --down-project takes the
// project down after.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../harness/require.js';
import { eventually } from '../harness/eventually.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeWith({ root: true, commands: ['sh', 'sleep'] }, 'stack wait', () => {
  const project = `wt${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-wait-'));
  const state = join(dir, 'state');
  const env = { ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave' };
  const stack = (...args: string[]) => execa(process.execPath, [bin, '-p', project, '-f', join(dir, 'stack.yaml'), ...args], { env, reject: false });

  beforeAll(() => {
    writeFileSync(
      join(dir, 'stack.yaml'),
      ['services:', '  job:', '    command: ["sh", "-c", "sleep 0.5; exit 3"]', '  long:', '    command: sleep 3600', '  quick:', '    command: ["sh", "-c", "sleep 0.3"]', ''].join('\n'),
    );
  });
  afterAll(async () => {
    await stack('down', '--timeout', '0');
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("waits for a service's exit and exits with its status code", async () => {
    expect((await stack('up', '-d', 'job', 'long')).exitCode).toBe(0);
    const wait = await stack('wait', 'job');
    expect(wait.stdout).toBe('job exited with status code 3');
    expect(wait.exitCode).toBe(3);
  });

  it('a service a signal ends: 128 + its number; one not running is a user error', async () => {
    const wait = stack('wait', 'long');
    // Still blocked while it runs; then killed by SIGKILL (9) from outside its namespace.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(wait.exitCode).toBeNull(); // the child is still running
    expect((await stack('kill', 'long')).exitCode).toBe(0);
    const ended = await wait;
    expect(ended.stdout).toBe('long exited with status code 137');
    expect(ended.exitCode).toBe(137);
    const none = await stack('wait', 'job', 'long');
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toContain(`no running process of "job", "long" in project ${project}`);
    expect(none.stderr).not.toMatch(/\n\s+at /);
    const unknown = await stack('wait', 'jbo');
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain('did you mean "job"?');
  });

  it('--down-project takes the project down once they stopped', async () => {
    expect((await stack('up', '-d', 'quick', 'long')).exitCode).toBe(0);
    const wait = await stack('wait', '--down-project', 'quick');
    expect(wait.stdout).toBe('quick exited with status code 0');
    expect(wait.exitCode).toBe(0);
    // long ran on: down stopped it with the rest.
    await eventually('the project gone', async () => (existsSync(join(state, 'run', project, 'services')) ? undefined : true), 5000);
  });
});
