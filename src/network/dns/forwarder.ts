// The DNS forwarder of a project: one UDP and one TCP listener on the gateway address of each
// network (port 53, in the host's netns), answering the names of the services on that network
// itself and relaying everything else to the host's resolvers. An internal network's listener
// relays nothing (no way out, not even by DNS). It lives in the per-project supervisor next to
// the port forwarder; setNames() follows peers whose address changed without a restart.
import dgram from 'node:dgram';
import net from 'node:net';
import { adoptedUdp, udpType } from '../udp-family.js';
import { UserError } from '../../errors.js';
import { answer, failure, isInternet, parseQuery, RCODE, TYPE } from './codec.js';
import { exchange, type Upstream } from './upstream.js';

/** One network's listener: where it listens and which names it answers. */
export interface DnsListener {
  /** The network's gateway address. */
  readonly address: string;
  /** 53 unless given; 0 picks a free port (tests). */
  readonly port?: number;
  /** Lower-case name → IPv4 addresses (peers.ts nameTable). */
  readonly names: ReadonlyMap<string, readonly string[]>;
  /** Relay unknown names upstream; false for internal networks. */
  readonly forward: boolean;
  /**
   * Client address → its own resolvers (a service's `dns:`), used instead of the host's for what
   * the table does not answer, as Docker's embedded DNS does; absent: the host's for everyone.
   */
  readonly upstreamsOf?: ReadonlyMap<string, readonly Upstream[]>;
  /** Client address → names only that client is answered (a service's `links` aliases), before `names`. */
  readonly aliasesOf?: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;
  /** Sockets already bound there, the TCP one listening (a supervisor's activation): taken instead of binding. */
  readonly fds?: { readonly udp: number; readonly tcp: number };
}

/** Settings shared by every listener. */
export interface DnsOptions {
  readonly upstreams: readonly Upstream[];
  /** Per upstream, per query. */
  readonly timeoutMs?: number;
  /** TTL of the answers for service names: short, since addresses change on recreate. */
  readonly ttl?: number;
  readonly log?: (message: string) => void;
}

/** A running forwarder. */
export interface DnsForwarder {
  /** Where each listener ended up (the port matters when 0 was asked). */
  readonly bound: readonly { address: string; port: number }[];
  /** Replaces the names a listener answers (and, when given, its clients' own resolvers and names). */
  setNames(
    address: string,
    names: ReadonlyMap<string, readonly string[]>,
    upstreamsOf?: ReadonlyMap<string, readonly Upstream[]>,
    aliasesOf?: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>,
  ): void;
  close(): Promise<void>;
}

/** Starts every listener; if one cannot bind, the others are closed and the error is thrown. */
export async function startDnsForwarder(listeners: readonly DnsListener[], options: DnsOptions): Promise<DnsForwarder> {
  const names = new Map(listeners.map((l) => [l.address, l.names]));
  const clients = new Map(listeners.map((l) => [l.address, l.upstreamsOf ?? new Map<string, readonly Upstream[]>()]));
  const aliases = new Map(listeners.map((l) => [l.address, l.aliasesOf ?? new Map<string, ReadonlyMap<string, readonly string[]>>()]));
  const closers: (() => Promise<void>)[] = [];
  const bound: { address: string; port: number }[] = [];
  const log = options.log ?? (() => {});
  const close = async () => {
    await Promise.allSettled(closers.map((c) => c()));
  };
  try {
    for (const listener of listeners) {
      const resolve = (msg: Buffer, transport: 'udp' | 'tcp', client: string | undefined) => {
        const from = client?.replace(/^::ffff:/, '');
        const own = from === undefined ? undefined : clients.get(listener.address)?.get(from);
        const table = names.get(listener.address) ?? new Map<string, readonly string[]>();
        const extra = from === undefined ? undefined : aliases.get(listener.address)?.get(from);
        return reply(msg, extra === undefined ? table : new Map([...table, ...extra]), listener.forward, transport, own === undefined ? options : { ...options, upstreams: own });
      };
      const wanted = listener.port ?? 53;
      const udp = await bindUdp(listener.address, wanted, resolve, log, listener.fds?.udp).catch((e) => {
        throw bindError(listener.address, wanted, 'udp', e);
      });
      closers.push(() => new Promise<void>((r) => udp.close(() => r())));
      const port = udp.address().port;
      const tcp = await listenTcp(listener.address, port, resolve, log, listener.fds?.tcp).catch((e) => {
        throw bindError(listener.address, port, 'tcp', e);
      });
      closers.push(() => new Promise<void>((r) => tcp.close(() => r())));
      bound.push({ address: listener.address, port });
    }
  } catch (e) {
    await close();
    throw e;
  }
  return {
    bound,
    setNames: (address, table, upstreamsOf, aliasesOf) => {
      names.set(address, table);
      if (upstreamsOf !== undefined) clients.set(address, upstreamsOf);
      if (aliasesOf !== undefined) aliases.set(address, aliasesOf);
    },
    close,
  };
}

