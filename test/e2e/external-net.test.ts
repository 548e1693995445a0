// External networks end to end through the real CLI (bin/stack.cjs over dist/: `npm run build`
// first): project B joins project A's default network (`external: true`, `name: <A>_default`),
// its services get addresses from A's allocation (recorded there as guests, distinct from A's),
// talk to A's service and to each other inside their namespaces (a third project attaching at
// the same time gets an address of its own: A's lock serializes them); A's `down` keeps the network
// while B is attached and says so; B's `down` leaves A's bridge alone; A's second `down` removes
// it. Before A is up, B's `up` is refused naming the network, and makes nothing.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, expect, it } from 'vitest';
import { describeWith } from '../harness/require.js';
import { eventually } from '../harness/eventually.js';
import { inventory } from '../harness/inventory.js';
import { bridgeName, netnsName, vethHostName } from '../../src/names.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));

describeWith({ root: true, commands: ['ip'] }, 'external networks', () => {
  const a = `xa${randomBytes(4).toString('hex')}`;
  const b = `xb${randomBytes(4).toString('hex')}`;
  const c = `xc${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-extnet-'));
  const state = join(dir, 'state');
  const env = { ...process.env, STACK_ROOT: state, STACK_IP_FORWARD: 'leave' };
  const stack = (project: string, ...args: string[]) => execa(process.execPath, [bin, ...args], { cwd: join(dir, project), env, reject: false });
  const ok = async (project: string, ...args: string[]) => {
    const r = await stack(project, ...args);
    if (r.exitCode !== 0) throw new Error(`stack ${args.join(' ')} in ${project} exited ${r.exitCode}:\n${String(r.stderr)}\n${String(r.stdout)}`);
    return { stdout: String(r.stdout), stderr: String(r.stderr) };
  };
  const ipamOf = (project: string) =>
    JSON.parse(readFileSync(join(state, 'run', project, 'ipam.json'), 'utf8')) as {
      networks: Record<string, { subnet: string; addresses: Record<string, string>; guests?: Record<string, { address: string }> }>;
    };
  const bridgeUp = (project: string) => inventory().includes(`link ${bridgeName(project, 'default')}`);
  const veths = [vethHostName(b, 'client', 'shared'), vethHostName(b, 'peer', 'shared'), vethHostName(a, 'web', 'default')].map((l) => `link ${l}`);
  const leftovers = (project: string) => inventory().filter((e) => e.includes(netnsName(project, '')) || e.includes(`/${project}`) || (project === b && veths.slice(0, 2).includes(e)) || (project === a && (veths[2] === e || e === `link ${bridgeName(a, 'default')}`)));
  const listener = (text: string, port: number) => `["node", "-e", "require('net').createServer((s) => s.end('${text}')).listen(${port})"]`;
  const connect = (address: string, port: number) => [
    'node',
    '-e',
    `const s = require('net').connect(${port}, '${address}'); let d = ''; s.on('data', (c) => (d += c)); s.on('end', () => console.log(d)); s.on('error', (e) => console.log('error ' + e.code))`,
  ];

  for (const [project, spec] of [
    [a, `name: ${a}\nservices:\n  web:\n    command: ${listener('hello from a', 8080)}\n`],
    [
      b,
      `name: ${b}
services:
  client:
    command: sleep 3600
    networks: [shared]
  peer:
    command: ${listener('hello from b', 9090)}
    networks: [shared]
networks:
  shared:
    external: true
    name: ${a}_default
`,
    ],
    [c, `name: ${c}\nservices:\n  solo:\n    command: sleep 3600\n    networks: [shared]\nnetworks:\n  shared:\n    external: true\n    name: ${a}_default\n`],
  ] as const) {
    mkdirSync(join(dir, project));
    writeFileSync(join(dir, project, 'stack.yaml'), spec);
  }

  afterAll(async () => {
    try {
      await stack(b, 'down', '--timeout', '0');
      await stack(c, 'down', '--timeout', '0');
      await stack(a, 'down', '--timeout', '0');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is refused by up while no project has the network, naming it; nothing is made', async () => {
    const r = await stack(b, 'up', '-d', '--progress', 'quiet');
    expect(r.exitCode, String(r.stderr)).toBe(1);
    expect(String(r.stderr)).toContain(`no stack project on this host has a network named ${a}_default`);
    expect(String(r.stderr)).not.toMatch(/\n\s+at /); // no stack trace
    expect(leftovers(b)).toEqual([]);
  });

  it('attaches B to A\'s network with addresses from A\'s allocation; traffic flows inside their namespaces', async () => {
    await ok(a, 'up', '-d', '--progress', 'quiet');
    // Two projects attach at once: A's lock serializes them, no address is taken twice.
    await Promise.all([ok(b, 'up', '-d', '--progress', 'quiet'), ok(c, 'up', '-d', '--progress', 'quiet')]);
    const own = ipamOf(a).networks.default!;
    const guests = own.guests ?? {};
    expect(Object.keys(guests).sort()).toEqual([`${b}/client`, `${b}/peer`, `${c}/solo`]);
    const web = own.addresses.web!;
    const [client, peer] = [guests[`${b}/client`]!.address, guests[`${b}/peer`]!.address];
    expect(new Set([web, client, peer, guests[`${c}/solo`]!.address]).size).toBe(4);
    await ok(c, 'down', '--timeout', '0');
    expect(Object.keys(ipamOf(a).networks.default!.guests ?? {}).sort()).toEqual([`${b}/client`, `${b}/peer`]);
    // B's record of the network: A's subnet, its members only.
    expect(ipamOf(b).networks.shared).toMatchObject({ subnet: own.subnet, addresses: { client, peer } });
    const exec = async (project: string, service: string, cmd: string[]) => (await ok(project, 'exec', '-T', service, ...cmd)).stdout.trim();
    let answer = '';
    for (let i = 0; i < 50 && answer !== 'hello from a'; i++) answer = await exec(b, 'client', connect(web, 8080));
    expect(answer).toBe('hello from a');
    for (answer = ''; answer !== 'hello from b'; ) answer = await exec(b, 'client', connect(peer, 9090));
    // B's services ask A's DNS forwarder (on the network's gateway), which answers A's names.
    expect((await exec(b, 'client', ['getent', 'hosts', 'web'])).split(/\s+/)[0]).toBe(web);
    // A's service reaches B's too: one bridge.
    expect(await exec(a, 'web', connect(peer, 9090))).toBe('hello from b');
    // And A's DNS answers B's services by name (as Docker's DNS answers every container of a
    // network): the service name and the container name, read from A's stored allocation.
    expect(await eventually('A\'s DNS to answer peer', async () => ((await exec(a, 'web', ['getent', 'hosts', 'peer'])).split(/\s+/)[0] === peer ? true : undefined), 10_000)).toBe(true);
    expect((await exec(a, 'web', ['getent', 'hosts', `${b}-peer-1`])).split(/\s+/)[0]).toBe(peer);
    expect((await exec(b, 'client', ['getent', 'hosts', 'peer'])).split(/\s+/)[0]).toBe(peer);
    // A may not recreate the network under B: refused before anything is touched.
    const spec = readFileSync(join(dir, a, 'stack.yaml'), 'utf8');
    writeFileSync(join(dir, a, 'stack.yaml'), `${spec}networks:\n  default:\n    internal: true\n`);
    const refused = await stack(a, 'up', '-d', '--progress', 'quiet');
    writeFileSync(join(dir, a, 'stack.yaml'), spec);
    expect(refused.exitCode).toBe(1);
    expect(String(refused.stderr)).toContain(`network default cannot be recreated (internal changed): ${b}/client, ${b}/peer of other projects are attached to it`);
    expect(await exec(b, 'client', connect(web, 8080))).toBe('hello from a');
  });

  it('A\'s down keeps the network while B is attached, and says so; B\'s down leaves it; A\'s next down removes it', async () => {
    const down = await ok(a, 'down', '--timeout', '0');
    expect(`${down.stdout}${down.stderr}`).toContain('network default kept');
    expect(`${down.stdout}${down.stderr}`).toContain(`${b}/client`);
    expect(bridgeUp(a)).toBe(true);
    const peer = ipamOf(a).networks.default!.guests![`${b}/peer`]!.address;
    expect((await ok(b, 'exec', '-T', 'client', ...connect(peer, 9090))).stdout.trim()).toBe('hello from b');
    await ok(b, 'down', '--timeout', '0');
    expect(leftovers(b)).toEqual([]);
    expect(existsSync(join(state, 'run', b))).toBe(false);
    expect(bridgeUp(a)).toBe(true); // B never removes what it did not make
    expect(ipamOf(a).networks.default!.guests).toBeUndefined();
    await ok(a, 'down', '--timeout', '0');
    expect(bridgeUp(a)).toBe(false);
    expect(leftovers(a)).toEqual([]);
  });
});
