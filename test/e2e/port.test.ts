// `stack port` through the real CLI (dist): the host address of a published port as compose
// prints it (`127.0.0.1:PORT`), the port bound for an ephemeral mapping (the one `ps` shows),
// udp with --protocol, and exit 1 with a message for a port not published or a service unknown.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRoot } from '../harness/require.js';
import { freePort } from '../harness/ports.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeRoot('stack port', () => {
  const project = `pt${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-port-'));
  const spec = join(dir, 'compose.yaml');
  const env = { ...process.env, STACK_ROOT: join(dir, 'state'), STACK_IP_FORWARD: 'leave' };
  const stack = (...args: string[]) => execa(process.execPath, [bin, '-p', project, '-f', spec, ...args], { env, reject: false });
  let fixed = 0;
  let udp = 0;

  beforeAll(async () => {
    [fixed, udp] = [await freePort(), await freePort()];
    writeFileSync(
      spec,
      ['services:', '  web:', '    command: sleep infinity', '    ports:', `      - "${fixed}:8080"`, '      - "9090"', `      - "127.0.0.1:${udp}:5353/udp"`, '  quiet:', '    command: sleep infinity', ''].join('\n'),
    );
    const up = await stack('up', '-d', '--progress', 'plain');
    expect(up.exitCode, String(up.stderr)).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await execa(process.execPath, [bin, '-p', project, 'down', '--timeout', '0'], { env, reject: false });
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('prints HOST:PORT of a fixed mapping, and of an ephemeral one the port ps shows', async () => {
    const r = await stack('port', 'web', '8080');
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(r.stdout).toBe(`127.0.0.1:${fixed}`);
    const eph = await stack('port', 'web', '9090');
    expect(eph.exitCode, String(eph.stderr)).toBe(0);
    const m = /^127\.0\.0\.1:(\d+)$/.exec(eph.stdout);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    const ps = JSON.parse((await stack('ps', '--format', 'json')).stdout) as { name: string; ports: string[] }[];
    expect(ps.find((s) => s.name === 'web')!.ports.some((p) => p.startsWith(`127.0.0.1:${m![1]}/tcp->`) && p.endsWith(':9090'))).toBe(true);
    // and with compose's options: the one copy, by protocol
    expect((await stack('port', '--index', '1', 'web', '8080')).stdout).toBe(`127.0.0.1:${fixed}`);
    expect((await stack('port', '--protocol', 'udp', 'web', '5353')).stdout).toBe(`127.0.0.1:${udp}`);
  });

  it('exit 1 with a reason for a port not published, a protocol it is not published for, an unknown service', async () => {
    const none = await stack('port', 'web', '1234');
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toContain('no port 1234/tcp of service "web" is published');
    expect(none.stderr).toContain('8080/tcp');
    const proto = await stack('port', '--protocol', 'udp', 'web', '8080');
    expect(proto.exitCode).toBe(1);
    expect(proto.stderr).toContain('no port 8080/udp');
    const quiet = await stack('port', 'quiet', '80');
    expect(quiet.exitCode).toBe(1);
    expect(quiet.stderr).toContain('publishes no port');
    const unknown = await stack('port', 'wbe', '8080');
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain('no service "wbe"');
    const bad = await stack('port', 'web', 'http');
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('"http" is not a port number');
    for (const r of [none, proto, quiet, unknown, bad]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
