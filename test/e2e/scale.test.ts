// scale through the real CLI (bin/stack.cjs over dist/: `npm run build` first): `scale: 3` of a
// small HTTP server runs three replicas — ps one row each, the service name answering all three
// addresses in stack's DNS from a peer, exec --index 2 in replica 2 (cp --index 3 from replica 3), a host range shared out one
// port per replica (each port reaching its own replica), port --index; `up --scale web=1` removes
// replicas 2 and 3 (their netns with them); stop/start SERVICE act on every replica; a fixed host port for several replicas is refused at
// file:line:col from the spec and naming --scale from the flag; a watch restart rule restarts
// every replica, and a sync rule copies into every replica's anonymous volume; `run` starts a scaled
// dependency with every replica and runs one copy of a scaled service; `down` leaves nothing.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../harness/require.js';
import { netnsPrefix } from '../../src/names.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

/** True when nothing listens on 127.0.0.1:port. */
function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** The first of three consecutive free ports. */
async function freeRange(): Promise<number> {
  for (let base = 20000 + Math.floor(Math.random() * 20000); ; base += 3) {
    if ((await free(base)) && (await free(base + 1)) && (await free(base + 2))) return base;
  }
}

/** GET http://127.0.0.1:port/ until it answers (the server starts after `up` returns). */
async function get(port: number): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      return await (await fetch(`http://127.0.0.1:${port}/`)).text();
    } catch (e) {
      if (i >= 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describeWith({ root: true, commands: ['getent', 'hostname', 'ip'] }, 'scale, deploy.replicas, up --scale', () => {
  const project = `sc${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-scale-'));
  const env = { ...process.env, STACK_ROOT: join(dir, 'state'), STACK_IP_FORWARD: 'leave' };
  const stack = (spec: string, ...args: string[]) => execa(process.execPath, [bin, '-p', project, '-f', join(dir, spec), ...args], { env, reject: false });
  const main = (...args: string[]) => stack('stack.yaml', ...args);
  const netns = async () => (await execa('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(netnsPrefix(project)));
  let base = 0;
  const server = `require('http').createServer((q, r) => r.end(require('os').hostname())).listen(8000, () => console.log('listening on', require('os').hostname()))`;

  beforeAll(async () => {
    base = await freeRange();
    writeFileSync(
      join(dir, 'stack.yaml'),
      [
        'services:',
        '  web:',
        `    command: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(server)}]`,
        '    scale: 3',
        '    ports:',
        `      - "127.0.0.1:${base}-${base + 2}:8000"`,
        '  peer:',
        '    command: sleep infinity',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'fixed.yaml'), ['services:', '  web:', '    command: sleep infinity', '    deploy:', '      replicas: 2', '    ports: ["127.0.0.1:9:80"]', ''].join('\n'));
    writeFileSync(join(dir, 'fixed-one.yaml'), ['services:', '  web:', '    command: sleep infinity', '    ports: ["127.0.0.1:9:80"]', ''].join('\n'));
  });
  afterAll(async () => {
    await main('down', '--timeout', '0');
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('scale: 3 runs three replicas: ps one row each, DNS answers all three, exec --index, a port each', async () => {
    const up = await main('up', '-d', '--progress', 'plain');
    expect(up.exitCode, up.stderr).toBe(0);
    const rows = JSON.parse((await main('ps', '--format', 'json')).stdout) as { name: string; service: string; index: number; state: string }[];
    expect(rows.map((r) => `${r.name} ${r.state}`)).toEqual(['peer running', 'web-1 running', 'web-2 running', 'web-3 running']);
    expect(rows.filter((r) => r.service === 'web').map((r) => r.index)).toEqual([1, 2, 3]);

    const dns = await main('exec', '-T', 'peer', 'getent', 'ahostsv4', 'web');
    expect(dns.exitCode, dns.stderr).toBe(0);
    const addresses = new Set(dns.stdout.split('\n').filter((l) => l.includes('STREAM')).map((l) => l.split(/\s+/)[0]));
    expect(addresses.size).toBe(3);
    // each replica by its own name too, compose's PROJECT-SERVICE-N
    const second = (await main('exec', '-T', 'peer', 'getent', 'ahostsv4', `${project}-web-2`)).stdout.split(/\s+/)[0];
    expect(addresses.has(second)).toBe(true);

    expect((await main('exec', '-T', '--index', '2', 'web', 'hostname')).stdout).toBe('web-2');
    expect((await main('exec', '-T', 'web', 'hostname')).stdout).toBe('web');
    const none = await main('exec', '-T', '--index', '4', 'web', 'hostname');
    expect(none.exitCode).not.toBe(0);
    expect(none.stderr).toContain('has no replica #4: it runs 3');

    // The host range is shared out in replica order, and each port reaches its own replica.
    expect(await get(base)).toBe('web');
    expect(await get(base + 1)).toBe('web-2');
    expect(await get(base + 2)).toBe('web-3');
    expect((await main('port', '--index', '3', 'web', '8000')).stdout).toBe(`127.0.0.1:${base + 2}`);
    expect((await netns()).length).toBe(4);

    // logs and top of the service: every replica, named as compose names them
    const logs = (await main('logs', '--no-log-prefix', 'web')).stdout;
    expect(logs.split('\n').filter(Boolean).sort()).toEqual(['listening on web', 'listening on web-2', 'listening on web-3']);
    const prefixed = (await main('logs', 'web')).stdout;
    expect(prefixed).toMatch(/^web-2 \| listening on web-2$/m);
    const top = (await main('top', 'web')).stdout;
    for (const n of [1, 2, 3]) expect(top).toContain(`${project}-web-${n}\n`);
    expect(top).not.toContain('peer');
    // cp --index: replica 3's own /etc/hostname
    const cp = await main('cp', '--index', '3', 'web:/etc/hostname', '-');
    expect(cp.exitCode, cp.stderr).toBe(0);
    expect(cp.stdout).toContain('web-3');
  }, 120_000);

  it('up --scale web=1 removes replicas 2 and 3; up again (scale 3) brings them back, replica 1 untouched', async () => {
    const pidOf = async () => (JSON.parse((await main('ps', '--format', 'json')).stdout) as { name: string; pid: number }[]).find((r) => r.name === 'web' || r.name === 'web-1')!.pid;
    const before = await pidOf();
    const down = await main('up', '-d', '--progress', 'plain', '--scale', 'web=1');
    expect(down.exitCode, down.stderr).toBe(0);
    const rows = JSON.parse((await main('ps', '--format', 'json')).stdout) as { name: string }[];
    expect(rows.map((r) => r.name)).toEqual(['peer', 'web']);
    expect((await netns()).sort()).toEqual([`${netnsPrefix(project)}peer`, `${netnsPrefix(project)}web`]);
    expect(await pidOf()).toBe(before);
    const dns = await main('exec', '-T', 'peer', 'getent', 'ahostsv4', 'web');
    expect(new Set(dns.stdout.split('\n').filter((l) => l.includes('STREAM')).map((l) => l.split(/\s+/)[0])).size).toBe(1);
    const again = await main('up', '-d', '--progress', 'plain');
    expect(again.exitCode, again.stderr).toBe(0);
    expect((JSON.parse((await main('ps', '--format', 'json')).stdout) as unknown[]).length).toBe(4);
    expect(await pidOf()).toBe(before);
    // the lifecycle verbs act on every replica of the service they name
    const states = async () => (JSON.parse((await main('ps', '--format', 'json')).stdout) as { name: string; state: string }[]).map((r) => `${r.name} ${r.state === 'running' ? 'running' : 'stopped'}`);
    expect((await main('stop', '--timeout', '0', 'web')).exitCode).toBe(0);
    expect(await states()).toEqual(['peer running', 'web-1 stopped', 'web-2 stopped', 'web-3 stopped']);
    expect((await main('start', 'web')).exitCode).toBe(0);
    expect(await states()).toEqual(['peer running', 'web-1 running', 'web-2 running', 'web-3 running']);
  }, 120_000);

  it('a fixed host port for several replicas: refused at file:line:col from the spec, naming --scale from the flag', async () => {
    const cfg = await stack('fixed.yaml', 'config');
    expect(cfg.exitCode).not.toBe(0);
    expect(cfg.stderr).toMatch(/fixed\.yaml:6:\d+/);
    expect(cfg.stderr).toContain('host port 9 cannot be published by 2 replicas');
    const flag = await stack('fixed-one.yaml', 'up', '-d', '--scale', 'web=2');
    expect(flag.exitCode).not.toBe(0);
    expect(flag.stderr).toContain('--scale web=2');
    expect(flag.stderr).not.toMatch(/\n\s+at /);
  });

  it('watch: a restart rule restarts every replica; a sync rule copies into each replica\'s anonymous volume', async () => {
    const other = `${project}w`;
    const wstack = (...args: string[]) => execa(process.execPath, [bin, '-p', other, '-f', join(dir, 'watch.yaml'), ...args], { env, cwd: dir, reject: false });
    const idle = "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)";
    mkdirSync(join(dir, 'wsrc'));
    writeFileSync(
      join(dir, 'watch.yaml'),
      [
        'services:',
        '  w:',
        `    command: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(idle)}]`,
        '    scale: 2',
        '    volumes: [/cache]',
        '    develop:',
        '      watch:',
        '        - path: ./wsrc',
        '          action: restart',
        '        - path: ./wsync',
        '          action: sync',
        '          target: /cache/app',
        '',
      ].join('\n'),
    );
    mkdirSync(join(dir, 'wsync'));
    const pids = async () => (JSON.parse((await wstack('ps', '--format', 'json')).stdout) as { name: string; pid: number | null }[]).map((r) => `${r.name} ${r.pid}`);
    const watch = spawn(process.execPath, [bin, '-p', other, '-f', join(dir, 'watch.yaml'), 'watch', '--quiet'], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    watch.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    try {
      for (let i = 0; !err.includes('watching '); i++) {
        if (i > 600) throw new Error(`watch did not start:\n${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const before = await pids();
      expect(before.map((p) => p.split(' ')[0])).toEqual(['w-1', 'w-2']);
      writeFileSync(join(dir, 'wsrc', 'a.txt'), 'changed');
      let after = before;
      for (let i = 0; i < 300 && after.some((p) => before.includes(p) || p.endsWith(' null')); i++) {
        await new Promise((r) => setTimeout(r, 100));
        after = await pids();
      }
      expect(after.filter((p) => before.includes(p)), `before ${before.join(', ')}; after ${after.join(', ')}`).toEqual([]);

      // A sync rule into an anonymous volume: each replica has its own, and each gets the copy.
      writeFileSync(join(dir, 'wsync', 'b.txt'), 'synced');
      const seen = async (index: string) => (await wstack('exec', '--index', index, 'w', 'cat', '/cache/app/b.txt')).stdout;
      for (let i = 0; i < 100 && (await seen('2')) !== 'synced'; i++) await new Promise((r) => setTimeout(r, 100));
      expect([await seen('1'), await seen('2')]).toEqual(['synced', 'synced']);
      expect(await pids(), 'a sync rule restarts nothing').toEqual(after);
    } finally {
      watch.kill('SIGINT');
      await new Promise((r) => watch.once('exit', r));
      await wstack('down', '--timeout', '0');
    }
  }, 120_000);

  it('run: a scaled dependency starts with every replica; the one-off of a scaled service is one copy, of a service of 0 replicas too', async () => {
    const other = `${project}r`;
    const rstack = (...args: string[]) => execa(process.execPath, [bin, '-p', other, '-f', join(dir, 'run.yaml'), ...args], { env, cwd: dir, reject: false });
    writeFileSync(
      join(dir, 'run.yaml'),
      [
        'services:',
        '  db:',
        '    command: sleep infinity',
        '    scale: 2',
        '  job:',
        '    command: [sh, -c, "getent ahostsv4 db | grep -c STREAM"]',
        '    depends_on: [db]',
        '    scale: 3',
        '  tool:', // compose's tool service: never up, run on demand
        '    command: [echo, tool ran]',
        '    deploy: {replicas: 0}',
        '',
      ].join('\n'),
    );
    try {
      const r = await rstack('run', '--rm', '-T', 'job');
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toBe('2'); // db answers with both replicas' addresses
      const rows = JSON.parse((await rstack('ps', '-a', '--format', 'json')).stdout) as { name: string; state: string }[];
      expect(rows.map((row) => `${row.name} ${row.state}`)).toEqual(['db-1 running', 'db-2 running']);
      const tool = await rstack('run', '--rm', '-T', 'tool');
      expect([tool.exitCode, tool.stdout, tool.stderr]).toEqual([0, 'tool ran', expect.any(String)]);
    } finally {
      await rstack('down', '--timeout', '0');
    }
  }, 60_000);

  it('down leaves nothing of the project', async () => {
    const r = await main('down', '--timeout', '0');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await netns()).toEqual([]);
    expect((await main('ps', '--format', 'json')).stdout.trim()).toBe('[]');
  }, 60_000);
});
