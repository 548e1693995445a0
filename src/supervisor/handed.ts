// The sockets a new supervisor inherits bound from the `stack` that started it (socket
// activation, activation.ts), as its last argument names them: by the descriptor it has each at.
// Read by the supervisor (main.ts), written by `stack`; no kernel code here.
import { closeSync } from 'node:fs';

/** The argument's prefix: `--sockets=` and the HandedSockets as JSON. */
export const SOCKETS_ARGUMENT = '--sockets=';

/** A DNS listener's two sockets: UDP, and TCP listening. */
export interface DnsSockets {
  readonly udp: number;
  readonly tcp: number;
}

/** Each socket by the descriptor the supervisor has it at. */
export interface HandedSockets {
  /** The project's mutex (paths.ts), bound: the supervisor holds it for its life. */
  readonly mutex: number;
  /** The control socket, listening. */
  readonly control: number;
  /** A network gateway's address → its DNS listener's UDP socket and listening TCP socket. */
  readonly dns: Readonly<Record<string, DnsSockets>>;
  /** A published port's key (network/portfwd/types.ts portKey) → its socket (listening, for TCP). */
  readonly ports: Readonly<Record<string, number>>;
}

const isFd = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 3;

/** Every descriptor of `handed`. */
export function handedFds(handed: HandedSockets): number[] {
  return [handed.mutex, handed.control, ...Object.values(handed.dns).flatMap((d) => [d.udp, d.tcp]), ...Object.values(handed.ports)];
}

/** Closes handed sockets nothing took (the project changed before the supervisor read it). */
export function closeSockets(fds: Iterable<number>): void {
  for (const fd of fds) closeSync(fd);
}

/** The HandedSockets of a supervisor's argument; undefined when it is not one, or not well formed. */
export function parseHandedSockets(argument: string | undefined): HandedSockets | undefined {
  if (argument?.startsWith(SOCKETS_ARGUMENT) !== true) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(argument.slice(SOCKETS_ARGUMENT.length));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { mutex, control, dns, ports } = value as Record<string, unknown>;
  if (!isFd(mutex) || !isFd(control) || typeof dns !== 'object' || dns === null || typeof ports !== 'object' || ports === null) return undefined;
  const dnsOk = Object.values(dns).every((d: unknown) => typeof d === 'object' && d !== null && isFd((d as { udp?: unknown }).udp) && isFd((d as { tcp?: unknown }).tcp));
  if (!dnsOk || !Object.values(ports).every(isFd)) return undefined;
  return { mutex, control, dns: dns as HandedSockets['dns'], ports: ports as HandedSockets['ports'] };
}
