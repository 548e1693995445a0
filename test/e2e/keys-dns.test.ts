// dns, dns_search and dns_opt through the real CLI (bin/stack.cjs over dist/: `npm run build`
// first): a service with `dns:` still resolves its peers by name through stack's forwarder,
// while its other queries go to ITS resolver (a fake one this test runs on a loopback address,
// which counts the queries it gets) and not the host's; its resolv.conf has stack's forwarder,
// its search domains and options; a service without `dns:` does not use that resolver.
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { answer, parseQuery, TYPE } from '../../src/network/dns/codec.js';
import { describeWith } from '../harness/require.js';
import { eventually } from '../harness/eventually.js';

const bin = fileURLToPath(new URL('../../bin/stack.cjs', import.meta.url));
const RESOLVER = '127.0.0.77';

describeWith({ root: true, commands: ['sh', 'getent', 'cat'] }, 'dns, dns_search, dns_opt', () => {
  const project = `kd${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'stack-keys-dns-'));
  const env = { ...process.env, STACK_ROOT: join(dir, 'state'), STACK_IP_FORWARD: 'leave' };
  const stack = (...args: string[]) => execa(process.execPath, [bin, '-p', project, '-f', join(dir, 'stack.yaml'), ...args], { env, reject: false });
  const asked: string[] = [];
  let resolver: dgram.Socket | undefined;

  beforeAll(async () => {
    // The service's own resolver: answers every A query for *.corp.test with 10.77.0.1.
    resolver = dgram.createSocket('udp4');
    resolver.on('message', (msg, peer) => {
      const q = parseQuery(msg);
      if (!q) return;
      asked.push(q.name);
      resolver!.send(answer(msg, q, q.type === TYPE.A && q.name.endsWith('.corp.test') ? ['10.77.0.1'] : [], 5), peer.port, peer.address);
    });
    await new Promise<void>((ok, fail) => {
      resolver!.once('error', fail);
      resolver!.bind(53, RESOLVER, () => ok());
    });
    writeFileSync(
      join(dir, 'stack.yaml'),
      [
        'services:',
        '  app:',
        '    command: sleep infinity',
        `    dns: ${RESOLVER}`,
        '    dns_search: [corp.test]',
        '    dns_opt: ["ndots:1", "timeout:1"]',
        '  peer:',
        '    command: sleep infinity',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await stack('down', '--timeout', '0');
    resolver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the service resolves peers through stack's DNS and the rest through its own resolver", async () => {
    const up = await stack('up', '-d');
    expect(up.exitCode).toBe(0);
    const conf = (await stack('exec', 'app', 'cat', '/etc/resolv.conf')).stdout;
    expect(conf).toMatch(/^nameserver \d+\.\d+\.\d+\.1$/m); // stack's forwarder on the gateway
    expect(conf).not.toContain(RESOLVER);
    expect(conf).toMatch(/^search corp\.test$/m);
    expect(conf).toMatch(/^options ndots:1 timeout:1$/m);
    // A peer by name: stack's DNS answers (the forwarder is up once the supervisor runs).
    const peer = await eventually('peer to resolve', async () => {
      const r = await stack('exec', 'app', 'getent', 'ahostsv4', 'peer');
      return r.exitCode === 0 ? r.stdout : undefined;
    });
    expect(peer).toMatch(/^\d+\.\d+\.\d+\.\d+\s/);
    expect(asked.filter((n) => n.startsWith('peer'))).toEqual([]);
    // Any other name: relayed to the service's own resolver (a short name gets the search domain).
    const ext = await stack('exec', 'app', 'getent', 'ahostsv4', 'wiki');
    expect(ext.stdout).toMatch(/^10\.77\.0\.1\s/);
    expect(asked).toContain('wiki.corp.test');
  });

  it('a service without dns: does not use that resolver', async () => {
    const before = asked.length;
    const r = await stack('exec', 'peer', 'getent', 'ahostsv4', 'other.corp.test');
    expect(r.stdout).not.toContain('10.77.0.1');
    expect(asked.length).toBe(before);
  });
});
