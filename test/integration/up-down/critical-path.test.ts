// What `up` moved off its critical path (issue 11) keeps its guarantees: the firewall of a new
// network, written while the services' namespaces and cgroups are made, is written before any
// of them is launched (a failed rewrite launches nothing and fails the run); the supervisor a
// fresh `up` starts after its walk, not waited for, has every socket it serves bound before `up`
// returns (socket activation), and a `down` right after stops it.
import net from 'node:net';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { serviceFiles } from '../../../src/state/service-files.js';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeRoot } from '../../harness/require.js';
import { freePort } from '../../harness/ports.js';
import { eventually } from '../../harness/eventually.js';
import { supervisorProcesses } from '../../../src/executor/supervisor-procs.js';
import { supervisorPaths } from '../../../src/supervisor/paths.js';
import { supervisorStatus } from '../../../src/supervisor/control.js';
import { handedFds, parseHandedSockets, SOCKETS_ARGUMENT } from '../../../src/supervisor/handed.js';
import { isSameProcess } from '../../../src/sys/proc.js';
import { networkRecords } from '../../../src/state/records.js';
import { FIREWALL_PENDING } from '../../../src/planner/hash.js';
import { nftTableName } from '../../../src/names.js';
import { isEventWait } from '../../../src/runtime/stop.js';
import { rigPerTest, type Rig } from './rig.js';

const rig = rigPerTest();

/** A program that asks its nameserver for one name (A) and says how it went, in one line. */
const ASK = `import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
const server = readFileSync('/etc/resolv.conf', 'utf8').split('\\n').find((l) => l.startsWith('nameserver')).split(/\\s+/)[1];
const labels = process.argv[2].split('.').map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)]));
const query = Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
const socket = dgram.createSocket('udp4');
const began = Date.now();
const done = (line) => { console.log(line); clearTimeout(timer); socket.close(); };
const timer = setTimeout(() => done('no answer in 8 s'), 8000);
socket.on('error', (e) => done('refused: ' + e.code));
socket.on('message', (m) => done('answered rcode ' + (m[3] & 15) + ' answers ' + m.readUInt16BE(6) + ' after ' + (Date.now() - began) + ' ms'));
socket.connect(53, server, () => socket.send(query));
`;

/** The project's supervisor, from its pid file. */
function supervisorRecord(r: Rig): { pid: number; startTime: number } {
  return JSON.parse(readFileSync(supervisorPaths(r.roots, r.name).pidFile, 'utf8')) as { pid: number; startTime: number };
}

function supervisorPid(r: Rig): number {
  return supervisorRecord(r).pid;
}

