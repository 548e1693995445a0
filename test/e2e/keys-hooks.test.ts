// post_start and pre_stop through the real CLI (bin/stack.cjs over dist/: `npm run build`
// first): a post_start hook runs in the service right after it started, as its own user, in its
// own folder, with its own environment; a pre_stop hook runs before the stop signal and can still
// write where the service writes, on `stop`, on `down` (from the snapshot: no spec file needed)
// and on a foreground up's Ctrl-C; a failing post_start fails `up` with the hook's status and
// output while the service keeps running (as compose does).
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
        // pid 1 without a handler for SIGTERM (down kills such at once), alone on its network
        // (which down unplugs beside such kills): its hook still runs with its network, first.
        '  quiet:',
        '    command: sleep infinity',
        '    networks: [solo]',
        '    volumes: ["./out:/out"]',
        '    pre_stop:',
        '      - command: ["sh", "-c", "sleep 0.3; grep -c eth0: /proc/net/dev > /out/eth0-at-pre-stop"]',
        '  failing:',
        '    command: sleep infinity',
        '    post_start:',
        '      - command: ["sh", "-c", "echo no-luck; exit 3"]',
        'networks:',
        '  solo: {}',
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

  it('down runs pre_stop too, from the project as up applied it, with no spec file', async () => {
    rmSync(join(dir, 'out', 'order'), { force: true });
    expect((await stack('stack.yaml', 'up', '-d', 'app')).exitCode).toBe(0);
    // -p alone: the hooks come from the snapshot, as the stop signal comes from the record.
    const down = await execa(process.execPath, [bin, '-p', project, 'down'], { env, reject: false, cwd: join(dir, 'out') }); // no spec file there
    expect(down.stderr).not.toContain('were not run');
    expect(down.exitCode).toBe(0);
    expect(readFileSync(join(dir, 'out', 'order'), 'utf8').trim().split('\n')).toEqual(['pre-stop', 'got-term']);
  });

  it("a foreground up's Ctrl-C that stops every service runs pre_stop too", async () => {
    rmSync(join(dir, 'out', 'order'), { force: true });
    rmSync(join(dir, 'out', 'post'), { force: true });
    const up = stack('stack.yaml', 'up', 'app', '--progress', 'plain');
    for (let i = 0; i < 500 && !existsSync(join(dir, 'out', 'post')); i++) await new Promise((res) => setTimeout(res, 20));
    expect(existsSync(join(dir, 'out', 'post'))).toBe(true); // started, its post_start hook ran
    up.kill('SIGINT');
    expect((await up).exitCode).toBe(130);
    expect(readFileSync(join(dir, 'out', 'order'), 'utf8').trim().split('\n')).toEqual(['pre-stop', 'got-term']);
  });

  it("down runs the pre_stop hook of a service it kills at once before the kill, its network still there", async () => {
    expect((await stack('stack.yaml', 'up', '-d', 'quiet')).exitCode).toBe(0);
    const down = await stack('stack.yaml', 'down');
    expect(down.exitCode, down.stderr).toBe(0);
    expect(down.stderr).not.toContain('pre_stop hook');
    expect(readFileSync(join(dir, 'out', 'eth0-at-pre-stop'), 'utf8').trim()).toBe('1');
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
