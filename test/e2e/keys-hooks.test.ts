// post_start and pre_stop through the real CLI (bin/stack.cjs over dist/: `npm run build`
// first): a post_start hook runs in the service right after it started, as its own user, in its
// own folder, with its own environment; a pre_stop hook runs before the stop signal and can still
// write where the service writes; a failing post_start fails `up` with the hook's status and
// output while the service keeps running (as compose does).
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../harness/require.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeWith({ root: true, commands: ['sh', 'cat', 'id'] }, 'post_start and pre_stop hooks', () => {
  const project = `kh${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-keys-hooks-'));
  const env = { ...process.env, STACK_ROOT: join(dir, 'state'), STACK_IP_FORWARD: 'leave' };
  const stack = (spec: string, ...args: string[]) => execa(process.execPath, [bin, '-p', project, '-f', join(dir, spec), ...args], { env, reject: false });

  beforeAll(() => {
    mkdirSync(join(dir, 'out'));
    chmodSync(join(dir, 'out'), 0o777); // the post_start hook writes there as nobody
    writeFileSync(
      join(dir, 'stack.yaml'),
      [
        'services:',
        '  app:',
        '    command: ["sh", "-c", "trap \'echo got-term >> /out/order; exit 0\' TERM; while :; do sleep 0.1; done"]',
        '    volumes: ["./out:/out"]',
        '    environment: {FROM_SERVICE: svc}',
        '    post_start:',
        '      - command: ["sh", "-c", "echo \\"$$GREETING $$FROM_SERVICE $$(id -u) $$(pwd)\\" > /out/post"]',
        '        user: "65534"',
        '        working_dir: /tmp',
        '        environment: {GREETING: hello}',
        '    pre_stop:',
        '      - command: sh -c "echo pre-stop >> /out/order"',
        '  failing:',
        '    command: sleep infinity',
        '    post_start:',
        '      - command: ["sh", "-c", "echo no-luck; exit 3"]',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await stack('stack.yaml', 'down', '--timeout', '0');
    rmSync(dir, { recursive: true, force: true });
  });

  it('post_start runs right after the start with its user, folder and environment', async () => {
    const up = await stack('stack.yaml', 'up', '-d', 'app');
    expect(up.stderr).not.toContain('hook');
    expect(up.exitCode).toBe(0);
    // `up` returns once the hook ran: its file is there now.
    expect(readFileSync(join(dir, 'out', 'post'), 'utf8').trim()).toBe('hello svc 65534 /tmp');
  });

  it('pre_stop runs before the stop signal', async () => {
    const stop = await stack('stack.yaml', 'stop', 'app');
    expect(stop.exitCode).toBe(0);
    expect(readFileSync(join(dir, 'out', 'order'), 'utf8').trim().split('\n')).toEqual(['pre-stop', 'got-term']);
  });

  it('a failing post_start fails up with its status and output; the service keeps running', async () => {
    const up = await stack('stack.yaml', 'up', '-d', 'failing');
    expect(up.exitCode).toBe(1);
    expect(up.stderr).toContain('post_start hook "sh -c echo no-luck; exit 3" of service "failing" exited with status 3: no-luck');
    expect(up.stderr).not.toMatch(/\n\s+at /);
    const ps = await stack('stack.yaml', 'ps', '--format', 'json');
    expect(ps.stdout).toMatch(/failing/);
    expect(ps.stdout).toMatch(/running/i);
  });
});
