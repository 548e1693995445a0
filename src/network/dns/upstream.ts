// Sends one query to the host's resolvers and returns the first reply, over UDP or TCP. A fresh
// socket per query gives each one a random source port and takes replies only from the resolver
// it was sent to; the reply must carry the query's id.
import dgram from 'node:dgram';
import net from 'node:net';
import { udpType } from '../udp-family.js';
import { messageId } from './codec.js';

/** A resolver to forward to. */
export interface Upstream {
  readonly address: string;
  /** 53 unless given (tests run fake resolvers on other ports). */
  readonly port?: number;
}

/** Tries each upstream in turn, `timeoutMs` each; undefined when none replied. */
export async function exchange(
  msg: Buffer,
  upstreams: readonly Upstream[],
  transport: 'udp' | 'tcp',
  timeoutMs: number,
): Promise<Buffer | undefined> {
  for (const upstream of upstreams) {
    const reply = await (transport === 'udp' ? overUdp : overTcp)(msg, upstream, timeoutMs).catch(() => undefined);
    if (reply && messageId(reply) === messageId(msg)) return reply;
  }
  return undefined;
}

function overUdp(msg: Buffer, upstream: Upstream, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(udpType(upstream.address));
    const done = (reply: Buffer | undefined) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('error', () => done(undefined));
    socket.on('message', (reply) => done(reply));
    socket.connect(upstream.port ?? 53, upstream.address, () => socket.send(msg));
  });
}

function overTcp(msg: Buffer, upstream: Upstream, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: upstream.address, port: upstream.port ?? 53 });
    let received = Buffer.alloc(0);
    const done = (reply: Buffer | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reply);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('error', () => done(undefined));
    socket.on('end', () => done(undefined));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0))
        done(received.subarray(2, 2 + received.readUInt16BE(0)));
    });
    const length = Buffer.alloc(2);
    length.writeUInt16BE(msg.length);
    socket.write(Buffer.concat([length, msg]));
  });
}
