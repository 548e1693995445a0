// `stack wait SERVICE...` through the real CLI (bin/stack.cjs over dist/: `npm run build` first)
// and the real kernel, as `docker compose wait`: it blocks until the named services' processes
// (their one-offs of `stack run` too) stop, says how each ended and exits with the status code
// of the last (128 + the signal's number for one a signal ended); nothing running is a user
// error; --down-project takes the project down after. The services exit when the test opens
// their gate, once the wait is seen holding a pidfd (pinned to them, blocked): no race with a
// slow start.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../harness/require.js';
import { eventually } from '../harness/eventually.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeWith({ root: true, commands: ['sh', 'sleep'] }, 'stack wait', () => {
  const project = `wt${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-wait-'));
  const state = join(dir, 'state');
  const gate = join(dir, 'gate');
  const env = { ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave' };
  const stack = (...args: string[]) => execa(process.execPath, [bin, '-p', project, '-f', join(dir, 'stack.yaml'), ...args], { env, reject: false });
  /** Resolves once `wait` holds a pidfd: it pinned what it waits for and blocks. */
  const blocked = (wait: ResultPromise) =>
    eventually('the wait to pin a process', async () => {
      const fds = readdirSync(`/proc/${wait.pid}/fd`).map((fd) => {
        try {
          return readlinkSync(`/proc/${wait.pid}/fd/${fd}`);
        } catch {
          return '';
        }
      });
      return fds.includes('anon_inode:[pidfd]') ? true : undefined;
    }, 10_000);
  const open = () => writeFileSync(join(gate, 'open'), '');
  const shut = () => rmSync(join(gate, 'open'), { force: true });
  const gated = (code: number) => `["sh", "-c", "while [ ! -e /gate/open ]; do sleep 0.05; done; exit ${code}"]`;

  beforeAll(() => {
    mkdirSync(gate);
    writeFileSync(
      join(dir, 'stack.yaml'),
      ['services:', '  job:', `    command: ${gated(3)}`, '    volumes: ["./gate:/gate"]', '  long:', '    command: sleep 3600', '  quick:', `    command: ${gated(0)}`, '    volumes: ["./gate:/gate"]', ''].join('\n'),
    );
  });
  afterAll(async () => {
    await stack('down', '--timeout', '0');
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("waits for a service's exit and exits with its status code; a one-off of it is waited for too", async () => {
    expect((await stack('up', '-d', 'job', 'long')).exitCode).toBe(0);
    const wait = stack('wait', 'job');
    await blocked(wait);
    open();
    const ended = await wait;
    expect(ended.stdout).toBe('job exited with status code 3');
    expect(ended.exitCode).toBe(3);
    shut();
    const oneOff = await stack('run', '-d', 'job');
    expect(oneOff.exitCode, String(oneOff.stderr)).toBe(0);
    const again = stack('wait', 'job');
    await blocked(again);
    open();
    const done = await again;
    expect(done.stdout).toMatch(/^job\S* exited with status code 3$/);
    expect(done.exitCode).toBe(3);
    shut();
  });

  it('a service a signal ends: 128 + its number; one not running is a user error', async () => {
    const wait = stack('wait', 'long');
    await blocked(wait);
    expect((await stack('kill', 'long')).exitCode).toBe(0); // SIGKILL, from outside its namespace
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
    const wait = stack('wait', '--down-project', 'quick');
    await blocked(wait);
    open();
    const ended = await wait;
    expect(ended.stdout).toBe('quick exited with status code 0');
    expect(ended.exitCode).toBe(0);
    // long ran on: down stopped it with the rest.
    expect(existsSync(join(state, 'run', project, 'services'))).toBe(false);
  });
});
