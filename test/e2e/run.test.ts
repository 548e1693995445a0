// `stack run` through the real CLI (bin/stack.cjs over dist/: `npm run build` first): a one-off
// copy of a service, started after its dependencies (here a node server it then fetches by
// name), output and exit code passed through, -e/-u/-w/--entrypoint applied, a pty on a
// terminal; not answering the service's name; -d prints its name and leaves it running; `up`
// after it changes nothing; --rm leaves nothing of it, `down` nothing of anything.
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resolver } from 'node:dns/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../harness/require.js';
import { inventory } from '../harness/inventory.js';
import { netnsName, nftTableName } from '../../src/names.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

/** `s` as one word for sh. */
const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

const server = (port: number, text: string): string =>
  `node -e "require('http').createServer((q, s) => s.end('${text}')).listen(${port})"`;

describeWith({ root: true, commands: ['script', 'node', 'getent'] }, 'stack run', () => {
  const project = `rn${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-run-'));
  const spec = join(dir, 'stack.yaml');
  const state = join(dir, 'state');
  const env = { ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave' };
  const cli = [bin, '-p', project, '-f', spec];
  const stack = (...args: string[]) => execa(process.execPath, [...cli, ...args], { env, reject: false });
  /** The project's kernel objects (netns, links of its services are in the netns list by name, cgroups, nft). */
  const objects = (): string[] =>
    inventory().filter((o) => o.includes(netnsName(project, '')) || o.includes(`stack/${project}`) || o.endsWith(nftTableName(project)));
  const records = (): string[] => readdirSync(join(state, 'run', project, 'services')).sort();
  const oneOffObjects = (): string[] => objects().filter((o) => o.includes('-run-'));

  beforeAll(() => {
    writeFileSync(
      spec,
      [
        'services:',
        '  api:',
        `    command: ${server(8000, 'pong')}`,
        '    healthcheck:',
        `      test: ["CMD", "node", "-e", "require('http').get('http://127.0.0.1:8000', () => process.exit(0)).on('error', () => process.exit(1))"]`,
        '      interval: 300ms',
        '  web:',
        `    command: ${server(8001, 'web')}`,
        '    environment:',
        '      GREETING: hello',
        '    depends_on:',
        '      api:',
        '        condition: service_healthy',
        '  probe:',
        '    command: sleep infinity',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await execa(process.execPath, [bin, '-p', project, 'down', '-v', '--timeout', '0'], { env, reject: false });
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts the dependencies first, reaches one by name, and --rm leaves nothing of the one-off', async () => {
    const fetchApi = `fetch('http://api:8000/').then(r => r.text()).then(t => console.log('got ' + t))`;
    const r = await stack('run', '--rm', '-T', 'web', 'node', '-e', fetchApi);
    expect(r.stdout, String(r.stderr)).toBe('got pong');
    expect(r.exitCode).toBe(0);
    // api (the dependency) runs; web itself was not started; no trace of the one-off.
    expect(records()).toEqual(['api.json']);
    expect(oneOffObjects()).toEqual([]);
    expect(readdirSync(join(state, 'run', project, 'runtime'))).toEqual(['api']);
    expect((await stack('ps', '-a')).stdout).not.toContain('-run-');
  });

  it("passes output and exit code through, and applies -e, -u, -w and --entrypoint", async () => {
    const hi = await stack('run', '--rm', '-T', 'web', 'echo', 'hi');
    expect([hi.stdout, hi.exitCode]).toEqual(['hi', 0]);
    const five = await stack('run', '--rm', '-T', 'web', 'sh', '-c', 'echo out; echo err >&2; exit 5');
    expect([five.stdout, five.exitCode]).toEqual(['out', 5]);
    expect(five.stderr).toContain('err');
    const who = await stack('run', '--rm', '-T', '-e', 'X=42', '-u', 'nobody', '-w', '/tmp', 'web', 'sh', '-c', 'echo $GREETING $X $(id -u) $(pwd)');
    expect(who.stdout, String(who.stderr)).toBe('hello 42 65534 /tmp');
    const entry = await stack('run', '--rm', '-T', '--entrypoint', 'echo from-entrypoint', 'web', 'and', 'args');
    expect(entry.stdout).toBe('from-entrypoint and args');
    expect(oneOffObjects()).toEqual([]);
  });

  it('gives the command a pseudo-terminal when stack runs on one (util-linux script)', async () => {
    const line = [process.execPath, ...cli, 'run', '--rm', 'web', 'sh', '-c', 'tty; exit 3'].map(q).join(' ');
    const child = spawn('script', ['-qefc', `${line}; echo "stack exited $?"`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.stdin!.end();
    expect(code).toBe(0);
    expect(out.replace(/\r/g, '')).toMatch(/^\/dev\/pts\/\d+\n(.*\n)*stack exited 3$/m);
    expect(oneOffObjects()).toEqual([]);
  });

  it('^C goes to the command, not stack: stack exits 130 and --rm still removes the one-off', async () => {
    const line = [process.execPath, ...cli, 'run', '--rm', 'web', 'sh', '-c', 'echo ready; exec sleep 100'].map(q).join(' ');
    const child = spawn('script', ['-qefc', `${line}; echo "stack exited $?"`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    for (const deadline = Date.now() + 30_000; !out.includes('ready'); ) {
      if (Date.now() > deadline) throw new Error(`no "ready" in ${JSON.stringify(out)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.stdin!.write('\x03');
    expect(await exited).toBe(0);
    child.stdin!.end();
    expect(out).toContain('stack exited 130');
    expect(oneOffObjects()).toEqual([]);
  });

  it('-d prints the name and leaves it running; it does not answer to the service name; up changes nothing for it', async () => {
    const up = await stack('up', '-d', '--progress', 'plain');
    expect(up.exitCode, String(up.stderr)).toBe(0);
    const d = await stack('run', '-d', 'web', 'sleep', '1000');
    expect(d.exitCode, String(d.stderr)).toBe(0);
    const name = d.stdout;
    expect(name).toMatch(/^web-run-[0-9a-f]{6}$/);
    const ps = async (...flags: string[]) => JSON.parse((await stack('ps', '--format', 'json', ...flags)).stdout) as { name: string; state: string; pid: number; ports: string[] }[];
    const before = await ps('-a');
    expect(before.find((s) => s.name === name)?.state).toBe('running');
    expect(before.find((s) => s.name === name)).toMatchObject({ ports: [] }); // none unless asked
    expect((await ps()).map((s) => s.name)).toEqual(['api', 'probe', 'web']);

    // Names: /etc/hosts (getent) and the DNS forwarder (resolve4) of another service.
    const own = async (service: string) => (await stack('exec', service, 'sh', '-c', 'getent hosts $(hostname)')).stdout.split(/\s+/)[0]!;
    const webAddress = await own('web');
    const oneOffAddress = await own(name);
    expect(oneOffAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(oneOffAddress).not.toBe(webAddress);
    expect((await stack('exec', 'probe', 'getent', 'hosts', 'web')).stdout.split(/\s+/)[0]).toBe(webAddress);
    const resolve = (host: string) => stack('exec', 'probe', 'node', '-e', `require('dns').promises.resolve4('${host}').then(a => console.log(a.join(',')))`);
    expect((await resolve('web')).stdout).toBe(webAddress);
    expect((await resolve(name)).stdout).toBe(oneOffAddress);

    // up after the run: nothing to do, nothing restarted or removed.
    expect((await stack('plan')).stdout).toBe('nothing to do');
    const again = await stack('up', '-d', '--progress', 'plain');
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect(again.stderr).not.toContain(name);
    expect(await ps('-a')).toEqual(before);
  });

  it('--use-aliases: the service name answers with the service and the one-off, the service first', async () => {
    const d = await stack('run', '-d', '--use-aliases', 'web', 'sleep', '1000');
    expect(d.exitCode, String(d.stderr)).toBe(0);
    const own = async (service: string) => (await stack('exec', service, 'sh', '-c', 'getent hosts $(hostname)')).stdout.split(/\s+/)[0]!;
    const [webAddress, oneOffAddress] = [await own('web'), await own(d.stdout)];
    // Asked of the project's forwarder on the network's gateway, as the services ask it; again on a
    // lost answer (each try 1.5 s), each failure kept for the message below.
    const snapshot = JSON.parse(readFileSync(join(state, 'run', project, 'project.json'), 'utf8')) as { ipam: { networks: Record<string, { gateway: string }> } };
    const resolver = new Resolver({ timeout: 1500, tries: 1 });
    resolver.setServers([snapshot.ipam.networks.default!.gateway]);
    const answer = { stdout: '', stderr: '' };
    for (let i = 0; i < 8 && answer.stdout === ''; i++) {
      answer.stdout = await resolver.resolve4('web').then((a) => a.join(','), (e: NodeJS.ErrnoException) => ((answer.stderr += `${e.code}\n`), ''));
    }
    const log = (): string => {
      try {
        return readFileSync(join(state, 'run', project, 'supervisor', 'supervisor.log'), 'utf8').split('\n').slice(-30).join('\n');
      } catch (e) {
        return String(e);
      }
    };
    expect(answer.stdout, `${answer.stderr}\n--- supervisor log\n${log()}`).toBe(`${webAddress},${oneOffAddress}`);
  });

  it('-d --rm: the one-off runs detached and is removed, with all it made, once its command ends', async () => {
    const d = await stack('run', '-d', '--rm', 'web', 'sh', '-c', 'sleep 1');
    expect(d.exitCode, String(d.stderr)).toBe(0);
    const name = d.stdout;
    expect(records()).toContain(`${name}.json`);
    const deadline = Date.now() + 20_000;
    while ((records().includes(`${name}.json`) || objects().some((o) => o.includes(name))) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(records()).not.toContain(`${name}.json`);
    expect(objects().filter((o) => o.includes(name))).toEqual([]);
    // and the reaper that did it is gone
    await new Promise((r) => setTimeout(r, 500));
    const reapers = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0'); // dist/ or the bundle's reaper
          return /oneoff-reaper\.[mc]?js$/.test(argv[1] ?? '') && argv[2] === project;
        } catch {
          return false;
        }
      });
    expect(reapers).toEqual([]);
  });

  it('-p publishes a port of the one-off on the host', async () => {
    const port = 20000 + randomBytes(2).readUInt16BE(0) % 20000;
    const d = await stack('run', '-d', '-p', `127.0.0.1:${port}:8001`, 'web');
    expect(d.exitCode, String(d.stderr)).toBe(0);
    const deadline = Date.now() + 30_000;
    let body = '';
    while (body !== 'web' && Date.now() < deadline) {
      // each attempt bounded: one connection hung for the whole test timeout once (120 s, in a run beside the supervisor suites)
      body = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3000) }).then((r) => r.text()).catch(() => '');
      if (body !== 'web') await new Promise((r) => setTimeout(r, 100));
    }
    expect(body).toBe('web');
  });

  it('without --rm the one-off stays, stopped, until down; ps -a shows how its command ended', async () => {
    const r = await stack('run', '-T', '--name', `kept-${project}`, 'web', 'sh', '-c', 'exit 3');
    expect(r.exitCode, String(r.stderr)).toBe(3);
    const kept = (JSON.parse((await stack('ps', '-a', '--format', 'json')).stdout) as { name: string; state: string }[]).find((s) => s.name === `kept-${project}`);
    expect(kept?.state).toBe('exited with code 3'); // its command's end, not its init's SIGTERM (compose: Exited (3))
    expect((await stack('ps', '--status', 'exited', '--services')).stdout.split('\n')).toContain('web');
    expect(objects().some((o) => o.includes(`kept-${project}`))).toBe(true);
  });

  it('refuses an unknown service by name, exit 1, changing nothing', async () => {
    const before = [objects(), records()];
    const r = await stack('run', '--rm', 'wbe', 'true');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('no service "wbe"');
    expect(r.stderr).toContain('did you mean "web"?');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect([objects(), records()]).toEqual(before);
  });

  it('down removes everything, one-offs included', async () => {
    const down = await stack('down', '--timeout', '0');
    expect(down.exitCode, String(down.stderr)).toBe(0);
    expect(objects()).toEqual([]);
    expect(existsSync(join(state, 'run', project))).toBe(false);
  });
});
