// `stack top` through the real CLI (dist): per running service a heading (compose's container
// name) and docker top's columns, one row per process of the service's cgroup (host pids: the
// main pid ps reports is there, with its child), only the services named when some are.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRoot } from '../harness/require.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeRoot('stack top', () => {
  const project = `tp${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-top-'));
  const spec = join(dir, 'compose.yaml');
  const env = { ...process.env, STACK_ROOT: join(dir, 'state'), STACK_IP_FORWARD: 'leave' };
  const stack = (...args: string[]) => execa(process.execPath, [bin, '-p', project, '-f', spec, ...args], { env, reject: false });
  const marker = `${1000 + randomBytes(2).readUInt16BE(0)}`;

  beforeAll(async () => {
    writeFileSync(
      spec,
      ['services:', '  web:', `    command: ["sh", "-c", "sleep ${marker}1 & sleep ${marker}2; wait"]`, '  db:', `    command: sleep ${marker}3`, ''].join('\n'),
    );
    const up = await stack('up', '-d', '--progress', 'plain');
    expect(up.exitCode, String(up.stderr)).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await execa(process.execPath, [bin, '-p', project, 'down', '--timeout', '0'], { env, reject: false });
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("prints each service's processes under its name with docker top's columns", async () => {
    const r = await stack('top');
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const blocks = r.stdout.split('\n\n');
    expect(blocks.map((b) => b.split('\n')[0])).toEqual([`${project}-db-1`, `${project}-web-1`]);
    const ps = JSON.parse((await stack('ps', '--format', 'json')).stdout) as { name: string; pid: number }[];
    const web = blocks[1]!.split('\n');
    expect(web[1]).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    const rows = web.slice(2).map((l) => l.split(/\s{2,}/));
    const main = rows.find((row) => Number(row[1]) === ps.find((s) => s.name === 'web')!.pid);
    expect(main?.[7]).toBe(`sh -c sleep ${marker}1 & sleep ${marker}2; wait`);
    expect(rows.filter((row) => row[2] === main![1]).map((row) => row[7]).sort()).toEqual([`sleep ${marker}1`, `sleep ${marker}2`]);
    expect(rows.every((row) => row[0] === 'root' && row[5] === '?')).toBe(true);
  });

  it('only the services named; an unknown one is a user error', async () => {
    const r = await stack('top', 'db');
    expect(r.stdout.split('\n')[0]).toBe(`${project}-db-1`);
    expect(r.stdout).toContain(`sleep ${marker}3`);
    expect(r.stdout).not.toContain(`${project}-web-1`);
    const bad = await stack('top', 'dbb');
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('no service "dbb"');
  });
});
