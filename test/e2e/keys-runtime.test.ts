// runtime and platform through the real CLI (bin/stack.cjs over dist/: `npm run build` first):
// the corpus's WebAssembly service (runtime io.containerd.wasmedge.v1, platform wasi/wasm) loads
// in `config` and is refused by `up`, saying why (service, key, expected, hint), with nothing
// made; a foreign architecture likewise; runc and the host's own platform run.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatPlatform, hostPlatform } from '../../src/spec/platform.js';
import { describeRoot } from '../harness/require.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeRoot('runtime and platform: loaded by config, refused by up when the host cannot run them', () => {
  const project = `kr${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-keys-runtime-'));
  const state = join(dir, 'state');
  const env = { ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave' };
  const stack = (spec: string, ...args: string[]) => execa(process.execPath, [bin, '-p', project, '-f', join(dir, spec), ...args], { env, reject: false });
  const foreign = hostPlatform().architecture === 'arm64' ? 'linux/amd64' : 'linux/arm64';

  beforeAll(() => {
    writeFileSync(
      join(dir, 'wasm.yaml'),
      ['services:', '  server:', '    image: michaelirwin244/wasm-example', '    platform: wasi/wasm', '    runtime: io.containerd.wasmedge.v1', '    ports: ["8080:8080"]', '  other:', '    image: alpine:3.19', `    platform: ${foreign}`, ''].join('\n'),
    );
    writeFileSync(join(dir, 'native.yaml'), ['services:', '  app:', '    command: sleep infinity', '    runtime: runc', `    platform: ${formatPlatform(hostPlatform())}`, ''].join('\n'));
  });
  afterAll(async () => {
    await stack('native.yaml', 'down', '--timeout', '0');
    rmSync(dir, { recursive: true, force: true });
  });

  it('config loads them and shows them back', async () => {
    const r = await stack('wasm.yaml', 'config');
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('runtime: io.containerd.wasmedge.v1');
    expect(r.stdout).toContain('platform: wasi/wasm');
  });

  it('up refuses both services, saying why and where, and makes nothing', async () => {
    const r = await stack('wasm.yaml', 'up', '-d');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('3 errors in the spec');
    expect(r.stderr).toMatch(/error: services\.server\.runtime: service "server" needs runtime io\.containerd\.wasmedge\.v1, which stack does not have[^]*hint: .*WebAssembly/);
    expect(r.stderr).toMatch(/error: services\.server\.platform: service "server" is for platform wasi\/wasm[^]*hint: .*WebAssembly/);
    expect(r.stderr).toContain(`error: services.other.platform: service "other" is for platform ${foreign}`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(state, 'run', project))).toBe(false);
  });

  it("runc and the host's platform run", async () => {
    const r = await stack('native.yaml', 'up', '-d');
    expect(r.stderr).not.toContain('error');
    expect(r.exitCode).toBe(0);
  });
});
