// Finds every published port that cannot be bound, before anything of the project is started:
// each one is bound for a moment and released, and the clashes inside the project itself
// (two services on one host port) are found without touching the host.
import dgram from 'node:dgram';
import net from 'node:net';
import { udpType } from '../udp-family.js';
import { UserError } from '../../errors.js';
import { bindError, combined } from './errors.js';
import { type PublishedPort, portLabel } from './types.js';
import { portsClash } from '../../spec/ports.js';

/** Throws PORT_IN_USE (or an aggregate of several) naming each busy port and its service. */
export async function checkPortsFree(ports: readonly PublishedPort[]): Promise<void> {
  const errors: Error[] = [];
  ports.forEach((port, i) => {
    const earlier = ports.slice(0, i).find((p) => portsClash(p, port));
    if (earlier) {
      errors.push(
        new UserError(
          'PORT_IN_USE',
          `port ${portLabel(port)} is published twice: by service ${earlier.service} and by service ${port.service}`,
          'give one of them another host port',
        ),
      );
    }
  });
  for (const port of ports) {
    if (port.hostPort === 0) continue;
    try {
      await probe(port);
    } catch (e) {
      errors.push(bindError(port, e));
    }
  }
  if (errors.length) throw combined(errors);
}

function probe(port: PublishedPort): Promise<void> {
  return new Promise((resolve, reject) => {
    if (port.protocol === 'udp') {
      const socket = dgram.createSocket(udpType(port.hostIp));
      socket.once('error', (e) => {
        try {
          socket.close();
        } catch {
          // a socket whose bind failed may already be closed
        }
        reject(e);
      });
      socket.bind(port.hostPort, port.hostIp, () => socket.close(() => resolve()));
      return;
    }
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: port.hostIp, port: port.hostPort, exclusive: true }, () => server.close(() => resolve()));
  });
}
