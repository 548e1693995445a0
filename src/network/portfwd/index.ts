// Published ports (`ports:`): a userland forwarder, the way docker-proxy and rootlesskit do it.
//
// Design decisions (summarized in docs/architecture.md):
// - Where it lives: in the per-project supervisor, the one long-lived process of a project,
//   next to the DNS forwarder. It listens in the host's netns on hostIp:hostPort (127.0.0.1
//   unless the spec names another address) and connects to the service's address on its first
//   network, through the bridge. No NAT rule is involved, so it works the same on every host,
//   for loopback too; the price is that the service sees the gateway as the client's address.
// - Before anything starts: `stack up` calls checkPortsFree() with every published port of
//   the project and stops with PORT_IN_USE (naming port and service) before it creates a
//   single netns; two services of one project on one host port are caught the same way.
// - Records: the executor records each project's published ports as bound (BoundPort, with
//   the real port when the spec asked for any free one) in the project's state dir.
// - Coming back after a supervisor restart: the new supervisor reads those records and
//   re-listens on exactly the recorded ports (startPortForwarders with hostPort = boundPort);
//   services keep running meanwhile, since they do not depend on it. Connections that went
//   through the dead process are cut (their sockets died with it); new ones work as soon as it
//   listens again. If the port was taken meanwhile, that is PORT_IN_USE again, reported as
//   drift by `stack ps` and retried by the supervisor.
import { combined } from './errors.js';
import { forwardTcp, type TcpForwarder } from './tcp.js';
import { forwardUdp, UDP_IDLE_MS, type UdpForwarder } from './udp.js';
import type { BoundPort, Log, PublishedPort } from './types.js';

export { checkPortsFree } from './check.js';
export { publishedPorts, type PublishingService } from './published.js';
export { forwardTcp, type TcpForwarder } from './tcp.js';
export { forwardUdp, UDP_IDLE_MS, type UdpForwarder } from './udp.js';
export { type PublishedPort, type BoundPort, type Log, portKey, portLabel } from './types.js';

/** Every published port of a project, forwarding. */
export interface PortForwarders {
  readonly bound: readonly BoundPort[];
  close(): Promise<void>;
}

/** Starts a forwarder per port; if any cannot bind, the others are closed and all errors thrown. */
export async function startPortForwarders(
  ports: readonly PublishedPort[],
  options: { log?: Log; udpIdleMs?: number } = {},
): Promise<PortForwarders> {
  const log = options.log ?? (() => {});
  const results = await Promise.allSettled(
    ports.map((p): Promise<TcpForwarder | UdpForwarder> =>
      p.protocol === 'tcp' ? forwardTcp(p, log) : forwardUdp(p, log, options.udpIdleMs ?? UDP_IDLE_MS),
    ),
  );
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const close = async () => {
    await Promise.allSettled(started.map((f) => f.close()));
  };
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (errors.length) {
    await close();
    throw combined(errors);
  }
  return { bound: started.map((f) => f.port), close };
}
