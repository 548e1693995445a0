// Socket activation of a new supervisor, as systemd starts a socket-activated service: the
// `stack` that starts it binds every socket the supervisor will serve (its mutex, its control
// socket, the DNS listener on each network's gateway, the published ports of the services that
// run) and the supervisor inherits them, bound and listening. What comes meanwhile waits in the
// kernel (a connection in the listen backlog, a datagram in the receive queue) until the
// supervisor serves it, so `stack` does not wait for the supervisor's start (a Node start and
// its modules, ~100-200 ms on two busy cores): `up` returns once its services run, and a port or
// a name is answered as soon as the supervisor can, never refused in between.
//
// Made with socket(2), bind(2) and listen(2) through koffi, as libuv makes them (SO_REUSEADDR
// and dual-stack IPv6 on TCP), close-on-exec: the spawn gives the supervisor its own copies
// (descriptors 3, 4, ..., which it makes close-on-exec again), and no launcher spawned meanwhile
// inherits one. A port or listener that cannot be bound here (taken, an address not on the host)
// is left out: the supervisor binds it itself and retries, as it would have.
import { mkdirSync } from 'node:fs';
import { mark } from '../trace.js';
import { AF_UNIX, bind, close, kernelErrno, listen, setsockoptInt, SO_REUSEADDR, SOCK_CLOEXEC, SOCK_STREAM, socket, SOL_SOCKET } from '../sys/libc.js';
import { sockaddrUnix } from './protocol.js';
import { ipFamily, ipToBytes } from '../network/nl/ip.js';
import { AF_INET, AF_INET6 } from '../network/nl/constants.js';
import { ipamRecordPath, jsonFileStore } from '../network/ipam-store.js';
import { serviceRecords } from '../state/records.js';
import { readSnapshot } from '../state/snapshot.js';
import { STATE_DIR_MODE, type StateRoots } from '../state/paths.js';
import { removeFolderSync } from '../state/atomic.js';
import type { DnsSockets, HandedSockets } from './handed.js';
import { isAbstract, supervisorPaths } from './paths.js';
import { portKey } from '../network/portfwd/types.js';
import { wantedListeners } from './wanted.js';

const SOCK_DGRAM = 2;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
/** Node's own backlog for a server (net.Server.listen), and the published ports' (portfwd/tcp.ts). */
const BACKLOG = 511;
const PORT_BACKLOG = 1024;
/** Where a DNS listener listens. */
const DNS_PORT = 53;
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
    // libuv makes its IPv6 TCP sockets dual-stack whatever net.ipv6.bindv6only says.
    if (type === SOCK_STREAM && domain === AF_INET6) setsockoptInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
    bind(fd, addr);
    if (backlog !== undefined) listen(fd, backlog);
    return fd;
  } catch (e) {
    close(fd);
    throw e;
  }
}


/** Binds the UDP and TCP sockets of a DNS listener on `address`; throws when either cannot be bound. */
function bindDns(address: string, port: number): DnsSockets {
  const udp = bound(ipFamily(address), SOCK_DGRAM, sockaddrIp(address, port));
  try {
    return { udp, tcp: bound(ipFamily(address), SOCK_STREAM, sockaddrIp(address, port), BACKLOG) };
  } catch (e) {
    close(udp);
    throw e;
  }
}

/** DNS listeners bound early (bindEarly), by run root and project, then by address: until the activation takes them. */
const early = new Map<string, Map<string, DnsSockets>>();
const runKey = (project: string, roots: StateRoots): string => `${roots.run}\0${project}`;
/** Projects this process started a supervisor for: no listener is bound early for them any more. */
const activated = new Set<string>();

/** The project's mutex is held: by a supervisor still starting or leaving, which its pid file does not name yet. */
export class SupervisorMutexTaken extends Error {
  override readonly name = 'SupervisorMutexTaken';
}

/**
 * Binds the DNS listener on a bridge's gateway as soon as the bridge is made, for the supervisor
 * this run will start once its walk is done: a service launched before then that asks for a
 * name waits for the answer instead of being refused. Nothing when it cannot be bound yet (the
 * supervisor binds it itself, and retries).
 */
export function bindEarly(project: string, roots: StateRoots, gateway: string): void {
  const key = runKey(project, roots);
  if (activated.has(key)) return; // the supervisor runs by now: told after the walk, it binds the listener
  const byGateway = early.get(key) ?? new Map<string, DnsSockets>();
  if (byGateway.has(gateway)) return;
  try {
    byGateway.set(gateway, bindDns(gateway, DNS_PORT));
    early.set(key, byGateway);
    mark('dns: bound early');
  } catch {
    // taken (a resolver on 0.0.0.0:53), or not on the host: the supervisor's reconcile says so
  }
}

