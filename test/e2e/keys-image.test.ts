// Launch keys on an IMAGE service through the real CLI (bin/stack.cjs over dist/: `npm run build`
// first) against a real docker-registry on 127.0.0.1, with an image made from the host's static
// busybox: `group_add` names a group only the image's /etc/group knows (never the host's),
// `ulimits` and `sysctls` hold inside the image's root as in a host-program service.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readLogLines } from '../../src/runtime/logs.js';
import { serviceFiles } from '../../src/state/service-files.js';
import { eventually } from '../harness/eventually.js';
import { busyboxLayer, pushImage } from '../harness/oci.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { describeWith } from '../harness/require.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeWith({ root: true, commands: ['docker-registry'] }, 'launch keys on an image service', () => {
  const project = `kim${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-keys-image-'));
  const state = join(dir, 'state');
  const roots = { run: join(state, 'run'), lib: join(state, 'lib') };
  const env = { ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave', HOME: join(dir, 'home'), DOCKER_CONFIG: join(dir, 'docker') };
  const spec = join(dir, 'compose.yaml');
  const stack = (...args: string[]) => execa(process.execPath, [bin, '-p', project, '-f', spec, ...args], { env, reject: false });
  const logOf = async (service: string) => (await readLogLines(serviceFiles(roots, project, service).log)).map((l) => l.text);
  let reg: TestRegistry | undefined;

  beforeAll(async () => {
    reg = await startRegistry();
    // The image's /etc/group has `imgonly` (gid 4747); the host's does not.
    await pushImage(reg, 'e2e/keys', '1', [await busyboxLayer([{ name: 'imgonly', uid: 4747, gid: 4747 }])], { Env: ['PATH=/bin'] });
    writeFileSync(
      spec,
      [
        'services:',
        '  app:',
        `    image: ${reg.host}/e2e/keys:1`,
        '    command: ["sh", "-c", "echo groups=$$(id -G); echo nofile=$$(ulimit -n); echo somaxconn=$$(cat /proc/sys/net/core/somaxconn); exec sleep 3600"]',
        '    group_add: [imgonly]',
        '    ulimits: {nofile: 777}',
        '    sysctls: {net.core.somaxconn: 999}',
        '',
      ].join('\n'),
    );
  }, 60_000);

  afterAll(async () => {
    await stack('down', '--timeout', '0');
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("group_add resolves in the image's /etc/group; ulimits and sysctls hold", async () => {
    expect(readFileSync('/etc/group', 'utf8')).not.toMatch(/^imgonly:/m);
    const up = await stack('up', '-d', '--progress', 'plain');
    expect(up.exitCode, up.stderr).toBe(0);
    const lines = await eventually('app output', async () => {
      const l = await logOf('app');
      return l.some((x) => x.startsWith('somaxconn=')) ? l : undefined;
    });
    expect(lines.find((l) => l.startsWith('groups='))?.split('=')[1]?.split(' ')).toContain('4747');
    expect(lines).toContain('nofile=777');
    expect(lines).toContain('somaxconn=999');
  });
});
