// `stack pause` / `stack unpause` through the real CLI (bin/stack.cjs over dist/: `npm run build`
// first) and the real kernel's freezer, as compose's: a paused service's processes stop where
// they are (a counter it writes stands still) and `ps` says paused; `exec` into it is refused;
// unpause lets it run on; a stop of a paused service thaws it first (it acts on its SIGTERM at
// once, not after its grace period), SIGKILL thaws one so that it dies, a start in a group a pause
// froze runs, and a `down` of paused services leaves nothing.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../harness/require.js';
import { eventually } from '../harness/eventually.js';
import { serviceFiles } from '../../src/state/service-files.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeWith({ root: true, commands: ['sh', 'sleep'] }, 'stack pause / unpause', () => {
  const project = `pz${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-pause-'));
  const env = { ...process.env, STACK_ROOT: join(dir, 'state'), STACK_IP_FORWARD: 'leave' };
  const roots = { run: join(dir, 'state', 'run'), lib: join(dir, 'state', 'lib') };
  const stack = (...args: string[]) => execa(process.execPath, [bin, '-p', project, '-f', join(dir, 'stack.yaml'), ...args], { env, reject: false });
  // 0 until the ticker's first write: `up -d` returns once it is launched, not once it has run (CI read it before).
  const count = () => (existsSync(join(dir, 'out', 'count')) ? Number(readFileSync(join(dir, 'out', 'count'), 'utf8').trim() || '0') : 0);
  const states = async () =>
    Object.fromEntries((JSON.parse((await stack('ps', '--format', 'json')).stdout) as { name: string; state: string }[]).map((r) => [r.name, r.state]));
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  beforeAll(() => {
    mkdirSync(join(dir, 'out'));
    writeFileSync(
      join(dir, 'stack.yaml'),
      [
        'services:',
        '  ticker:',
        // Counts every 50 ms; exits at once on SIGTERM. Its grace period would be 60 s.
        `    command: ["sh", "-c", "trap 'exit 0' TERM; i=0; while :; do i=$$((i+1)); echo $$i > /out/count; sleep 0.05; done"]`,
        '    volumes: ["./out:/out"]',
        '    stop_grace_period: 60s',
        '  other:',
        '    command: sleep infinity',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await stack('down', '--timeout', '0');
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('pause freezes a service where it is, ps says so, exec is refused; unpause lets it run on', async () => {
    expect((await stack('up', '-d')).exitCode).toBe(0);
    await eventually('the ticker counting', async () => (count() > 2 ? true : undefined), 10_000);
    const paused = await stack('pause', 'ticker');
    expect(paused.exitCode, paused.stderr).toBe(0);
    expect(paused.stderr).toBe('ticker paused');
    expect(await states()).toEqual({ other: 'running', ticker: 'paused' });
    const frozenAt = count();
    await pause(400);
    expect(count()).toBe(frozenAt);
    const exec = await stack('exec', '-T', 'ticker', 'true');
    expect(exec.exitCode).toBe(1);
    expect(exec.stderr).toContain('service "ticker" is paused');
    expect(exec.stderr).not.toMatch(/\n\s+at /);
    expect((await stack('ps', '--status', 'paused', '--services')).stdout).toBe('ticker');
    expect((await stack('pause', 'ticker')).stderr).toBe(''); // paused already: nothing to do
    expect((await stack('unpause')).stderr).toBe('ticker unpaused');
    await eventually('the ticker counting again', async () => (count() > frozenAt + 2 ? true : undefined), 10_000);
    expect(await states()).toEqual({ other: 'running', ticker: 'running' });
  });

  it('a paused service is thawed to be stopped: it acts on SIGTERM at once; SIGKILL kills one; down of paused ones leaves nothing', async () => {
    expect((await stack('pause')).exitCode).toBe(0);
    expect(await states()).toEqual({ other: 'paused', ticker: 'paused' });
    const stop = await stack('stop', 'ticker');
    expect(stop.exitCode, stop.stderr).toBe(0);
    // It ran its trap: frozen, the SIGTERM would have waited out the 60 s grace period, then the kill.
    expect(JSON.parse(readFileSync(serviceFiles(roots, project, 'ticker').exit, 'utf8'))).toMatchObject({ exitCode: 0, signal: null });
    // SIGKILL to a paused one: thawed, it dies (on cgroup v1 a frozen process would not).
    const kill = await stack('kill', 'other');
    expect(kill.exitCode, kill.stderr).toBe(0);
    await eventually('its exit record', async () => (existsSync(serviceFiles(roots, project, 'other').exit) ? true : undefined), 10_000);
    expect(JSON.parse(readFileSync(serviceFiles(roots, project, 'other').exit, 'utf8'))).toMatchObject({ signal: 'SIGKILL' });
    // Started again in the groups they were paused in: they run (the groups were thawed, the marks dropped).
    expect((await stack('up', '-d')).exitCode).toBe(0);
    expect(await states()).toEqual({ other: 'running', ticker: 'running' });
    expect(readdirSync(join(roots.run, project, 'paused'))).toEqual([]);
    // Both paused, then down: nothing of the project is left, its marks neither.
    expect((await stack('pause')).exitCode).toBe(0);
    const down = await stack('down');
    expect(down.exitCode, down.stderr).toBe(0);
    expect(existsSync(join(roots.run, project))).toBe(false);
  });
});
