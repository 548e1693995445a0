// The ports a compose service lists (`ports` targets and `expose`): the only ones its Service
// carries. On a compose network every port of a peer is reachable; through a Service only these.
import type { Service } from '../spec/index.js';

/** A port a service listens on, as its Service carries it. */
export interface ListedPort {
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
}

/** `expose` entries (`80`, `53/udp`, `8000-8002`) as ports. */
export function exposedPorts(expose: readonly string[]): ListedPort[] {
  const out: ListedPort[] = [];
  for (const entry of expose) {
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp))?$/.exec(String(entry).trim());
    if (!m) continue;
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    for (let p = first; p <= last; p++) out.push({ port: p, protocol: m[3] === 'udp' ? 'UDP' : 'TCP' });
  }
  return out;
}

/** Every port the service lists, container side, without repeats, sorted. */
export function listedPorts(service: Service): ListedPort[] {
  const all = [...service.ports.map((p) => ({ port: p.containerPort, protocol: p.protocol === 'udp' ? 'UDP' : 'TCP' }) as const), ...exposedPorts(service.expose)];
  const seen = new Map<string, ListedPort>();
  for (const p of all) seen.set(`${p.protocol}/${p.port}`, p);
  return [...seen.values()].sort((a, b) => a.port - b.port || (a.protocol < b.protocol ? -1 : 1));
}

/** A Service port's name: `tcp-80` (unique within a Service, an IANA service name). */
export function portName(p: ListedPort): string {
  return `${p.protocol.toLowerCase()}-${p.port}`;
}
