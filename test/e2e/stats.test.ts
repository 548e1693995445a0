// `stack stats` through the real CLI (dist): docker's figures for each running service from its
// cgroup and netns — the memory limit of mem_limit, memory that moves when the service fills
// its /dev/shm (tmpfs pages are charged to its memory cgroup), CPU % of a busy loop, network
// bytes that move with connections to another service, pids; --no-stream prints once, the stream
// refreshes until SIGINT (exit 0), and on a terminal redraws in place.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../harness/require.js';
import { eventually } from '../harness/eventually.js';
import { parseSize } from '../../src/cli/render/stats-format.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

interface Row { Name: string; Service: string; CPUPerc: string; MemUsage: string; MemPerc: string; NetIO: string; BlockIO: string; PIDs: string }

describeWith({ root: true, commands: ['script'] }, 'stack stats', () => {
  const project = `st${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-stats-'));
  const spec = join(dir, 'compose.yaml');
  const env = { ...process.env, STACK_ROOT: join(dir, 'state'), STACK_IP_FORWARD: 'leave' };
  const cli = [bin, '-p', project, '-f', spec];
  const stack = (...args: string[]) => execa(process.execPath, [...cli, ...args], { env, reject: false });
  const rows = async (...services: string[]): Promise<Record<string, Row>> => {
    const r = await stack('stats', '--no-stream', '--format', 'json', ...services);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    return Object.fromEntries(r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row).map((row) => [row.Service, row]));
  };
  const memory = (row: Row) => parseSize(row.MemUsage.split(' / ')[0]!);
  const net = (row: Row) => row.NetIO.split(' / ').map(parseSize) as [number, number];

  beforeAll(async () => {
    writeFileSync(
      spec,
      [
        'services:',
        '  web:',
        '    command: sleep infinity',
        '    mem_limit: 256m',
        '  busy:',
        '    command: ["sh", "-c", "while :; do :; done"]',
        '  peer:',
        '    command: sleep infinity',
        '',
      ].join('\n'),
    );
    const up = await stack('up', '-d', '--progress', 'plain');
    expect(up.exitCode, String(up.stderr)).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await execa(process.execPath, [bin, '-p', project, 'down', '--timeout', '0'], { env, reject: false });
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('--no-stream prints each running service once: the limit of mem_limit, pids, a busy loop\'s CPU', async () => {
    const r = await rows();
    expect(Object.keys(r).sort()).toEqual(['busy', 'peer', 'web']);
    expect(r.web!.Name).toBe(`${project}-web-1`);
    expect(r.web!.MemUsage).toMatch(/^[\d.]+[KMG]?i?B \/ 256MiB$/);
    expect(r.web!.PIDs).toBe('1');
    expect(r.web!.BlockIO).toMatch(/^[\d.]+[kMG]?B \/ [\d.]+[kMG]?B$/);
    expect(Number.parseFloat(r.busy!.CPUPerc)).toBeGreaterThan(1);
    expect(Number.parseFloat(r.peer!.CPUPerc)).toBeLessThan(Number.parseFloat(r.busy!.CPUPerc));
    const table = await stack('stats', '--no-stream', 'web');
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    expect(table.stdout.split('\n')).toHaveLength(2);
    expect(table.stdout.split('\n')[1]).toMatch(new RegExp(`^${project}-web-1\\s+[\\d.]+%\\s+\\S+ / 256MiB\\s+[\\d.]+%`));
  }, 30_000);

  it('memory moves when the service allocates it (40 MB into its /dev/shm), and back when freed', async () => {
    const before = memory((await rows('web')).web!);
    const fill = await stack('exec', 'web', 'sh', '-c', 'head -c 40000000 /dev/zero > /dev/shm/fill');
    expect(fill.exitCode, String(fill.stderr)).toBe(0);
    const filled = memory((await rows('web')).web!);
    expect(filled - before).toBeGreaterThan(35_000_000);
    expect((await rows('web')).web!.MemPerc).not.toBe('0.00%');
    expect((await stack('exec', 'web', 'rm', '/dev/shm/fill')).exitCode).toBe(0);
    expect(memory((await rows('web')).web!)).toBeLessThan(filled - 30_000_000);
  }, 30_000);

  it("network I/O moves with traffic from the service's netns", async () => {
    const [rx, tx] = net((await rows('web')).web!);
    // 50 connection attempts to a closed port of another service: a SYN out and a RST back each.
    const knock = await stack('exec', 'web', 'bash', '-c', 'for i in $(seq 50); do (echo > /dev/tcp/peer/9) 2>/dev/null; done; true');
    expect(knock.exitCode, String(knock.stderr)).toBe(0);
    const [rx2, tx2] = net((await rows('web')).web!);
    expect(tx2 - tx).toBeGreaterThanOrEqual(50 * 54);
    expect(rx2 - rx).toBeGreaterThanOrEqual(50 * 54);
  }, 30_000);

  it('streams until SIGINT (exit 0), and on a terminal redraws the table in place', async () => {
    const child = spawn(process.execPath, [...cli, 'stats', '--format', 'json', 'web'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await eventually('two refreshes', () => out.split('\n').filter(Boolean).length >= 2);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out.split('\n').filter(Boolean).every((l) => (JSON.parse(l) as Row).Service === 'web')).toBe(true);

    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    // `exec`: without it /bin/sh (dash, when SHELL is unset as under CI) waits on the terminal's
    // process group too, dies of the ^C itself, and script reports 130 whatever stats did.
    const term = spawn('script', ['-qefc', `exec ${[process.execPath, ...cli, 'stats', 'web'].map(q).join(' ')}`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    term.stdout.on('data', (d: Buffer) => (screen += d.toString()));
    const termExited = new Promise<number | null>((resolve) => term.once('exit', (code) => resolve(code)));
    await eventually('two redraws', () => screen.split('\x1b[H\x1b[2J').length >= 3);
    term.stdin.write('\x03');
    expect(await termExited).toBe(0);
    expect(screen.split('\x1b[H\x1b[2J').slice(1).every((frame) => frame.replace(/\r/g, '').startsWith('NAME '))).toBe(true);
  }, 30_000);
  it('-a shows a stopped service too, with zeros; without it the stopped one is left out', async () => {
    expect((await stack('stop', 'peer')).exitCode).toBe(0);
    try {
      expect(Object.keys(await rows()).sort()).toEqual(['busy', 'web']);
      const r = await stack('stats', '-a', '--no-stream', '--format', 'json');
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const all = Object.fromEntries(r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row).map((row) => [row.Service, row]));
      expect(Object.keys(all).sort()).toEqual(['busy', 'peer', 'web']);
      expect([all.peer!.PIDs, all.peer!.CPUPerc, all.peer!.MemUsage]).toEqual(['0', '0.00%', '0B / 0B']);
      expect(all.web!.PIDs).toBe('1');
    } finally {
      await stack('start', 'peer');
    }
  }, 30_000);
});
