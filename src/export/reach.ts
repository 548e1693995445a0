// What peers reach. On a compose network any port of a peer is reachable by its name; through a
// Service only the ports the service lists. A peer that names a service (in its environment or
// command, or by depends_on) on a port the service never listed is named, and so is a service
// renamed for Kubernetes that peers call by its compose name.
import type { Service } from '../spec/index.js';
import { serviceName, type ExportContext } from './context.js';
import { listedPorts } from './ports.js';

/** Where a peer names a service: `app: environment REDIS_URL`, with the port it uses if any. */
interface Reference {
  readonly peer: string;
  readonly where: string;
  readonly port?: number;
}

/** Variable names whose bare value is a host name. */
const HOSTISH = /HOST|ADDR|SERVER|URL|URI|DSN|ENDPOINT|PEER/i;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The references to `target` (by its compose name) in one peer's environment and command. */
function referencesIn(peer: Service, target: string): Reference[] {
  const re = new RegExp(`(?:^|[^A-Za-z0-9_.-])${escape(target)}(?::(\\d+))?(?![A-Za-z0-9_.-])`, 'g');
  const out: Reference[] = [];
  // A bare name is a reference only where a host is expected (PGHOST=db, not PGUSER=db); with a
  // port (db:5432) or in a URL (//db) it always is.
  const scan = (text: string, where: string, hostish: boolean) => {
    for (const m of text.matchAll(re)) {
      const before = text.slice(0, (m.index ?? 0) + 1); // up to the character before the name
      const inUrl = before.endsWith('//') || before.endsWith('@');
      if (m[1] === undefined && !hostish && !inUrl) continue;
      out.push({ peer: peer.name, where, ...(m[1] !== undefined ? { port: Number(m[1]) } : {}) });
    }
  };
  for (const [k, v] of Object.entries(peer.environment)) scan(v, `environment ${k}`, HOSTISH.test(k));
  for (const word of [...(peer.entrypoint ?? []), ...(peer.command ?? [])]) scan(word, 'command', false);
  if (peer.dependsOn[target]) out.push({ peer: peer.name, where: `depends_on` });
  return out;
}

/** Warnings for ports peers reach that a Service will not carry, and for renamed services peers name. */
export function reachWarnings(ctx: ExportContext): void {
  for (const target of ctx.services) {
    const refs = ctx.services.filter((p) => p.name !== target.name).flatMap((p) => referencesIn(p, target.name));
    const name = serviceName(ctx, target.name);
    if (name !== target.name) {
      const users = refs.length ? `; named by ${[...new Set(refs.map((r) => `${r.peer} (${r.where})`))].join(', ')}` : '';
      ctx.findings.warn(target.name, `services.${target.name}`, `renamed to "${name}" (Kubernetes names are lowercase DNS labels): its DNS name changes${users}`);
    }
    if (!refs.length) continue;
    const listed = new Set(listedPorts(target).map((p) => p.port));
    const by = (list: readonly Reference[]) => [...new Set(list.map((r) => `${r.peer} (${r.where})`))].join(', ');
    if (!listed.size) {
      ctx.findings.warn(target.name, 'expose', `peers reach it (${by(refs)}) but it lists no port: it gets no Service, so no peer can reach it (list its ports under expose)`);
      continue;
    }
    const missing = new Map<number, Reference[]>();
    for (const r of refs) if (r.port !== undefined && !listed.has(r.port)) missing.set(r.port, [...(missing.get(r.port) ?? []), r]);
    for (const [port, list] of [...missing].sort(([a], [b]) => a - b)) {
      ctx.findings.warn(target.name, 'expose', `peers reach port ${port} (${by(list)}), which it does not list: its Service does not carry it (add it to expose)`);
    }
  }
}