describeRoot('up: what runs beside the walk', () => {
  it('launches nothing when the firewall of its new network cannot be written, and says why', async () => {
    const r = rig();
    r.spec('  web:\n    command: ["sleep", "3600"]\n');
    // The project's table, owned by another program (nft, interactive, holding its netlink socket
    // open): the kernel refuses to replace it, so the rewrite create-network leaves running fails
    // after the bridge is made. The table goes when its owner does.
    const table = nftTableName(r.name);
    const owner = spawn('nft', ['-i'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const gone = new Promise((resolve) => owner.once('exit', resolve));
    const tables = () => execFileSync('nft', ['list', 'tables', 'inet'], { encoding: 'utf8' });
    let up: Awaited<ReturnType<Rig['stack']>>;
    try {
      owner.stdin.write(`add table inet ${table} { flags owner; }\n`);
      await eventually('the owned table', () => (tables().includes(table) ? true : undefined), 10_000);
      up = await r.stack(['up', '-d', '--progress', 'plain']);
    } finally {
      owner.kill('SIGKILL'); // by its pid
      await gone;
    }
    expect(tables()).not.toContain(table);
    expect(up.exitCode).toBe(1);
    expect(up.stderr).toContain(`stack: service "web": the kernel refused the firewall of project ${r.name} (table inet ${table}): NFT_MSG_NEWTABLE table ${table}: EPERM`);
    expect(up.stderr).toContain('a table another program owns');
    expect(up.stderr).not.toContain('internal error');
    // Its start waited for the firewall: no process was launched, none is recorded.
    expect((await r.record('web'))?.process ?? null).toBeNull();
    expect(r.leftovers(['web']).filter((l) => l.startsWith('cgroup') && l.includes('/web'))).toEqual([]);
    // The network stays recorded as not firewalled: the next up (the real nft) recreates it,
    // which writes the firewall, and starts the service.
    expect((await networkRecords.read(r.roots, r.name, 'default'))?.config).toEqual(FIREWALL_PENDING);
    const again = await r.ok(['up', '-d', '--progress', 'plain']);
    expect(again.stderr).toContain('its firewall was not written');
    expect(r.leftovers(['web'])).toContain(`nft ${nftTableName(r.name)}`);
    expect((await networkRecords.read(r.roots, r.name, 'default'))?.config.hash).not.toBe(FIREWALL_PENDING.hash);
    expect(isSameProcess(await r.pid('web'), (await r.record('web'))!.process!.startTime)).toBe(true);
    await r.ok(['down', '--progress', 'plain']);
    expect(r.leftovers(['web'])).toEqual([]);
  });

  it('a run cut off once its bridge is made leaves the network recorded as not firewalled: the next up recreates it, firewall and all', async () => {
    const r = rig();
    r.spec('  web:\n    command: ["sleep", "3600"]\n');
    expect((await r.stack(['up', '-d'], { STACK_TEST_CRASH_AT: 'create-network:default' })).signal).toBe('SIGKILL');
    expect((await networkRecords.read(r.roots, r.name, 'default'))?.config).toEqual(FIREWALL_PENDING);
    const again = await r.ok(['up', '-d', '--progress', 'plain']);
    expect(again.stderr).toContain('its firewall was not written');
    expect(r.leftovers(['web'])).toContain(`nft ${nftTableName(r.name)}`);
    expect(await r.pid('web')).toBeGreaterThan(0);
    await r.ok(['down', '--progress', 'plain']);
    expect(r.leftovers(['web'])).toEqual([]);
  });

  it('down removes two networks side by side and leaves neither firewall rule nor table behind', async () => {
    // Each network's firewall rewrite leaves out every network the run removes: else the last
    // one wrote the other back (its record still there) and the nft table outlived the project.
    const r = rig();
    r.spec('  a:\n    command: ["sleep", "3600"]\n    networks: [front, back]\n  b:\n    command: ["sleep", "3600"]\n    networks: [back]\n', 'networks:\n  front: {}\n  back: {}\n');
    await r.ok(['up', '-d', '--progress', 'plain']);
    expect(r.leftovers(['a', 'b'], ['front', 'back'])).toContain(`nft ${nftTableName(r.name)}`);
    await r.ok(['down', '--progress', 'plain']);
    expect(r.leftovers(['a', 'b'], ['front', 'back'])).toEqual([]);
  });

  it('starts a fresh project\'s supervisor with its sockets bound and does not wait for it: what comes meanwhile waits', async () => {
    const r = rig();
    const port = await freePort();
    r.spec(`  web:\n    command: ["sleep", "3600"]\n    ports: ["127.0.0.1:${port}:80"]\n`);
    const fresh = await r.ok(['up', '-d', '--progress', 'plain'], { STACK_TRACE: '1' });
    expect(fresh.stderr).toContain('ensure: activated');
    // Before anything else: the published port takes a connection, the kernel holding it in
    // the listen backlog until the supervisor serves it (refused, the connect would fail).
    const early = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((done, fail) => early.once('connect', done).once('error', fail));
    early.destroy();
    const { pid, startTime } = supervisorRecord(r);
    // Its launcher took the sockets before `up` went on; it may be execing Node still.
    const argv = await eventually('the supervisor running Node', () => {
      const words = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return words.some((a) => a.startsWith(SOCKETS_ARGUMENT)) ? words : undefined;
    }, 5000);
    const handed = parseHandedSockets(argv.find((a) => a.startsWith(SOCKETS_ARGUMENT)));
    expect(handed).toBeDefined();
    // Its mutex, its control socket, the DNS listener on the gateway (UDP and TCP), the published port.
    const fds = handedFds(handed!);
    expect(fds).toEqual([3, 4, 5, 6, 7]);
    for (const fd of fds) expect(readlinkSync(`/proc/${pid}/fd/${fd}`)).toMatch(/^socket:/);
    const status = await supervisorStatus(r.name, r.roots);
    // Serving, it has made them close-on-exec again: no child of the supervisor inherits one.
    for (const fd of fds) {
      const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1];
      expect(Number.parseInt(flags ?? '0', 8) & 0o2000000).not.toBe(0);
    }
    expect(status?.pid).toBe(pid);
    expect(status?.dns).toEqual(Object.keys(handed!.dns));
    expect(status?.services[0]?.ports).toEqual([expect.objectContaining({ boundPort: port })]);
    expect(supervisorProcesses().filter((s) => s.pid === pid)).toEqual([expect.objectContaining({ project: r.name, run: r.roots.run })]);
    // A changed spec of a running project: the running supervisor is told, none is started.
    r.spec(`  web:\n    command: ["sleep", "3600"]\n    ports: ["127.0.0.1:${port}:80"]\n    environment: { A: "1" }\n`);
    const edited = await r.ok(['up', '-d', '--progress', 'plain'], { STACK_TRACE: '1' });
    expect(edited.stderr).not.toContain('ensure: activating');
    expect(supervisorPid(r)).toBe(pid);
    await r.ok(['down', '--progress', 'plain']);
    expect(isSameProcess(pid, startTime)).toBe(false);
    expect(r.leftovers(['web'])).toEqual([]);
  });

  it('signals each service of a `down` before the next stop writes its mark: no stop waits for the others\' steps first', async () => {
    const r = rig();
    const services = ['a', 'b', 'c'];
    r.spec(services.map((s) => `  ${s}:\n    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]\n`).join(''));
    await r.ok(['up', '-d', '--progress', 'quiet']);
    // Each asleep in its `wait` (dash: sigsuspend; bash: do_wait): judged at one look, as a settled service is.
    for (const s of services) {
      const pid = await r.pid(s);
      await eventually(`${s} waiting`, () => isEventWait(readFileSync(`/proc/${pid}/wchan`, 'utf8').trim()));
    }
    const down = await r.ok(['down', '--progress', 'plain'], { STACK_TRACE: '1' });
    const steps = down.stderr.split('\n').flatMap((l) => /^trace \d+ +\+ *[\d.]+ ms (stop: (?:marked|signalled)) /.exec(l)?.[1] ?? []);
    // Awaiting between its steps, every stop wrote its mark before any signal went out.
    expect(steps).toEqual(services.flatMap(() => ['stop: marked', 'stop: signalled']));
    expect(r.leftovers(services)).toEqual([]);
  });

  it('answers a name a service asks for before its supervisor runs: the DNS listener is bound once the bridge is made', async () => {
    const r = rig();
    // Asks the nameserver of its resolv.conf (the gateway) for its own name at once, on a
    // connected UDP socket: a refusal (nothing bound there) is an ECONNREFUSED error.
    writeFileSync(join(r.dir, 'ask.mjs'), ASK);
    // The walk waits for `slow` to complete before it starts `last`: the supervisor starts a
    // second after `asker` asked.
    r.spec(
      '  asker:\n    command: ["node", "/ask.mjs", "asker"]\n    volumes: ["./ask.mjs:/ask.mjs:ro"]\n' +
        '  slow:\n    command: ["sleep", "1"]\n' +
        '  last:\n    command: ["sleep", "3600"]\n    depends_on: { slow: { condition: service_completed_successfully } }\n',
    );
    await r.ok(['up', '-d', '--progress', 'quiet']);
    const said = await eventually('the asker to say how it went', async () => {
      const line = (await r.ok(['logs', '--no-log-prefix', 'asker'])).stdout.trim();
      return line === '' ? undefined : line;
    }, 10_000);
    expect(said).toMatch(/^answered rcode 0 answers 1 after \d+ ms$/);
    // It waited for the supervisor, which started after the walk.
    expect(Number(/after (\d+) ms/.exec(said)?.[1])).toBeGreaterThan(500);
    await r.ok(['down', '--progress', 'quiet']);
    expect(r.leftovers(['asker', 'slow', 'last'])).toEqual([]);
  });

  it('down stops a supervisor that cannot serve yet: its stop waits on the control socket', async () => {
    const r = rig();
    r.spec('  web:\n    command: ["sleep", "3600"]\n');
    await r.ok(['up', '-d', '--progress', 'quiet']);
    const { pid, startTime } = supervisorRecord(r);
    // Stopped (as if still loading) while down asks it to stop, then let go.
    process.kill(pid, 'SIGSTOP');
    const down = r.stack(['down', '--progress', 'quiet']);
    await new Promise((done) => setTimeout(done, 700));
    expect(isSameProcess(pid, startTime)).toBe(true);
    process.kill(pid, 'SIGCONT');
    expect((await down).exitCode).toBe(0);
    expect(isSameProcess(pid, startTime)).toBe(false);
    expect(r.leftovers(['web'])).toEqual([]);
  });

  it("a down deletes a service's veth once its processes are gone, not before: one that handles SIGTERM slowly keeps its network meanwhile, beside one killed at once", async () => {
    const r = rig();
    mkdirSync(join(r.dir, 'out'));
    // On SIGTERM it waits half a second, then writes the network devices it still has.
    r.spec(
      `  slow:\n    command: ["sh", "-c", "trap 'sleep 0.5; cat /proc/net/dev > /out/nets; exit 0' TERM; sleep 3600 & wait"]\n    volumes: ["./out:/out"]\n` +
        '  quick:\n    command: ["sleep", "3600"]\n',
    );
    await r.ok(['up', '-d', '--progress', 'quiet']);
    await r.ok(['down', '--progress', 'quiet']);
    expect(readFileSync(join(r.dir, 'out/nets'), 'utf8')).toMatch(/^\s*eth0:/m);
    expect(r.leftovers(['slow', 'quick'])).toEqual([]);
  });

  it('a down stops a service once the services that depend on it are gone: one that handles SIGTERM once it exited, one killed at once once it was killed', async () => {
    const r = rig();
    mkdirSync(join(r.dir, 'out'));
    // c appends to the file without a pause (dash's echo: no child) until it is killed (its
    // stop_signal); b, which c depends on, says it got SIGTERM, takes 0.3 s, then says it is
    // done; a, which b depends on, appends its line at once.
    const trap = (action: string): string => `["sh", "-c", "trap '${action} exit 0' TERM; sleep 3600 & wait"]`;
    r.spec(
      `  a:\n    command: ${trap('echo a-term >> /out/order;')}\n    volumes: ["./out:/out"]\n` +
        `  b:\n    command: ${trap('echo b-term >> /out/order; sleep 0.3; echo b-done >> /out/order;')}\n    volumes: ["./out:/out"]\n    depends_on: [a]\n` +
        '  c:\n    command: ["sh", "-c", "while :; do echo c >> /out/order; done"]\n    stop_signal: SIGKILL\n    volumes: ["./out:/out"]\n    depends_on: [b]\n',
    );
    await r.ok(['up', '-d', '--progress', 'quiet']);
    const order = join(r.dir, 'out/order');
    for (let i = 0; i < 400 && !(existsSync(order) && statSync(order).size > 0); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    await r.ok(['down', '--progress', 'quiet']);
    const lines = readFileSync(order, 'utf8').split('\n').filter(Boolean);
    expect(lines.filter((l) => l !== 'c')).toEqual(['b-term', 'b-done', 'a-term']);
    // Nothing of c after b got its signal: c was gone (killed, alone in its cgroup) before.
    expect(lines.lastIndexOf('c')).toBeLessThan(lines.indexOf('b-term'));
    // Whether b's stop begins before c's has ended depends on how soon the kernel is done with
    // c (its last steps run in one go once its exit is seen): which dependencies are late is
    // test/unit/executor/stop-plan.test.ts's.
    expect(r.leftovers(['a', 'b', 'c'])).toEqual([]);
  });

  it('a depends_on chain launches each service after the one before it runs (its preparing meanwhile: test/unit/executor/walk.test.ts); one that cannot start leaves those after it unlaunched, their groups gone', async () => {
    const r = rig();
    const chain = (first: string) =>
      `  a:\n    command: ${first}\n  b:\n    command: ["sleep", "3600"]\n    depends_on: [a]\n  c:\n    command: ["sleep", "3600"]\n    depends_on: [b]\n`;
    r.spec(chain('["sleep", "3600"]'));
    await r.ok(['up', '-d', '--progress', 'quiet']);
    // Each workload is cloned when its launcher gets its request: pids in the chain's order.
    const [a, b, c] = [await r.pid('a'), await r.pid('b'), await r.pid('c')];
    expect(a).toBeLessThan(b);
    expect(b).toBeLessThan(c);
    await r.ok(['down', '--progress', 'quiet']);

    r.spec(chain('["/nonexistent/program"]'));
    const failed = await r.stack(['up', '-d', '--progress', 'plain']);
    expect(failed.exitCode).not.toBe(0);
    expect(failed.stderr).toContain('/nonexistent/program');
    // b and c are skipped for a's failure, not failed themselves.
    expect(failed.stderr).toMatch(/b: start-service skipped \(start-service:a failed\)/);
    expect(failed.stderr).toMatch(/c: start-service skipped \(start-service:a failed\)/);
    expect(failed.stderr).not.toMatch(/[bc]: start-service failed/);
    // b began (a was prepared) and gave up when a failed: what it made is gone, its record says so.
    const recordB = await r.record('b');
    expect(recordB?.process ?? null).toBeNull();
    expect(recordB?.cgroups ?? []).toEqual([]);
    for (const service of ['b', 'c']) expect(r.leftovers([service]).filter((l) => l.startsWith('cgroup') && l.includes(`/${service}`))).toEqual([]);
    await r.ok(['down', '--progress', 'quiet']);
    expect(r.leftovers(['a', 'b', 'c'])).toEqual([]);
  });

  it("a down of a depends_on chain whose middle stop fails: the stops before it end, it says why and what it skipped, the rest stays running for the next down", async () => {
    // c depends on b, b on a: c stops first, then b, then a (each exits on SIGTERM: services
    // that cannot act on it are killed together, in no order, planner/down.ts). b's stop fails
    // before its signal (its runtime folder is a file: its stop mark cannot be written), so a's
    // never begins. The stops' last steps wait for every stop of the teardown
    // (executor/stops-together.ts): a's, skipped, must not be waited for, or this down never ends.
    const r = rig();
    const command = `command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`;
    r.spec(`  a:\n    ${command}\n  b:\n    ${command}\n    depends_on: [a]\n  c:\n    ${command}\n    depends_on: [b]\n`);
    await r.ok(['up', '-d', '--progress', 'quiet']);
    const [a, b, c] = [await r.pid('a'), await r.pid('b'), await r.pid('c')];
    const folder = serviceFiles(r.roots, r.name, 'b').dir;
    const kept = `${folder}.kept`;
    renameSync(folder, kept);
    writeFileSync(folder, 'not a folder');
    const down = await r.stack(['down', '--progress', 'plain']);
    expect(down.exitCode).not.toBe(0);
    expect(down.stderr).toMatch(/service b: stop-service failed: ENOTDIR/);
    expect(down.stderr).toMatch(/service a: stop-service skipped \(stop-service:b failed\)/);
    expect(existsSync(`/proc/${c}`)).toBe(false); // c stopped and reaped
    expect(existsSync(`/proc/${b}`)).toBe(true); // b never signalled
    expect(existsSync(`/proc/${a}`)).toBe(true);
    expect((await r.record('c'))?.process ?? null).toBeNull();
    rmSync(folder);
    renameSync(kept, folder);
    await r.ok(['down', '--progress', 'quiet']);
    expect(r.leftovers(['a', 'b', 'c'])).toEqual([]);
  });

  it('a down unplugs a network whose services cannot act on SIGTERM while it kills them; a network with a service that handles it keeps its links until that one has stopped', async () => {
    // quiet: q alone (sleep: pid 1 without a handler). mixed: m (the same) and g, whose handler
    // looks for its eth0 0.3 s after the SIGTERM: a network unplugged beside the stops (as
    // quiet's is, planner/down.ts) would be gone by then.
    const r = rig();
    mkdirSync(join(r.dir, 'out'));
    r.spec(
      '  q:\n    command: ["sleep", "3600"]\n    networks: [quiet]\n' +
        '  m:\n    command: ["sleep", "3600"]\n    networks: [mixed]\n' +
        `  g:\n    command: ["sh", "-c", "trap 'sleep 0.3; grep -c eth0: /proc/net/dev > /out/at-term; exit 0' TERM; echo ready; sleep 3600 & wait"]\n    networks: [mixed]\n    volumes: ["./out:/out"]\n`,
      'networks:\n  quiet: {}\n  mixed: {}\n',
    );
    await r.ok(['up', '-d', '--progress', 'quiet']);
    await eventually('g to be ready', async () => ((await r.ok(['logs', '--no-log-prefix', 'g'])).stdout.includes('ready') ? true : undefined), 10_000);
    const [q, m] = [await r.pid('q'), await r.pid('m')];
    const events = (await r.ok(['down', '--progress', 'json'])).stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; id?: string; operations?: { id: string; dependsOn: string[]; killAtOnce?: boolean }[] });
    const planned = new Map((events.find((e) => e.type === 'plan-started')?.operations ?? []).map((op) => [op.id, op]));
    // quiet goes beside q's kill; mixed after every stop, m's and g's signalled as their own stops judge.
    expect(planned.get('stop-service:q')).toMatchObject({ killAtOnce: true });
    expect(planned.get('detach-veth:q/quiet')?.dependsOn).toEqual(['stop-supervisor']);
    expect(planned.get('remove-network:quiet')?.dependsOn).toEqual(['stop-supervisor']);
    expect(planned.get('stop-service:g')?.killAtOnce).toBeUndefined();
    expect(planned.get('detach-veth:g/mixed')?.dependsOn).toEqual(expect.arrayContaining(['stop-service:q', 'stop-service:m', 'stop-service:g']));
    const at = (type: string, id: string): number => events.findIndex((e) => e.type === type && e.id === id);
    const [unplugged, stopped] = [at('operation-started', 'detach-veth:q/quiet'), at('operation-done', 'stop-service:q')];
    expect(unplugged).toBeGreaterThanOrEqual(0);
    expect(unplugged).toBeLessThan(stopped);
    expect(readFileSync(join(r.dir, 'out/at-term'), 'utf8').trim()).toBe('1'); // its eth0 was still there
    expect(existsSync(`/proc/${q}`) || existsSync(`/proc/${m}`)).toBe(false);
    expect(r.leftovers(['q', 'm', 'g'], ['quiet', 'mixed'])).toEqual([]);
  });

  it('a service that waits for a job to complete binds what the job made: its bind sources are looked at once the job is done', async () => {
    const r = rig();
    // The init job writes a file the app binds (short syntax: a missing source would be made a
    // folder, in which the job could then not write its file).
    r.spec(
      '  init:\n    command: ["sh", "-c", "sleep 0.3; echo made-by-init > /out/token"]\n    volumes: ["./out:/out"]\n' +
        '  app:\n    command: ["sh", "-c", "cat /token; sleep 3600"]\n    volumes: ["./out/token:/token"]\n' +
        '    depends_on: { init: { condition: service_completed_successfully } }\n',
    );
    mkdirSync(join(r.dir, 'out'));
    await r.ok(['up', '-d', '--progress', 'quiet']);
    expect(statSync(join(r.dir, 'out/token')).isFile()).toBe(true);
    const said = await eventually('the app to print the token', async () => {
      const out = (await r.ok(['logs', '--no-log-prefix', 'app'])).stdout.trim();
      return out === '' ? undefined : out;
    }, 10_000);
    expect(said).toBe('made-by-init');
    await r.ok(['down', '--progress', 'quiet']);
    expect(r.leftovers(['init', 'app'])).toEqual([]);
  });

  it('a stopped service whose dependency then fails to start keeps its logs: a start given up touches nothing an earlier run left', async () => {
    const r = rig();
    const spec = (first: string) => `  a:\n    command: ${first}\n  b:\n    command: ["sh", "-c", "echo b-was-here; sleep 3600"]\n    depends_on: [a]\n`;
    r.spec(spec('["sleep", "3600"]'));
    await r.ok(['up', '-d', '--progress', 'quiet']);
    await eventually('b to log', async () => ((await r.ok(['logs', '--no-log-prefix', 'b'])).stdout.includes('b-was-here') ? true : undefined), 10_000);
    await r.ok(['stop', 'b']);
    r.spec(spec('["/nonexistent/program"]'));
    const failed = await r.stack(['up', '-d', '--progress', 'plain']);
    expect(failed.exitCode).not.toBe(0);
    expect(failed.stderr).toMatch(/start-service skipped \(start-service:a failed\)/);
    expect(failed.stderr).not.toMatch(/b: start-service failed/);
    expect(existsSync(serviceFiles(r.roots, r.name, 'b').log)).toBe(true);
    expect((await r.ok(['logs', '--no-log-prefix', 'b'])).stdout).toContain('b-was-here');
    await r.ok(['down', '--progress', 'quiet']);
    expect(r.leftovers(['a', 'b'])).toEqual([]);
  });
});
