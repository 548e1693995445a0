// What the port forwarder is given: one published port of one service, resolved to the
// service's address (normalized `ports:` entries plus the IPAM address; ranges arrive expanded).

/** One published port: host side to service side. */
export interface PublishedPort {
  /** For messages: which service published it. */
  readonly service: string;
  /** Host address to listen on (127.0.0.1 unless the spec says otherwise). */
  readonly hostIp: string;
  /** 0 picks a free port (compose's `"3000"` short form); the bound port is reported back. */
  readonly hostPort: number;
  readonly protocol: 'tcp' | 'udp';
  /** The service's address on its first network. */
  readonly targetIp: string;
  readonly targetPort: number;
}

/** A published port as it was bound (hostPort resolved when 0 was asked). */
export interface BoundPort extends PublishedPort {
  readonly boundPort: number;
}

/** Where the forwarder reports connection-level trouble (never fatal). */
export type Log = (message: string) => void;

/** Identity of a wanted port: what it listens on and where it goes (the supervisor's port set, socket activation). */
export function portKey(p: PublishedPort): string {
  return `${p.service}|${p.protocol}|${p.hostIp}|${p.hostPort}|${p.targetIp}|${p.targetPort}`;
}

/** `127.0.0.1:5432/tcp`: how a published port is named in messages (the spec's own). */
export { portLabel } from '../../spec/ports.js';
