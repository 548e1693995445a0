// examples/hello-node through the real CLI (bin/stack.cjs over dist/: `npm run build` first):
// the API answers on its published port from the host, the worker reaches the API by name,
// and `down` leaves nothing. The published port is moved to a free one by an override file,
// so the test never collides with anything listening on 8080.
import { freePort } from '../harness/ports.js';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRoot } from '../harness/require.js';
import { inventory } from '../harness/inventory.js';
import { readLogLines } from '../../src/runtime/logs.js';
import { serviceFiles } from '../../src/state/service-files.js';
import { netnsName, nftTableName } from '../../src/names.js';
import { eventually } from '../harness/eventually.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));
const spec = fileURLToPath(new URL('../../examples/hello-node/stack.yaml', import.meta.url));


describeRoot('examples/hello-node', () => {
  const project = `hn${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-hello-'));
  const roots = { run: join(dir, 'state', 'run'), lib: join(dir, 'state', 'lib') };
  const env = { ...process.env, STACK_ROOT: join(dir, 'state'), STACK_IP_FORWARD: 'leave' };
  const stack = (...args: string[]) =>
    execa(process.execPath, [bin, '-p', project, '-f', spec, '-f', join(dir, 'override.yaml'), ...args], { env, reject: false });
  let port = 0;

  beforeAll(async () => {
    port = await freePort();
    writeFileSync(join(dir, 'override.yaml'), `services:\n  api:\n    ports: !override\n      - "127.0.0.1:${port}:8080"\n`);
  });
  afterAll(async () => {
    await execa(process.execPath, [bin, '-p', project, 'down', '-v', '--timeout', '0'], { env, reject: false });
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves on its published port, the worker reaches the API by name, and down leaves nothing', async () => {
    const up = await stack('up', '-d', '--progress', 'plain');
    expect(up.exitCode, String(up.stderr)).toBe(0);

    const body = await eventually('the API on the published port', async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`);
        return res.ok ? ((await res.json()) as { service: string; hostname: string }) : undefined;
      } catch {
        return undefined;
      }
    });
    expect(body).toMatchObject({ service: 'api', hostname: 'api' });

    const workerLog = serviceFiles(roots, project, 'worker').log;
    const posted = await eventually('the worker posting a job to http://api:8080', () =>
      readLogLines(workerLog).find((l) => l.text.startsWith('worker: posted a job, api says')),
    );
    expect(posted.text).toMatch(/api says \{"jobs":\d+\}/);

    const down = await stack('down', '--progress', 'plain');
    expect(down.exitCode, String(down.stderr)).toBe(0);
    const left = inventory().filter((o) => o.includes(netnsName(project, '')) || o.includes(`stack/${project}`) || o.endsWith(nftTableName(project)));
    expect(left).toEqual([]);
    expect(existsSync(join(roots.run, project))).toBe(false);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });
});
