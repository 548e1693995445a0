// The DNS forwarder over loopback: service names answered locally, the rest relayed to a fake
// upstream resolver on another 127.0.0.x address (UDP and TCP), internal networks relay nothing.
import dgram from 'node:dgram';
import net from 'node:net';
import { Resolver } from 'node:dns/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startDnsForwarder, type DnsForwarder } from '../../../src/network/dns/index.js';

const rand = () => 2 + Math.floor(Math.random() * 250);

/** A resolver that knows one name (outside.test → 192.0.2.44), says NXDOMAIN otherwise, and counts queries. */
async function fakeUpstream(address: string) {
  const seen: string[] = [];
  const reply = (q: Buffer): Buffer => {
    let end = 12;
    const labels: string[] = [];
    while (q[end]) {
      labels.push(q.toString('latin1', end + 1, end + 1 + q[end]!));
      end += 1 + q[end]!;
    }
    end += 5;
    const name = labels.join('.');
    seen.push(name);
    const known = name === 'outside.test';
    const head = Buffer.from(q.subarray(0, 12));
    head.writeUInt16BE(0x8180 | (known ? 0 : 3), 2);
    head.writeUInt16BE(known ? 1 : 0, 6);
    head.writeUInt32BE(0, 8);
    const rr = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 44]);
    return Buffer.concat([head, q.subarray(12, end), known ? rr : Buffer.alloc(0)]);
  };
  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, peer) => udp.send(reply(msg), peer.port, peer.address));
  await new Promise<void>((r) => udp.bind(0, address, () => r()));
  const port = udp.address().port;
  const tcp = net.createServer((s) => {
    s.once('data', (chunk) => {
      const out = reply(chunk.subarray(2));
      const len = Buffer.alloc(2);
      len.writeUInt16BE(out.length);
      s.end(Buffer.concat([len, out]));
    });
  });
  await new Promise<void>((r) => tcp.listen(port, address, () => r()));
  return {
    port,
    seen,
    close: () =>
      Promise.all([new Promise((r) => udp.close(() => r(null))), new Promise((r) => tcp.close(() => r(null)))]),
  };
}

/** One query over TCP, the way a resolver retries a truncated reply. */
async function tcpQuery(address: string, port: number, name: string): Promise<Buffer> {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const q = Buffer.concat([
    Buffer.from([0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
    ...labels,
    Buffer.from([0, 0, 1, 0, 1]),
  ]);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(q.length);
  const socket = net.connect({ host: address, port });
  socket.write(Buffer.concat([len, q]));
  let got = Buffer.alloc(0);
  for await (const chunk of socket) {
    got = Buffer.concat([got, chunk as Buffer]);
    if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) break;
  }
  socket.destroy();
  return got.subarray(2);
}

describe('dns forwarder over loopback', () => {
  let upstream: Awaited<ReturnType<typeof fakeUpstream>>;
  let forwarder: DnsForwarder | undefined;
  // Three distinct addresses of one random loopback /24: drawn one by one, two could be the same
  // (a CI run drew the internal gateway's address for the gateway: the forwarder keeps one name
  // table an address, and four tests failed on the other listener's answers).
  const subnet = `127.0.${rand()}`;
  const upstreamAddress = `${subnet}.10`;
  const gateway = `${subnet}.20`;
  const internalGateway = `${subnet}.30`;

  beforeEach(async () => {
    upstream = await fakeUpstream(upstreamAddress);
    forwarder = await startDnsForwarder(
      [
        {
          address: gateway,
          port: 0,
          names: new Map([
            ['db', ['10.209.0.3']],
            ['postgres', ['10.209.0.3']],
            ['shared', ['10.209.0.4', '10.209.0.5']],
          ]),
          forward: true,
        },
        { address: internalGateway, port: 0, names: new Map([['cache', ['10.209.1.2']]]), forward: false },
      ],
      { upstreams: [{ address: upstreamAddress, port: upstream.port }], timeoutMs: 500 },
    );
  });
  afterEach(async () => {
    await forwarder?.close();
    await upstream.close();
  });

  const resolverFor = (address: string) => {
    const r = new Resolver({ timeout: 1000, tries: 1 });
    r.setServers([`${address}:${forwarder!.bound.find((b) => b.address === address)!.port}`]);
    return r;
  };

  it('answers service names itself and relays the rest upstream', async () => {
    const r = resolverFor(gateway);
    expect(await r.resolve4('db')).toEqual(['10.209.0.3']);
    expect(await r.resolve4('POSTGRES')).toEqual(['10.209.0.3']);
    expect(await r.resolve4('shared')).toEqual(['10.209.0.4', '10.209.0.5']); // a name several services carry
    expect(upstream.seen).toEqual([]);
    expect(await r.resolve4('outside.test')).toEqual(['192.0.2.44']);
    await expect(r.resolve4('missing.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(upstream.seen).toEqual(['outside.test', 'missing.test']);
  });

  it('gives no address for other record types of a service name, without asking upstream', async () => {
    await expect(resolverFor(gateway).resolve6('db')).rejects.toMatchObject({ code: 'ENODATA' });
    expect(upstream.seen).toEqual([]);
  });

  it('relays nothing from an internal network', async () => {
    const r = resolverFor(internalGateway);
    expect(await r.resolve4('cache')).toEqual(['10.209.1.2']);
    await expect(r.resolve4('outside.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(upstream.seen).toEqual([]);
  });

  it('serves TCP, locally and relayed', async () => {
    const port = forwarder!.bound[0]!.port;
    const local = await tcpQuery(gateway, port, 'db');
    expect([...local.subarray(-4)]).toEqual([10, 209, 0, 3]);
    const relayed = await tcpQuery(gateway, port, 'outside.test');
    expect(relayed.readUInt16BE(0)).toBe(0xabcd);
    expect([...relayed.subarray(-4)]).toEqual([192, 0, 2, 44]);
  });

  it('follows new addresses without a restart', async () => {
    forwarder!.setNames(gateway, new Map([['db', ['10.209.0.9']]]));
    expect(await resolverFor(gateway).resolve4('db')).toEqual(['10.209.0.9']);
  });

  it('says SERVFAIL when no upstream answers', async () => {
    await upstream.close();
    upstream.close = async () => [null, null];
    await expect(resolverFor(gateway).resolve4('outside.test')).rejects.toMatchObject({ code: 'ESERVFAIL' });
  });

  it('explains a port or an address it cannot listen on', async () => {
    const taken = forwarder!.bound[0]!;
    await expect(
      startDnsForwarder([{ address: taken.address, port: taken.port, names: new Map(), forward: true }], {
        upstreams: [],
      }),
    ).rejects.toMatchObject({ code: 'DNS_PORT_IN_USE' });
    await expect(
      startDnsForwarder([{ address: '192.0.2.77', port: 0, names: new Map(), forward: true }], { upstreams: [] }),
    ).rejects.toMatchObject({ code: 'DNS_ADDRESS_UNAVAILABLE' });
  });
});