/** Takes the early listeners of a project: those `wanted` names are the caller's, the rest are closed. */
function takeEarly(project: string, roots: StateRoots, wanted: ReadonlySet<string>): Map<string, DnsSockets> {
  const key = runKey(project, roots);
  activated.add(key);
  const byGateway = early.get(key) ?? new Map<string, DnsSockets>();
  early.delete(key);
  for (const [address, sockets] of byGateway) {
    if (wanted.has(address)) continue;
    byGateway.delete(address);
    close(sockets.udp);
    close(sockets.tcp);
  }
  return byGateway;
}

/**
 * Releases the early listeners of a project whose supervisor runs after all (another `stack`
 * started it): it binds them itself when told, and none is bound early for it any more.
 */
export function releaseEarly(project: string, roots: StateRoots): void {
  takeEarly(project, roots, new Set());
}

/**
 * Binds the sockets the new supervisor of `project` will serve, from the files it reads at its
 * start (the snapshot, the service records, the stored allocation, the ports it remembers).
 * Throws SupervisorMutexTaken when another supervisor holds the project's mutex (then nothing is
 * touched), and when the control socket cannot be bound. Makes the supervisor's folder.
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
    // The mutex first: held by another supervisor (one starting that its pid file does not name
    // yet, one leaving), nothing of it is touched, and the caller looks again.
    let mutexFd: number;
    try {
      mutexFd = bound(AF_UNIX, SOCK_STREAM, sockaddrUnix(paths.mutex));
    } catch (e) {
      if (kernelErrno(e) === 'EADDRINUSE') throw new SupervisorMutexTaken(`the supervisor mutex of project ${project} is held`);
      throw e;
    }
    const mutex = keep(mutexFd);
    mkdirSync(paths.dir, { recursive: true, mode: STATE_DIR_MODE });
    // No supervisor holds the mutex: a socket file left is a dead one's (removeFolderSync unlinks
    // a file: fs.rmSync would load Node's rimraf, 0.3 ms, whatever it removes).
    if (!isAbstract(paths.socket)) removeFolderSync(paths.socket);
    const control = keep(bound(AF_UNIX, SOCK_STREAM, sockaddrUnix(paths.socket), BACKLOG));
    const dns: Record<string, DnsSockets> = {};
    const ports: Record<string, number> = {};
    const snapshot = await readSnapshot(roots, project);
    if (snapshot !== undefined) {
      const { records } = await serviceRecords.list(roots, project);
      const stored = await jsonFileStore(ipamRecordPath(roots, project))
        .read()
        .catch(() => undefined);
      const wanted = wantedListeners(snapshot, records, stored);
      // Any free port (tests) is the supervisor's to pick: its TCP listener goes on UDP's.
      const listeners = wanted.dns.filter((l) => (l.port ?? DNS_PORT) === DNS_PORT);
      const earlier = takeEarly(project, roots, new Set(listeners.map((l) => l.address)));
      for (const listener of listeners) {
        try {
          const sockets = earlier.get(listener.address) ?? bindDns(listener.address, DNS_PORT);
          dns[listener.address] = { udp: keep(sockets.udp), tcp: keep(sockets.tcp) };
        } catch {
          // taken, or not on the host: the supervisor binds this listener itself, and retries
        }
      }
      for (const port of wanted.ports) {
        const key = portKey(port);
        // A `hostPort: 0` entry gets the port it had before, as the supervisor would insist on it.
        const number = port.hostPort === 0 ? (remembered[key] ?? 0) : port.hostPort;
        try {
          const fd = bound(ipFamily(port.hostIp), port.protocol === 'tcp' ? SOCK_STREAM : SOCK_DGRAM, sockaddrIp(port.hostIp, number), port.protocol === 'tcp' ? PORT_BACKLOG : undefined);
          ports[key] = keep(fd);
        } catch {
          // taken, or an address the host lacks: the supervisor binds it itself, and retries
        }
      }
    }
    if (snapshot === undefined) releaseEarly(project, roots); // nothing to serve
    return { fds: [...fds], handed: { mutex, control, dns, ports }, close: closeAll };
  } catch (e) {
    closeAll();
    throw e;
  }
}
