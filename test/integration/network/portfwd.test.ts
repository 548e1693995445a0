// The published-port forwarder over loopback: the service is an echo server on another
// 127.0.0.x address. 100 MiB both ways with half-close, 200 concurrent connections, UDP flows,
// and PORT_IN_USE before anything starts.
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isUserError } from '../../../src/errors.js';
import {
  checkPortsFree,
  forwardUdp,
  startPortForwarders,
  type PublishedPort,
} from '../../../src/network/portfwd/index.js';

const rand = () => 2 + Math.floor(Math.random() * 250);
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A TCP service that echoes every byte and ends when the client does (half-close aware). */
async function echoServer(host: string): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return (server.address() as net.AddressInfo).port;
}

/** Sends `total` bytes in `chunk`-sized random pieces, half-closes, and hashes what comes back. */
function transfer(
  port: number,
  total: number,
  chunk = 1 << 20,
): Promise<{ sent: string; received: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const sent = createHash('sha256');
    const received = createHash('sha256');
    let bytes = 0;
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    socket.on('error', reject);
    socket.on('data', (d) => {
      bytes += d.length;
      received.update(d);
    });
    socket.on('end', () => {
      socket.end();
      resolve({ sent: sent.digest('hex'), received: received.digest('hex'), bytes });
    });
    let left = total;
    const pump = () => {
      while (left > 0) {
        const piece = randomBytes(Math.min(chunk, left));
        left -= piece.length;
        sent.update(piece);
        if (!socket.write(piece)) return void socket.once('drain', pump);
      }
      socket.end();
    };
    socket.once('connect', pump);
  });
}

function published(overrides: Partial<PublishedPort>): PublishedPort {
  return {
    service: 'web',
    hostIp: '127.0.0.1',
    hostPort: 0,
    protocol: 'tcp',
    targetIp: '127.0.0.1',
    targetPort: 1,
    ...overrides,
  };
}

async function occupy(port: number, protocol: 'tcp' | 'udp', host = '127.0.0.1'): Promise<number> {
  if (protocol === 'udp') {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(port, host, () => r()));
    cleanups.push(() => new Promise((r) => s.close(() => r(null))));
    return s.address().port;
  }
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(port, host, () => r()));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return (server.address() as net.AddressInfo).port;
}

describe('published TCP ports', () => {
  it('move 100 MiB both ways intact, half-close included', async () => {
    const target = `127.0.${rand()}.${rand()}`;
    const fwd = await startPortForwarders([published({ targetIp: target, targetPort: await echoServer(target) })]);
    cleanups.push(() => fwd.close());
    const result = await transfer(fwd.bound[0]!.boundPort, 100 * 1024 * 1024);
    expect(result.bytes).toBe(100 * 1024 * 1024);
    expect(result.received).toBe(result.sent);
  });

  it('serve 200 concurrent connections, each getting its own bytes back', async () => {
    const target = `127.0.${rand()}.${rand()}`;
    const fwd = await startPortForwarders([published({ targetIp: target, targetPort: await echoServer(target) })]);
    cleanups.push(() => fwd.close());
    const port = fwd.bound[0]!.boundPort;
    const results = await Promise.all(Array.from({ length: 200 }, () => transfer(port, 256 * 1024, 16 * 1024)));
    for (const r of results) expect(r.received).toBe(r.sent);
    expect(new Set(results.map((r) => r.sent)).size).toBe(200);
  });

  it('resets the client when the service is not listening, logs it, and keeps serving', async () => {
    const target = `127.0.${rand()}.${rand()}`;
    const closedPort = await occupy(0, 'tcp', target);
    await cleanups.pop()!(); // free it again: nothing listens there now
    const logged: string[] = [];
    const fwd = await startPortForwarders([published({ targetIp: target, targetPort: closedPort })], {
      log: (m) => logged.push(m),
    });
    cleanups.push(() => fwd.close());
    const port = fwd.bound[0]!.boundPort;
    for (let i = 0; i < 2; i++) {
      await expect(transfer(port, 10)).rejects.toMatchObject({ code: 'ECONNRESET' });
    }
    expect(logged.some((m) => m.includes('connect: ECONNREFUSED'))).toBe(true);
  });
});

describe('published UDP ports', () => {
  it('round-trip datagrams, one flow per client, dropped when idle', async () => {
    const target = `127.0.${rand()}.${rand()}`;
    const service = dgram.createSocket('udp4');
    service.on('message', (msg, peer) =>
      service.send(Buffer.concat([Buffer.from('echo:'), msg]), peer.port, peer.address),
    );
    await new Promise<void>((r) => service.bind(0, target, () => r()));
    cleanups.push(() => new Promise((r) => service.close(() => r(null))));
    const fwd = await forwardUdp(
      published({ protocol: 'udp', targetIp: target, targetPort: service.address().port }),
      () => {},
      200,
    );
    cleanups.push(() => fwd.close());
    const ask = async (text: string) => {
      const client = dgram.createSocket('udp4');
      const reply = new Promise<string>((r) => client.once('message', (m) => r(m.toString())));
      client.send(text, fwd.port.boundPort, '127.0.0.1');
      const got = await reply;
      client.close();
      return got;
    };
    expect(await Promise.all([ask('a'), ask('b'), ask('c')])).toEqual(['echo:a', 'echo:b', 'echo:c']);
    expect(fwd.flows()).toBe(3);
    await expect.poll(() => fwd.flows(), { timeout: 3000 }).toBe(0);
  });
});

describe('ports already in use', () => {
  it.each(['tcp', 'udp'] as const)(
    'are a PORT_IN_USE naming the %s port and the service, before anything starts',
    async (protocol) => {
      const port = await occupy(0, protocol);
      const ports = [
        published({ service: 'db', hostPort: port, protocol }),
        published({ service: 'web', hostPort: 0, protocol }),
      ];
      const error = await checkPortsFree(ports).catch((e: unknown) => e);
      expect(isUserError(error) && error.code).toBe('PORT_IN_USE');
      expect((error as Error).message).toContain(`127.0.0.1:${port}/${protocol} (published by service db)`);
      await expect(startPortForwarders(ports)).rejects.toMatchObject({ code: 'PORT_IN_USE' });
    },
  );

  it('catches two services of one project on one host port, wildcard included', async () => {
    const ports = [
      published({ service: 'a', hostPort: 40123 }),
      published({ service: 'b', hostIp: '0.0.0.0', hostPort: 40123 }),
    ];
    await expect(checkPortsFree(ports)).rejects.toThrow(/published twice: by service a and by service b/);
  });

  it('0.0.0.0 and an IPv6 address on one port are no clash: each binds alone (:: would take both)', async () => {
    const port = await occupy(0, 'tcp');
    await cleanups.pop()!();
    await checkPortsFree([published({ service: 'a', hostIp: '0.0.0.0', hostPort: port }), published({ service: 'b', hostIp: '::1', hostPort: port })]);
    await expect(checkPortsFree([published({ service: 'a', hostIp: '0.0.0.0', hostPort: port }), published({ service: 'b', hostIp: '::', hostPort: port })])).rejects.toThrow(
      /published twice: by service a and by service b/,
    );
  });

  it('passes when every port is free, and leaves none bound', async () => {
    const port = await occupy(0, 'tcp');
    await cleanups.pop()!();
    await checkPortsFree([published({ hostPort: port }), published({ hostPort: port, protocol: 'udp' })]);
    expect(await occupy(port, 'tcp')).toBe(port);
  });
});
