// Published ports, short syntax (`[IP:][HOST:]CONTAINER[/PROTOCOL]`, ranges) and long syntax,
// expanded to one PortMapping per port. Host IP defaults to 127.0.0.1: a dev stack does not
// open itself to the network unless the spec says so.
import type { PortMapping } from './project.js';

/** The host address used when a port names none. */
export const DEFAULT_HOST_IP = '127.0.0.1';

/** What a short port looks like, for `expected:` lines. */
export const PORT_SYNTAX = '"[IP:][HOST:]CONTAINER[/PROTOCOL]", e.g. "8080:80", "127.0.0.1:5432:5432", "9000-9001:9000-9001/udp"';

type Result = { ok: true; ports: PortMapping[] } | { ok: false; reason: string };

interface Range {
  readonly start: number;
  readonly end: number;
}

function parseRange(text: string, what: string, allowZero: boolean): Range | string {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!m) return `${what} "${text}" is not a port or a range`;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  for (const p of [start, end]) if (p > 65535 || (!allowZero && p === 0)) return `${what} ${p} is out of range (1-65535)`;
  if (end < start) return `${what} range ${text} ends before it starts`;
  return { start, end };
}

/** Pairs a container range with a host range (or none: any free port), one mapping per port. */
export function expandPorts(hostIp: string, host: string | undefined, container: string, protocol: string): Result {
  if (protocol !== 'tcp' && protocol !== 'udp') return { ok: false, reason: `protocol "${protocol}" is not tcp or udp` };
  const c = parseRange(container, 'container port', false);
  if (typeof c === 'string') return { ok: false, reason: c };
  const count = c.end - c.start + 1;
  let h: Range = { start: 0, end: 0 };
  if (host !== undefined && host !== '') {
    const parsed = parseRange(host, 'host port', true);
    if (typeof parsed === 'string') return { ok: false, reason: parsed };
    h = parsed;
    const hostCount = h.end - h.start + 1;
    // A host range for one container port (compose's "8000-8002:80"): one port of the range,
    // each replica its own (planner/replicas.ts).
    if (count === 1 && hostCount > 1 && h.start > 0) return { ok: true, ports: [{ hostIp, hostPort: h.start, hostPortEnd: h.end, containerPort: c.start, protocol }] };
    if (hostCount !== count) return { ok: false, reason: `host range ${host} and container range ${container} differ in length` };
  }
  const ports: PortMapping[] = [];
  for (let i = 0; i < count; i++) {
    ports.push({ hostIp, hostPort: h.start === 0 ? 0 : h.start + i, containerPort: c.start + i, protocol });
  }
  return { ok: true, ports };
}

/** Parses one short-syntax port. */
export function parseShortPort(spec: string | number): Result {
  let text = String(spec).trim();
  let protocol = 'tcp';
  const slash = text.lastIndexOf('/');
  if (slash >= 0) {
    protocol = text.slice(slash + 1).toLowerCase();
    text = text.slice(0, slash);
  }
  let hostIp: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return { ok: false, reason: `unterminated IPv6 address in "${spec}"` };
    hostIp = text.slice(1, close);
    text = text.slice(close + 2);
  }
  const parts = text.split(':');
  let host: string | undefined;
  let container: string;
  if (parts.length === 1) container = parts[0]!;
  else if (parts.length === 2) [host, container] = parts as [string, string];
  else if (parts.length === 3 && hostIp === undefined) [hostIp, host, container] = parts as [string, string, string];
  else return { ok: false, reason: `too many ":" in "${spec}"` };
  if (hostIp === '') hostIp = undefined;
  return expandPorts(hostIp ?? DEFAULT_HOST_IP, host, container, protocol);
}

/** Parses one long-syntax port ({target, published, host_ip, protocol}). */
export function parseLongPort(spec: { target: string | number; published?: string | number | undefined; host_ip?: string | undefined; protocol?: string | undefined }): Result {
  const published = spec.published === undefined ? undefined : String(spec.published);
  return expandPorts(spec.host_ip || DEFAULT_HOST_IP, published, String(spec.target), spec.protocol ?? 'tcp');
}

/** `127.0.0.1:5432/tcp`, `[::1]:5432/tcp`: how a published port is named in messages. */
export function portLabel(p: Pick<PortMapping, 'hostIp' | 'hostPort' | 'protocol'>): string {
  const host = p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp;
  return `${host}:${p.hostPort}/${p.protocol}`;
}

/**
 * Whether two published ports take the same host port, as the kernel sees their listeners (the
 * supervisor's TCP and UDP sockets on IPv6 are dual-stack): same port and protocol, and an
 * address one of them covers. :: covers every address, 0.0.0.0 every IPv4 one; 0.0.0.0 and a
 * given IPv6 address (::1) each bind alone. Port 0 is any free port: it never clashes.
 */
export function portsClash(p: Pick<PortMapping, 'hostIp' | 'hostPort' | 'protocol'>, q: Pick<PortMapping, 'hostIp' | 'hostPort' | 'protocol'>): boolean {
  const family = (ip: string): number => (ip.includes(':') ? 6 : 4);
  const covers = (x: string, y: string): boolean => x === y || x === '::' || (x === '0.0.0.0' && family(y) === 4);
  return p.hostPort !== 0 && q.hostPort === p.hostPort && q.protocol === p.protocol && (covers(p.hostIp, q.hostIp) || covers(q.hostIp, p.hostIp));
}
