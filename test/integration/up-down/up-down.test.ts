// `stack up` and `stack down` through the real CLI, on the real kernel: services in their own
// netns, re-runs that change only what changed, and a `down` that leaves nothing, whatever
// happened in between (no spec file, objects removed by hand, a failed start).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeRoot } from '../../harness/require.js';
import { bridgeName, netnsName, vethHostName } from '../../../src/names.js';
import { volumeDataDir } from '../../../src/state/paths.js';
import { readLogLines } from '../../../src/runtime/logs.js';
import { serviceFiles } from '../../../src/state/service-files.js';
import { rigPerTest } from './rig.js';

const rig = rigPerTest();

const TWO = `  a:
    command: sleep 3600
  b:
    command: sleep 3600
    depends_on: [a]
    environment:
      LEVEL: "1"
`;

/** The netns inode a process runs in. */
function netnsOf(pid: number): string {
  return execFileSync('readlink', [`/proc/${pid}/ns/net`], { encoding: 'utf8' }).trim();
}

describeRoot('stack up / stack down', () => {
  it('starts every service in its own netns; a re-run with no change restarts nothing; down leaves nothing', async () => {
    const r = rig();
    r.spec(TWO);
    await r.ok(['up', '-d', '--progress', 'plain']);
    const [a, b] = [await r.pid('a'), await r.pid('b')];
    const hostNetns = netnsOf(process.pid);
    expect(netnsOf(a)).not.toBe(hostNetns);
    expect(netnsOf(a)).not.toBe(netnsOf(b));
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toContain(netnsName(r.name, 'a'));
    expect(existsSync(`/sys/class/net/${bridgeName(r.name, 'default')}`)).toBe(true);

    const again = await r.ok(['up', '-d', '--progress', 'plain']);
    expect(again.stderr).toContain('nothing to do');
    expect([await r.pid('a'), await r.pid('b')]).toEqual([a, b]);

    await r.ok(['down', '--progress', 'plain']);
    expect(r.leftovers(['a', 'b'])).toEqual([]);
    const twice = await r.ok(['down', '--progress', 'plain']);
    expect(twice.stderr).toContain('nothing to do');
  });

  it('services reach each other by name, each in its own root with its own /etc/hosts', async () => {
    const r = rig();
    // Node as pid 1 must exit on SIGTERM itself (its default handler re-raises, which pid 1 ignores).
    const exit = "process.on('SIGTERM', () => process.exit(0));";
    const server = `${exit} require('net').createServer((s) => s.end('hi from ' + require('os').hostname() + '\\n')).listen(7000)`;
    const client = [
      "const net = require('net');",
      "const tryOnce = () => net.connect(7000, 'web').on('data', (d) => console.log('got: ' + d.toString().trim()))",
      "  .on('error', () => setTimeout(tryOnce, 100));",
      'tryOnce(); setInterval(() => {}, 1000);',
      exit,
    ].join(' ');
    r.spec(`  web:
    command: ["node", "-e", ${JSON.stringify(server)}]
  client:
    command: ["node", "-e", ${JSON.stringify(client)}]
    depends_on: [web]
`);
    await r.ok(['up', '-d']);
    const log = serviceFiles(r.roots, r.name, 'client').log;
    let lines: string[] = [];
    for (let i = 0; i < 150 && !lines.some((l) => l.startsWith('got:')); i++) {
      await new Promise((res) => setTimeout(res, 100));
      lines = readLogLines(log).map((l) => l.text);
    }
    expect(lines).toContain('got: hi from web');
    const hosts = readFileSync(`/proc/${await r.pid('client')}/root/etc/hosts`, 'utf8');
    expect(hosts).toMatch(/^10\.\d+\.\d+\.\d+\tweb$/m);
    await r.ok(['down']);
    expect(r.leftovers(['web', 'client'])).toEqual([]);
  });

  it('a peer that joins later is named in the /etc/hosts of a service that keeps running', async () => {
    const r = rig();
    r.spec('  a:\n    command: sleep 3600\n');
    await r.ok(['up', '-d']);
    const a = await r.pid('a');
    const hosts = () => readFileSync(`/proc/${a}/root/etc/hosts`, 'utf8');
    expect(hosts()).not.toMatch(/\tb$/m);
    r.spec('  a:\n    command: sleep 3600\n  b:\n    command: sleep 3600\n');
    await r.ok(['up', '-d']);
    expect(await r.pid('a')).toBe(a);
    expect(hosts()).toMatch(/^10\.\d+\.\d+\.\d+\tb$/m);
  });

  it('a changed environment recreates that service only', async () => {
    const r = rig();
    r.spec(TWO);
    await r.ok(['up', '-d']);
    const [a, b] = [await r.pid('a'), await r.pid('b')];
    r.spec(TWO.replace('LEVEL: "1"', 'LEVEL: "2"'));
    const up = await r.ok(['up', '-d', '--progress', 'json']);
    const events = up.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; id?: string; cause?: string });
    const started = events.filter((e) => e.type === 'operation-started').map((e) => `${e.id} (${e.cause})`);
    expect(started).toEqual([
      'stop-service:b (environment changed)',
      'remove-service:b (environment changed)',
      'start-service:b (environment changed)',
    ]);
    expect(await r.pid('a')).toBe(a);
    expect(await r.pid('b')).not.toBe(b);
    expect(readFileSync(`/proc/${await r.pid('b')}/environ`, 'utf8')).toContain('LEVEL=2');
  });

  it("up and run --remove-orphans naming a service remove what the spec no longer has and the one-offs that ended; down accepts it", async () => {
    const r = rig();
    r.spec(TWO.replace('    depends_on: [a]\n', ''));
    await r.ok(['up', '-d']);
    const a = await r.pid('a');
    await r.ok(['run', 'a', 'true']); // a one-off of a that ends at once, kept (no --rm)
    const listed = async () => (await r.ok(['ps', '-a', '--services'])).stdout.split('\n');
    expect((await r.ok(['ps', '-a', '--status', 'exited'])).stdout).toMatch(/^a-run-\w+\s/m); // ended
    r.spec('  a:\n    command: sleep 3600\n');
    await r.ok(['up', '-d', 'a']); // naming a service: the orphan stays, as in compose
    expect(r.leftovers(['b']).some((e) => e.includes(netnsName(r.name, 'b')))).toBe(true);
    await r.ok(['up', '-d', '--remove-orphans', 'a']);
    expect(await r.pid('a')).toBe(a);
    // b's namespace, veth, cgroups and record are gone, and the one-off; a's and the project's stay.
    const ofB = r.leftovers(['b']).filter(
      (e) => e.includes(netnsName(r.name, 'b')) || e.includes(vethHostName(r.name, 'b', 'default')) || e.endsWith(`/${r.name}/b`) || e.includes('services/b.json'),
    );
    expect(ofB).toEqual([]);
    expect(r.leftovers(['a']).some((e) => e.includes(netnsName(r.name, 'a')))).toBe(true);
    expect((await r.ok(['ps', '-a'])).stdout).not.toMatch(/^(b|a-run-\w+)\s/m);
    expect(await listed()).toEqual(['a']);
    // run takes it too: a service the spec drops goes as the one-off starts, the one-off stays.
    r.spec('  a:\n    command: sleep 3600\n  c:\n    command: sleep 3600\n');
    await r.ok(['up', '-d']);
    r.spec('  a:\n    command: sleep 3600\n');
    await r.ok(['run', 'a', 'true']);
    expect(await listed()).toEqual(['a', 'c']); // without the option, c stays
    await r.ok(['run', '--remove-orphans', 'a', 'true']);
    expect(await listed()).toEqual(['a']);
    expect((await r.ok(['ps', '-a', '--status', 'exited'])).stdout.match(/^a-run-\w+\s/gm)).toHaveLength(1); // the earlier ended one-off went, this one stays
    await r.ok(['down', '--remove-orphans']);
    expect(r.leftovers(['a', 'b', 'c'])).toEqual([]);
  });

  it("a service no active profile enables stays as it runs, supervised, through up and --remove-orphans (compose's); down takes it", async () => {
    const r = rig();
    // a on its own network; debug, behind a profile, on the default network no other service uses.
    const spec = (sleep: number) =>
      r.spec(`  a:\n    command: sleep 3600\n    networks: [front]\n  debug:\n    command: sleep ${sleep}\n    profiles: [debug]\n    restart: always\n`, 'networks:\n  front: {}\n');
    spec(3600);
    await r.ok(['--profile', 'debug', 'up', '-d']);
    const [a, debug] = [await r.pid('a'), await r.pid('debug')];
    // The profile off, debug edited: nothing of it is touched, nor its network (which the spec
    // now loads without: only debug used it).
    spec(3601);
    const up = await r.ok(['up', '-d', '--progress', 'json']);
    const ops = up.stderr.split('\n').filter(Boolean).flatMap((l) => ((JSON.parse(l) as { type: string; id?: string }).type === 'operation-started' ? [(JSON.parse(l) as { id: string }).id] : []));
    expect(ops).toEqual([]);
    await r.ok(['up', '-d', '--remove-orphans']);
    expect([await r.pid('a'), await r.pid('debug')]).toEqual([a, debug]);
    expect(existsSync(`/sys/class/net/${bridgeName(r.name, 'default')}`)).toBe(true);
    expect(readFileSync(`/proc/${debug}/cmdline`, 'utf8')).toBe('sleep\u00003600\u0000');
    // Still the supervisor's: killed, its restart policy starts it again.
    process.kill(debug, 'SIGKILL');
    let again = debug;
    for (let tries = 0; again === debug; tries++) {
      expect(tries, 'the supervisor never restarted debug').toBeLessThan(100);
      await new Promise((resolve) => setTimeout(resolve, 100));
      again = (await r.record('debug'))?.process?.pid ?? debug;
    }
    // The profile on again: debug is recreated as the spec now says.
    await r.ok(['--profile', 'debug', 'up', '-d']);
    expect(readFileSync(`/proc/${await r.pid('debug')}/cmdline`, 'utf8')).toBe('sleep\u00003601\u0000');
    expect(await r.pid('a')).toBe(a);
    await r.ok(['down']);
    expect(r.leftovers(['a', 'debug'], ['default', 'front'])).toEqual([]);
  });

  it('a kept service stays the supervisor\'s through a one-off and a Ctrl-C of a foreground up; taking its port is refused until it stops', async () => {
    const r = rig();
    const port = 20000 + Math.floor(Math.random() * 20000);
    const spec = (webPort: number) =>
      r.spec(`  web:\n    command: sleep 3600\n    ports: ["127.0.0.1:${webPort}:80"]\n  debug:\n    command: sleep 3600\n    profiles: [debug]\n    ports: ["127.0.0.1:${port}:80"]\n  migrate:\n    command: ["true"]\n    profiles: [tools]\n`);
    spec(port + 1);
    await r.ok(['--profile', 'debug', 'up', '-d']);
    const debug = await r.pid('debug');
    const snapshot = () => Object.keys((JSON.parse(readFileSync(join(r.roots.run, r.name, 'project.json'), 'utf8')) as { project: { services: object } }).project.services);
    await r.ok(['run', '--rm', 'migrate']); // its removal is an apply of a project without debug
    expect(snapshot()).toContain('debug');
    // A foreground up, then Ctrl-C: web stops, debug runs on and is still in the snapshot.
    const web = await r.pid('web');
    const fg = r.start(['up', '--progress', 'plain']);
    // Its Ctrl-C handler is there once it says what it did (web runs already: nothing to do).
    let said = '';
    fg.stderr?.on('data', (d: Buffer) => (said += d.toString()));
    for (let tries = 0; !said.includes(`project ${r.name}`); tries++) {
      expect(tries, 'the foreground up never said what it did').toBeLessThan(300);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await r.pid('web')).toBe(web);
    fg.kill('SIGINT');
    expect((await fg).exitCode).toBe(130);
    expect((await r.stack(['ps', '--services', '--status', 'running'])).stdout).toBe('debug');
    expect(await r.pid('debug')).toBe(debug);
    expect(snapshot()).toContain('debug');
    // web now wants debug's port: refused while debug runs, fine once it is stopped.
    spec(port);
    const clash = await r.stack(['up', '-d']);
    expect(clash.exitCode).toBe(1);
    expect(clash.stderr).toContain(`127.0.0.1:${port}/tcp is \`web\`'s in the spec, and \`debug\` has it`);
    expect(clash.stderr).not.toMatch(/\n\s+at /);
    await r.ok(['stop', 'debug']);
    await r.ok(['up', '-d']);
    await r.ok(['down']);
    expect(r.leftovers(['web', 'debug', 'migrate'])).toEqual([]);
  });

  it("a run refused for an address a kept service holds leaves no one-off behind", async () => {
    const r = rig();
    const subnet = `10.213.${Math.floor(Math.random() * 250)}`;
    const spec = (webPin: string) =>
      r.spec(
        `  web:\n    command: sleep 3600\n    networks: {lan: {${webPin}}}\n  debug:\n    command: sleep 3600\n    profiles: [debug]\n    networks: {lan: {ipv4_address: ${subnet}.9}}\n`,
        `networks:\n  lan:\n    ipam:\n      config: [{subnet: ${subnet}.0/24}]\n`,
      );
    spec('');
    await r.ok(['--profile', 'debug', 'up', '-d']);
    spec(`ipv4_address: ${subnet}.9`); // web now pins debug's address
    const ran = await r.stack(['run', '--rm', 'web', 'true']);
    expect(ran.exitCode).toBe(1);
    expect(ran.stderr).toContain(`${subnet}.9`);
    expect(ran.stderr).not.toMatch(/\n\s+at /);
    const records = readdirSync(join(r.roots.run, r.name, 'services')).sort();
    expect(records).toEqual(['debug.json', 'web.json']);
    await r.ok(['down']);
    expect(r.leftovers(['web', 'debug'], ['lan'])).toEqual([]);
  });

  it('a one-off on a network no service of the spec uses keeps it, in the kernel and in the snapshot, through an up', async () => {
    const r = rig();
    r.spec('  web:\n    command: sleep 3600\n    networks: [front]\n  tool:\n    command: sleep 3600\n    profiles: [tools]\n', 'networks:\n  front: {}\n');
    await r.ok(['up', '-d']);
    await r.ok(['run', '-d', '--name', 'tool-1', 'tool']);
    const pid = (await r.record('tool-1'))?.process?.pid;
    await r.ok(['up', '-d']);
    expect(existsSync(`/sys/class/net/${bridgeName(r.name, 'default')}`)).toBe(true);
    expect(existsSync(`/sys/class/net/${vethHostName(r.name, 'tool-1', 'default')}/master`)).toBe(true);
    expect((await r.record('tool-1'))?.process?.pid).toBe(pid);
    const snapshot = JSON.parse(readFileSync(join(r.roots.run, r.name, 'project.json'), 'utf8')) as { project: { networks: object }; ipam: { networks: object } };
    expect(Object.keys(snapshot.project.networks)).toEqual(['default', 'front']);
    expect(Object.keys(snapshot.ipam.networks)).toEqual(['default', 'front']);
    await r.ok(['down']);
    expect(r.leftovers(['web', 'tool-1'], ['default', 'front'])).toEqual([]);
  });

  it('a service behind a profile runs when the command names it, with run and with up (the compose spec: "explicitly targeted")', async () => {
    const r = rig();
    r.spec('  a:\n    command: sleep 3600\n  migrate:\n    command: ["sh", "-c", "echo migrated"]\n    profiles: [tools]\n  debug:\n    command: sleep 3600\n    profiles: [debug]\n');
    // Named before it was made: a service of the spec that is not there yet (not an unknown
    // one), with the command that makes it.
    for (const verb of ['start', 'stop', 'restart']) {
      const early = await r.stack([verb, 'debug']);
      expect([early.exitCode, early.stderr]).toEqual([1, expect.stringContaining('service "debug" of project')]);
      expect(early.stderr).toContain('`stack up debug` creates and starts it');
    }
    const notRunning = await r.stack(['exec', 'debug', 'true']);
    expect([notRunning.exitCode, notRunning.stderr]).toEqual([1, expect.stringContaining('service "debug" of project')]);
    expect(notRunning.stderr).toContain('start it with `stack up debug`');
    expect((await r.ok(['run', '--rm', 'migrate'])).stdout).toContain('migrated');
    await r.ok(['up', '-d', 'debug']);
    const services = async () => (await r.ok(['ps', '--services'])).stdout.split('\n');
    expect(await services()).toEqual(['debug']);
    const debug = await r.pid('debug');
    // A plain up starts a and leaves debug, which no active profile enables, as it runs.
    await r.ok(['up', '-d']);
    expect(await services()).toEqual(['a', 'debug']);
    expect(await r.pid('debug')).toBe(debug);
    const unknown = await r.stack(['up', '-d', 'nosuch']);
    expect([unknown.exitCode, unknown.stderr]).toEqual([1, expect.stringContaining('has no service "nosuch"')]);
    await r.ok(['down']);
    expect(r.leftovers(['a', 'debug', 'migrate'])).toEqual([]);
    // One that its profile cannot enable alone (a dependency behind another profile): named, the
    // reason is said, as `up debug` says it, not "no service".
    r.spec('  a:\n    command: sleep 3600\n  debug:\n    command: sleep 3600\n    profiles: [debug]\n    depends_on: [tool]\n  tool:\n    command: sleep 3600\n    profiles: [tools]\n');
    for (const args of [['start', 'debug'], ['exec', 'debug', 'true']]) {
      const hidden = await r.stack(args);
      expect([hidden.exitCode, hidden.stderr]).toEqual([1, expect.stringContaining('which no active profile enables')]);
    }
  });

  it("ps --status chooses services by state and --services prints their names (compose's options)", async () => {
    const r = rig();
    r.spec('  a:\n    command: sleep 3600\n  b:\n    command: ["sh", "-c", "exit 3"]\n');
    await r.ok(['up', '-d']);
    const ps = async (...args: string[]) => (await r.ok(['ps', ...args])).stdout;
    for (let tries = 0; !/^b\s+exited with code 3/m.test(await ps()); tries++) {
      expect(tries, 'b never showed as exited').toBeLessThan(100);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await ps('--services')).toBe('a\nb'); // the final newline trimmed by the rig
    expect(await ps('--services', '--status', 'running')).toBe('a');
    expect(await ps('--services', '--status', 'exited')).toBe('b');
    expect(await ps('--services', '--status', 'exited', '--status', 'running')).toBe('a\nb');
    expect(await ps('--services', '--status', 'restarting')).toBe('');
    expect(await ps('--services', '--status', 'paused')).toBe(''); // compose's, never shown here
    const table = await ps('--status', 'exited');
    expect(table).toMatch(/^b\s+exited with code 3/m);
    expect(table).not.toMatch(/^a\s/m);
    expect((await ps('--status', 'dead')).split('\n')).toEqual([expect.stringMatching(/^NAME\s+STATE/)]); // the header alone
    const bad = await r.stack(['ps', '--status', 'sleeping']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('--status takes running, restarting, exited, created, paused, removing, dead, not "sleeping"');
  });

  it('down works without the spec file, from the records (-p NAME)', async () => {
    const r = rig();
    r.spec(TWO);
    await r.ok(['up', '-d']);
    rmSync(join(r.dir, 'stack.yaml'));
    await r.ok(['-p', r.name, 'down']);
    expect(r.leftovers(['a', 'b'])).toEqual([]);
  });

  it('down cleans up after objects were removed by hand and a process was killed', async () => {
    const r = rig();
    r.spec(TWO);
    await r.ok(['up', '-d']);
    process.kill(await r.pid('a'), 'SIGKILL');
    execFileSync('ip', ['netns', 'delete', netnsName(r.name, 'b')]);
    execFileSync('ip', ['link', 'delete', bridgeName(r.name, 'default')]);
    await r.ok(['down']);
    expect(r.leftovers(['a', 'b'])).toEqual([]);
  });

  it('a service that cannot start is undone and named; the others keep running; down cleans all', async () => {
    const r = rig();
    r.spec(`  ok:
    command: sleep 3600
  broken:
    command: no-such-program-anywhere --flag
`);
    const up = await r.stack(['up', '-d', '--progress', 'plain']);
    expect(up.exitCode).toBe(1);
    expect(up.stderr).toMatch(/service "broken": program "no-such-program-anywhere" not found/);
    expect(up.stderr).not.toMatch(/\n\s+at /);
    const ok = await r.pid('ok');
    expect(existsSync(`/proc/${ok}`)).toBe(true);
    const broken = await r.record('broken');
    expect(broken?.process).toBeNull();
    expect(broken?.cgroups).toEqual([]);
    await r.ok(['down']);
    expect(r.leftovers(['ok', 'broken'])).toEqual([]);
  });

  it('under sudo, the bind source folders stack creates in the project belong to the invoking user', async () => {
    const r = rig();
    r.spec(`  w:
    command: ["sh", "-c", "echo written > /data/out.txt; sleep 3600"]
    volumes:
      - ./made/deep:/data
`);
    await r.ok(['up', '-d'], { SUDO_UID: '65534', SUDO_GID: '65533' });
    for (const dir of ['made', 'made/deep']) expect(statSync(join(r.dir, dir))).toMatchObject({ uid: 65534, gid: 65533 });
    expect(statSync(r.dir).uid).toBe(0);
    for (let i = 0; i < 100 && !existsSync(join(r.dir, 'made/deep/out.txt')); i++) await new Promise((res) => setTimeout(res, 50));
    expect(readFileSync(join(r.dir, 'made/deep/out.txt'), 'utf8')).toBe('written\n');
  });

  it.each([
    ['a `..` target', '/app/../etc', /contains `.` or `..`/],
    ['a target in /proc', '/proc/sys/kernel', /is in \/proc/],
  ])('refuses %s before making anything for the service', async (_what, target, message) => {
    const r = rig();
    r.spec(`  bad:
    command: sleep 3600
    volumes:
      - ./src:${target}
`);
    const up = await r.stack(['up', '-d']);
    expect(up.exitCode).toBe(1);
    expect(up.stderr).toMatch(message);
    expect(up.stderr).toContain('service "bad"');
    expect((await r.record('bad'))?.cgroups ?? []).toEqual([]);
    expect(existsSync(join(r.dir, 'src'))).toBe(false);
  });

  it('named volumes survive down and go with down -v, as do anonymous ones; they belong to the service user', async () => {
    const r = rig();
    r.spec(
      `  db:
    command: sleep 3600
    user: nobody
    volumes:
      - data:/data
      - /cache
`,
      'volumes:\n  data: {}\n',
    );
    await r.ok(['up', '-d']);
    const named = volumeDataDir(r.roots, `${r.name}_data`);
    expect(statSync(named).uid).toBe(65534);
    await r.ok(['down']);
    expect(existsSync(named)).toBe(true);
    await r.ok(['up', '-d']);
    await r.ok(['down', '-v']);
    expect(existsSync(named)).toBe(false);
    expect(existsSync(join(r.roots.lib, 'volumes')) ? readdir(join(r.roots.lib, 'volumes')) : []).toEqual([]);
    expect(r.leftovers(['db'])).toEqual([]);
  });
});

function readdir(dir: string): string[] {
  return execFileSync('ls', ['-A', dir], { encoding: 'utf8' }).split('\n').filter(Boolean);
}
