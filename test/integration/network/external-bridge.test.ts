// An external network that is a bridge of the host, not a stack project's (`external: true`,
// `name: <bridge>`): through the real CLI, each service plugged in at the ipv4_address it gives
// (required: stack allocates nothing there), talking over that bridge inside their namespaces;
// `down` leaves the bridge, which the test made and removes. A service without an address is
// refused by `up`, naming it.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { readlinkSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../../harness/require.js';
import { vethHostName } from '../../../src/names.js';
import { rigPerTest } from '../up-down/rig.js';

const rig = rigPerTest();

describeWith({ root: true, commands: ['ip'] }, 'external network on a host bridge', () => {
  const bridge = `stkt${randomBytes(4).toString('hex')}`;
  const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
  beforeAll(() => {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', '10.209.254.1/24', 'dev', bridge);
    ip('link', 'set', bridge, 'up');
  });
  afterAll(() => {
    ip('link', 'del', bridge);
  });

  const spec = (bAddress: string) => `  a:
    command: ["node", "-e", "require('net').createServer((s) => s.end('hello over bridge')).listen(9090)"]
    networks: {lan: {ipv4_address: 10.209.254.2}}
  b:
    command: sleep 3600
    networks: {lan: {${bAddress}}}
`;
  const networks = `networks:\n  lan:\n    external: true\n    name: ${bridge}\n`;

  it('plugs each service in at its address; down leaves the bridge', async () => {
    const r = rig();
    r.spec(spec('ipv4_address: 10.209.254.3'), networks);
    await r.ok(['up', '-d', '--progress', 'quiet']);
    for (const s of ['a', 'b']) expect(basename(readlinkSync(`/sys/class/net/${vethHostName(r.name, s, 'lan')}/master`))).toBe(bridge);
    const connect = "const s = require('net').connect(9090, '10.209.254.2'); let d = ''; s.on('data', (c) => (d += c)); s.on('end', () => console.log(d)); s.on('error', (e) => console.log('error ' + e.code))";
    let answer = '';
    for (let i = 0; i < 50 && answer !== 'hello over bridge'; i++) answer = (await r.ok(['exec', '-T', 'b', 'node', '-e', connect])).stdout.trim();
    expect(answer).toBe('hello over bridge');
    expect((await r.ok(['exec', '-T', 'b', 'cat', '/proc/net/dev'])).stdout).toContain('eth0');
    await r.ok(['down', '--timeout', '0']);
    expect(r.leftovers(['a', 'b'], ['lan'])).toEqual([]);
    expect(ip('-o', 'link', 'show', bridge)).toContain(bridge);
  });

  it('refuses a service without an ipv4_address there, naming it and the bridge', async () => {
    const r = rig();
    r.spec(spec(''), networks);
    const up = await r.stack(['up', '-d', '--progress', 'quiet']);
    expect(up.exitCode).toBe(1);
    expect(up.stderr).toContain(`service b: network lan is the host's bridge ${bridge}, which stack allocates no addresses on`);
  });
});
