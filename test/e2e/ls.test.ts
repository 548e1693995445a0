// `stack ls` through the real CLI (dist: `npm run build` first): every project under one
// STACK_ROOT with its status as compose prints it (`exited(1), running(1)`), services running
// of total, folder and spec files; no spec file needed (run from an empty folder); -a shows a
// project with nothing running, -q only names, --format json compose's fields.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRoot } from '../harness/require.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeRoot('stack ls', () => {
  const tag = randomBytes(4).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'stack-ls-'));
  const env = { ...process.env, STACK_ROOT: join(dir, 'state'), STACK_IP_FORWARD: 'leave' };
  const empty = join(dir, 'empty');
  const projects = { both: `lsa${tag}`, half: `lsb${tag}`, none: `lsc${tag}` };
  const specOf = (p: string) => join(dir, p, 'compose.yaml');
  /** The CLI run from a folder with no spec in it. */
  const stack = (...args: string[]) => execa(process.execPath, [bin, ...args], { env, cwd: empty, reject: false });
  const inProject = (p: string, ...args: string[]) => execa(process.execPath, [bin, '-p', p, '-f', specOf(p), ...args], { env, reject: false });

  beforeAll(async () => {
    mkdirSync(empty);
    for (const p of Object.values(projects)) {
      mkdirSync(join(dir, p));
      writeFileSync(specOf(p), ['services:', '  a:', '    command: sleep infinity', '  b:', '    command: sleep infinity', ''].join('\n'));
      const up = await inProject(p, 'up', '-d', '--progress', 'plain');
      expect(up.exitCode, String(up.stderr)).toBe(0);
    }
    expect((await inProject(projects.half, 'stop', '-t', '0', 'b')).exitCode).toBe(0);
    expect((await inProject(projects.none, 'stop', '-t', '0')).exitCode).toBe(0);
  }, 120_000);
  afterAll(async () => {
    for (const p of Object.values(projects)) await execa(process.execPath, [bin, '-p', p, 'down', '--timeout', '0'], { env, reject: false });
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('lists the projects with a running service: status, running/total, folder, spec files', async () => {
    const r = await stack('ls');
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATUS\s+SERVICES\s+FOLDER\s+CONFIG FILES$/);
    const row = (p: string) => lines.find((l) => l.startsWith(`${p} `))?.split(/\s{2,}/);
    expect(row(projects.both)).toEqual([projects.both, 'running(2)', '2/2', join(dir, projects.both), specOf(projects.both)]);
    expect(row(projects.half)).toEqual([projects.half, 'exited(1), running(1)', '1/2', join(dir, projects.half), specOf(projects.half)]);
    expect(row(projects.none)).toBeUndefined();
  });

  it('-a shows a project with nothing running; -q prints the names only; --filter name= picks', async () => {
    const all = await stack('ls', '-a');
    expect(all.stdout).toMatch(new RegExp(`^${projects.none}\\s+exited\\(2\\)\\s+0/2\\s`, 'm'));
    const quiet = await stack('ls', '-a', '-q');
    expect(quiet.stdout.split('\n').sort()).toEqual(Object.values(projects).sort());
    const filtered = await stack('ls', '-a', '-q', '--filter', `name=${projects.half}`);
    expect(filtered.stdout).toBe(projects.half);
  });

  it('--format json has compose fields (Name, Status, ConfigFiles) and Services, WorkingDir', async () => {
    const r = await stack('ls', '--format', 'json');
    const rows = JSON.parse(r.stdout) as Record<string, string>[];
    expect(rows).toContainEqual({ Name: projects.half, Status: 'exited(1), running(1)', ConfigFiles: specOf(projects.half), Services: '1/2', WorkingDir: join(dir, projects.half) });
    expect(rows.map((x) => x.Name)).not.toContain(projects.none);
  });

  it('a project brought down is gone from the list; a bad option is a user error', async () => {
    const bad = await stack('ls', '--format', 'xml');
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('unknown format "xml"');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    expect((await execa(process.execPath, [bin, '-p', projects.none, 'down', '--timeout', '0'], { env, reject: false })).exitCode).toBe(0);
    expect((await stack('ls', '-a', '-q')).stdout.split('\n')).not.toContain(projects.none);
  });
});
