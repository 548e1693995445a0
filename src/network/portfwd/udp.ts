// UDP published ports: a flow table keyed by the client's address and port. Each flow has its
// own socket towards the service, so the service's replies find their way back to the right
// client; a flow silent for `idleMs` is dropped (docker-proxy keeps UDP flows 90 s).
import dgram from 'node:dgram';
import { adoptedUdp, udpType } from '../udp-family.js';
import { bindError } from './errors.js';
import { type BoundPort, type Log, type PublishedPort, portLabel } from './types.js';

/** How long a silent UDP flow is kept. */
export const UDP_IDLE_MS = 90_000;

/** A listening UDP forwarder. */
export interface UdpForwarder {
  readonly port: BoundPort;
  /** Live flows (for status and tests). */
  flows(): number;
  close(): Promise<void>;
}

interface Flow {
  readonly socket: dgram.Socket;
  lastSeen: number;
}

/** Binds the published port; PORT_IN_USE when it is taken. `fd`: a socket already bound there (a supervisor's activation), taken instead. */
export function forwardUdp(port: PublishedPort, log: Log, idleMs = UDP_IDLE_MS, fd?: number): Promise<UdpForwarder> {
  const family = udpType(port.hostIp);
  const targetFamily = udpType(port.targetIp);
  const flows = new Map<string, Flow>();
  const server = dgram.createSocket(family);
  const drop = (key: string) => {
    const flow = flows.get(key);
    flows.delete(key);
    flow?.socket.close();
  };
  server.on('message', (msg, client) => {
    const key = `${client.address}|${client.port}`;
    let flow = flows.get(key);
    if (!flow) {
      const socket = dgram.createSocket(targetFamily);
      socket.on('message', (reply, from) => {
        if (from.address !== port.targetIp || from.port !== port.targetPort) return;
        flow!.lastSeen = Date.now();
        server.send(reply, client.port, client.address);
      });
      socket.on('error', (e) =>
        log(
          `${portLabel(port)} → ${port.service} ${port.targetIp}:${port.targetPort}: ${e.message} (client ${client.address}:${client.port})`,
        ),
      );
      flow = { socket, lastSeen: Date.now() };
      flows.set(key, flow);
    }
    flow.lastSeen = Date.now();
    flow.socket.send(msg, port.targetPort, port.targetIp);
  });
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [key, flow] of flows) if (now - flow.lastSeen > idleMs) drop(key);
    },
    Math.max(10, Math.floor(idleMs / 2)),
  );
  sweep.unref();
  return new Promise((resolve, reject) => {
    server.once('error', (e) => {
      clearInterval(sweep);
      reject(bindError(port, e));
    });
    const bound = (): void => {
      server.removeAllListeners('error');
      server.on('error', (e) => log(`${portLabel(port)}: ${e.message}`));
      resolve({
        port: { ...port, boundPort: server.address().port },
        flows: () => flows.size,
        close: async () => {
          clearInterval(sweep);
          for (const key of [...flows.keys()]) drop(key);
          await new Promise<void>((done) => server.close(() => done()));
        },
      });
    };
    if (fd === undefined) server.bind(port.hostPort, port.hostIp, bound);
    else server.bind({ fd }, () => (adoptedUdp(fd), bound()));
  });
}
