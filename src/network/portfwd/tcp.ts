// TCP published ports: every accepted connection is joined to a fresh connection to the
// service, and the two streams are piped both ways. pipe() gives backpressure (a slow reader
// pauses the other side, nothing piles up in memory) and ends the other side when one side
// ends; allowHalfOpen keeps the other direction open after a FIN, so `shutdown(SHUT_WR)`
// clients (HTTP/1.0, `nc -N`, database dumps) get their whole reply. A reset on one side resets
// the other. Connection errors are logged, never fatal to the forwarder.
import net from 'node:net';
import { bindError } from './errors.js';
import { type BoundPort, type Log, type PublishedPort, portLabel } from './types.js';

/** A listening TCP forwarder. */
export interface TcpForwarder {
  readonly port: BoundPort;
  /** Connections currently joined (for status and tests). */
  connections(): number;
  /** Stops listening and cuts every joined connection. */
  close(): Promise<void>;
}

/**
 * Listens on the published port; PORT_IN_USE when it is taken. `fd`: a socket already bound and
 * listening there (a supervisor's activation), taken instead.
 */
export function forwardTcp(port: PublishedPort, log: Log, fd?: number): Promise<TcpForwarder> {
  const live = new Set<net.Socket>();
  let joined = 0;
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ host: port.targetIp, port: port.targetPort, allowHalfOpen: true });
    let open = 2;
    joined++;
    for (const s of [client, upstream]) {
      live.add(s);
      s.setNoDelay(true);
      s.on('close', () => {
        live.delete(s);
        if (--open === 0) joined--;
      });
    }
    const peer = `${client.remoteAddress}:${client.remotePort}`;
    let connected = false;
    upstream.once('connect', () => (connected = true));
    upstream.on('error', (e: NodeJS.ErrnoException) => {
      log(
        `${portLabel(port)} → ${port.service} ${port.targetIp}:${port.targetPort}: ${connected ? '' : 'connect: '}${e.code ?? e.message} (client ${peer})`,
      );
      if (!client.destroyed) client.resetAndDestroy();
    });
    client.on('error', (e: NodeJS.ErrnoException) => {
      log(`${portLabel(port)}: client ${peer}: ${e.code ?? e.message}`);
      if (!upstream.destroyed) upstream.resetAndDestroy();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(bindError(port, e)));
    server.listen(fd === undefined ? { host: port.hostIp, port: port.hostPort, backlog: 1024 } : { fd, backlog: 1024 }, () => {
      server.removeAllListeners('error');
      server.on('error', (e) => log(`${portLabel(port)}: ${e.message}`));
      const boundPort = (server.address() as net.AddressInfo).port;
      resolve({
        port: { ...port, boundPort },
        connections: () => joined,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const s of live) s.destroy();
          }),
      });
    });
  });
}
