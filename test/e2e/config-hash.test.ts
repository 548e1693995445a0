// `stack config --hash` and `--images` through the real CLI (dist): `service hash` lines as
// compose prints them, the very hash `up` stamps on the service's record (what decides a
// recreate), one service's change moving its hash only; the images one per line.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRoot } from '../harness/require.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeRoot('stack config --hash / --images', () => {
  const project = `ch${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-config-hash-'));
  const spec = join(dir, 'compose.yaml');
  const state = join(dir, 'state');
  const env = { ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave' };
  const stack = (...args: string[]) => execa(process.execPath, [bin, '-p', project, '-f', spec, ...args], { env, reject: false });
  const write = (greeting: string) =>
    writeFileSync(spec, ['services:', '  a:', '    command: sleep infinity', '    environment:', `      G: ${greeting}`, '  b:', '    command: sleep infinity', ''].join('\n'));
  const hashes = (text: string) => Object.fromEntries(text.split('\n').map((l) => l.split(' ') as [string, string]));

  beforeAll(() => write('hello'));
  afterAll(async () => {
    await execa(process.execPath, [bin, '-p', project, 'down', '--timeout', '0'], { env, reject: false });
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("prints `service hash` per line, the hash up stamps on each service's record", async () => {
    const all = await stack('config', '--hash', '*');
    expect(all.exitCode, String(all.stderr)).toBe(0);
    expect(all.stdout).toMatch(/^a [0-9a-f]{64}\nb [0-9a-f]{64}$/);
    const one = await stack('config', '--hash', 'b');
    expect(one.stdout).toBe(all.stdout.split('\n')[1]);
    const up = await stack('up', '-d', '--progress', 'plain');
    expect(up.exitCode, String(up.stderr)).toBe(0);
    for (const [service, hash] of Object.entries(hashes(all.stdout))) {
      const record = JSON.parse(readFileSync(join(state, 'run', project, 'services', `${service}.json`), 'utf8')) as { config: { hash: string } };
      expect(record.config.hash).toBe(hash);
    }
  }, 60_000);

  it("a change to one service moves its hash only; an unknown service is a user error", async () => {
    const before = hashes((await stack('config', '--hash', 'a,b')).stdout);
    write('changed');
    const after = hashes((await stack('config', '--hash', '*')).stdout);
    expect(after.a).not.toBe(before.a);
    expect(after.b).toBe(before.b);
    const bad = await stack('config', '--hash', 'c');
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('no service "c"');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  it('--images prints the image of each service that runs one', async () => {
    const images = join(dir, 'images.yaml');
    writeFileSync(images, ['services:', '  db:', '    image: postgres:16', '  web:', '    image: nginx', '  tool:', '    command: "true"', ''].join('\n'));
    const r = await execa(process.execPath, [bin, '-p', project, '-f', images, 'config', '--images'], { env, reject: false });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(r.stdout).toBe('postgres:16\nnginx');
  });
});