/** A listener that cannot bind: something else holds port 53 there (a resolver on 0.0.0.0:53). */
function bindError(address: string, port: number, protocol: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code !== 'EADDRINUSE' && code !== 'EADDRNOTAVAIL') return e as Error;
  return new UserError(
    code === 'EADDRINUSE' ? 'DNS_PORT_IN_USE' : 'DNS_ADDRESS_UNAVAILABLE',
    `the DNS forwarder cannot listen on ${address}:${port}/${protocol} (${code})`,
    code === 'EADDRINUSE'
      ? `another DNS server listens there, likely on 0.0.0.0:${port} (\`ss -lnup 'sport = :${port}'\` shows it); make it listen on specific addresses`
      : `${address} is not on this host: the network's bridge must be up with its gateway address first`,
    { cause: e },
  );
}

/** The reply to one query: from the table, from upstream, or an error; never throws. */
async function reply(
  msg: Buffer,
  table: ReadonlyMap<string, readonly string[]>,
  forward: boolean,
  transport: 'udp' | 'tcp',
  options: DnsOptions,
): Promise<Buffer> {
  const query = parseQuery(msg);
  if (!query) return failure(msg, undefined, RCODE.FORMERR);
  const addresses = table.get(query.name);
  if (addresses !== undefined && query.opcode === 0 && isInternet(query)) {
    const wantsA = query.type === TYPE.A || query.type === TYPE.ANY;
    return answer(msg, query, wantsA ? addresses : [], options.ttl ?? 10);
  }
  if (!forward) return failure(msg, query, RCODE.NXDOMAIN);
  const upstream = await exchange(msg, options.upstreams, transport, options.timeoutMs ?? 2000);
  return upstream ?? failure(msg, query, RCODE.SERVFAIL);
}

function bindUdp(
  address: string,
  port: number,
  resolve: (m: Buffer, t: 'udp', client: string) => Promise<Buffer>,
  log: (m: string) => void,
  fd?: number,
): Promise<dgram.Socket> {
  return new Promise((ok, fail) => {
    const socket = dgram.createSocket(udpType(address));
    socket.once('error', fail);
    socket.on('message', (msg, peer) => {
      resolve(msg, 'udp', peer.address).then(
        (out) => socket.send(out, peer.port, peer.address),
        (e: Error) => log(`dns ${address}: ${e.message}`),
      );
    });
    const bound = (): void => {
      socket.off('error', fail);
      socket.on('error', (e) => log(`dns udp ${address}:${port}: ${e.message}`));
      ok(socket);
    };
    if (fd === undefined) socket.bind(port, address, bound);
    else socket.bind({ fd }, () => (adoptedUdp(fd), bound()));
  });
}

function listenTcp(
  address: string,
  port: number,
  resolve: (m: Buffer, t: 'tcp', client: string | undefined) => Promise<Buffer>,
  log: (m: string) => void,
  fd?: number,
): Promise<net.Server> {
  return new Promise((ok, fail) => {
    const clients = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      clients.add(socket);
      socket.on('close', () => clients.delete(socket));
      let pending = Buffer.alloc(0);
      let chain = Promise.resolve();
      socket.setTimeout(30_000, () => socket.destroy());
      socket.on('error', (e) => log(`dns tcp client of ${address}: ${e.message}`));
      socket.on('data', (chunk) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
          const msg = pending.subarray(2, 2 + pending.readUInt16BE(0));
          pending = pending.subarray(2 + msg.length);
          chain = chain.then(async () => {
            const out = await resolve(msg, 'tcp', socket.remoteAddress);
            const length = Buffer.alloc(2);
            length.writeUInt16BE(out.length);
            if (!socket.destroyed) socket.write(Buffer.concat([length, out]));
          });
        }
      });
    });
    // close() also ends the connections still open, so it never waits for an idle client.
    const close = server.close.bind(server);
    server.close = (cb) => {
      for (const c of clients) c.destroy();
      return close(cb);
    };
    server.once('error', fail);
    server.listen(fd === undefined ? { host: address, port } : { fd }, () => {
      server.off('error', fail);
      server.on('error', (e) => log(`dns tcp ${address}:${port}: ${e.message}`));
      ok(server);
    });
  });
}
