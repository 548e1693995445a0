// Socket activation of a new supervisor, as systemd starts a socket-activated service: the
// `stack` that starts it binds every socket the supervisor will serve (its control socket, the
// DNS listener on each network's gateway, the published ports of the services that run) and the
// supervisor inherits them, bound and listening. What comes meanwhile waits in the kernel (a
// connection in the listen backlog, a datagram in the receive queue) until the supervisor
// serves it, so `stack` does not wait for the supervisor's start (a Node start and its modules,
// ~100-200 ms on two busy cores): `up` returns once its services run, and a port or a name is
// answered as soon as the supervisor can, never refused in between.
//
// Made with socket(2), bind(2) and listen(2) through koffi, as libuv makes them (SO_REUSEADDR
// on TCP, IPv6 sockets left dual-stack as the host's default says), close-on-exec: the spawn
// gives the supervisor its own copies (descriptors 3, 4, ...), and no launcher spawned
// meanwhile inherits one. A port or listener that cannot be bound here (taken, an address
// not on the host) is left out: the supervisor binds it itself and retries, as it would have.
import { rmSync } from 'node:fs';
import { bind, close, listen, setsockoptInt, SOCK_CLOEXEC, socket, SOL_SOCKET } from '../sys/libc.js';
import { ipToBytes } from '../network/nl/ip.js';
import { ipamRecordPath, jsonFileStore } from '../network/ipam-store.js';
import { serviceRecords } from '../state/records.js';
import { readSnapshot } from '../state/snapshot.js';
import type { StateRoots } from '../state/paths.js';
import type { HandedSockets } from './handed.js';
import { isAbstract, supervisorPaths } from './paths.js';
import { portKey } from './port-set.js';
import { wantedListeners } from './wanted.js';

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SO_REUSEADDR = 2;
/** Node's own backlog for a server (net.Server.listen), and the published ports' (portfwd/tcp.ts). */
const BACKLOG = 511;
const PORT_BACKLOG = 1024;
/** The first descriptor the supervisor has its sockets at (after stdin, stdout, stderr). */
const FIRST_FD = 3;

/** Sockets bound for a new supervisor: what to give its spawn, and what to tell it. */
export interface BoundSockets {
  /** Descriptors in the order the supervisor gets them: the first at FIRST_FD. */
  readonly fds: readonly number[];
  readonly handed: HandedSockets;
  /** Closes this process's descriptors (once the spawn gave the supervisor its own). */
  close(): void;
}

/** struct sockaddr_un of a path, or of an abstract name (a leading NUL). */
function sockaddrUnix(path: string): Buffer {
  const name = Buffer.from(path);
  const abstract = isAbstract(path);
  const addr = Buffer.alloc(2 + name.length + (abstract ? 0 : 1));
  addr.writeUInt16LE(AF_UNIX, 0);
  name.copy(addr, 2);
  return addr;
}

/** struct sockaddr_in or sockaddr_in6 of an address and port. */
function sockaddrIp(address: string, port: number): Buffer {
  const bytes = ipToBytes(address);
  const v6 = bytes.length === 16;
  const addr = Buffer.alloc(v6 ? 28 : 16);
  addr.writeUInt16LE(v6 ? AF_INET6 : AF_INET, 0);
  addr.writeUInt16BE(port, 2);
  bytes.copy(addr, v6 ? 8 : 4);
  return addr;
}

/** A socket bound to `addr` (and listening, for a stream); closed again when a step fails. */
function bound(domain: number, type: number, addr: Buffer, backlog?: number): number {
  const fd = socket(domain, type | SOCK_CLOEXEC, 0);
  try {
    if (type === SOCK_STREAM && domain !== AF_UNIX) setsockoptInt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    bind(fd, addr);
    if (backlog !== undefined) listen(fd, backlog);
    return fd;
  } catch (e) {
    close(fd);
    throw e;
  }
}

const ipDomain = (address: string): number => (address.includes(':') ? AF_INET6 : AF_INET);

/**
 * Binds the sockets the new supervisor of `project` will serve, from the files it reads at its
 * start (the snapshot, the service records, the stored allocation, the ports it remembers).
 * Throws only when the control socket cannot be bound; the caller's folder for it must exist.
 */
export async function bindSupervisorSockets(project: string, roots: StateRoots, remembered: Readonly<Record<string, number>>): Promise<BoundSockets> {
  const paths = supervisorPaths(roots, project);
  const fds: number[] = [];
  const closeAll = (): void => {
    for (const fd of fds.splice(0)) {
      try {
        close(fd);
      } catch {
        // already closed: nothing to release
      }
    }
  };
  /** Keeps `fd` and returns the descriptor the supervisor will have it at. */
  const keep = (fd: number): number => fds.push(fd) - 1 + FIRST_FD;
  try {
    // The caller holds the project's lock and saw no supervisor run: a socket file left is a dead one's.
    if (!isAbstract(paths.socket)) rmSync(paths.socket, { force: true });
    const control = keep(bound(AF_UNIX, SOCK_STREAM, sockaddrUnix(paths.socket), BACKLOG));
    const dns: Record<string, { udp: number; tcp: number }> = {};
    const ports: Record<string, number> = {};
    const snapshot = await readSnapshot(roots, project);
    if (snapshot !== undefined) {
      const { records } = await serviceRecords.list(roots, project);
      const stored = await jsonFileStore(ipamRecordPath(roots, project))
        .read()
        .catch(() => undefined);
      const wanted = wantedListeners(snapshot, records, stored);
      for (const listener of wanted.dns) {
        const port = listener.port ?? 53;
        if (port === 0) continue; // any free port (tests): the supervisor picks it, TCP on UDP's
        let udp: number | undefined;
        try {
          udp = bound(ipDomain(listener.address), SOCK_DGRAM, sockaddrIp(listener.address, port));
          const tcp = bound(ipDomain(listener.address), SOCK_STREAM, sockaddrIp(listener.address, port), BACKLOG);
          dns[listener.address] = { udp: keep(udp), tcp: keep(tcp) };
        } catch {
          if (udp !== undefined) close(udp); // the supervisor binds this listener itself, and retries
        }
      }
      for (const port of wanted.ports) {
        const key = portKey(port);
        // A `hostPort: 0` entry gets the port it had before, as the supervisor would insist on it.
        const number = port.hostPort === 0 ? (remembered[key] ?? 0) : port.hostPort;
        try {
          const fd = bound(ipDomain(port.hostIp), port.protocol === 'tcp' ? SOCK_STREAM : SOCK_DGRAM, sockaddrIp(port.hostIp, number), port.protocol === 'tcp' ? PORT_BACKLOG : undefined);
          ports[key] = keep(fd);
        } catch {
          // taken, or an address the host lacks: the supervisor binds it itself, and retries
        }
      }
    }
    return { fds: [...fds], handed: { control, dns, ports }, close: closeAll };
  } catch (e) {
    closeAll();
    throw e;
  }
}
