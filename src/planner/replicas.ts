// Replicas (`scale`, `deploy.replicas`, `up --scale SERVICE=N`): a service of N replicas is, to
// the planner and the executor, N services: replica 1 keeps the service's own key (a service of
// one replica is exactly what it always was: same records, same names, nothing recreated) and
// replicas 2..N are keyed `<service>#<index>` (names.ts replicaKey), each with its own netns,
// address, cgroups and records. Each replica carries the service's name as an alias on its
// networks, so the name answers with every replica's address, as Docker's DNS does. Pure.
import { UserError } from '../errors.js';
import { parseReplicaKey, replicaKey } from '../replica-key.js';
import type { PortMapping, Project, Service } from '../spec/project.js';
import { fixedHostPort } from '../spec/scale.js';

/** How many replicas of each service run: `--scale` first, then `scale`/`deploy.replicas`, else 1. */
export function replicaCount(service: Service, overrides: ReadonlyMap<string, number>): number {
  return overrides.get(service.name) ?? service.scale ?? 1;
}

/** `up --scale SERVICE=N` values (repeatable) → service → N; a malformed one or an unknown service is a UserError. */
export function parseScaleOptions(values: readonly string[], project: Project): Map<string, number> {
  const out = new Map<string, number>();
  for (const value of values) {
    const m = /^([^=]+)=(\d+)$/.exec(value.trim());
    if (!m) throw new UserError('CLI_BAD_ARGUMENTS', `stack up: --scale ${value} is not SERVICE=N`, 'e.g. --scale web=3');
    const [, service, n] = m as unknown as [string, string, string];
    if (!project.services[service]) {
      const known = Object.keys(project.services).sort();
      throw new UserError('SERVICE_UNKNOWN', `stack up: --scale ${value}: project "${project.name}" has no service "${service}"`, known.length ? `its services: ${known.join(', ')}` : 'check the service name');
    }
    out.set(service, Number(n));
  }
  return out;
}

/**
 * The project as `up` runs it: each service of N replicas as N services (0: none; the others'
 * depends_on on it dropped, as compose starts nothing of it). What `--scale` asks that replicas
 * cannot share (a container_name, a fixed host port or address) is a UserError naming --scale;
 * the same from the spec was refused on load with its place (spec/scale.ts).
 */
export function expandReplicas(project: Project, overrides: ReadonlyMap<string, number> = new Map()): Project {
  const counts = new Map(Object.values(project.services).map((s) => [s.name, replicaCount(s, overrides)]));
  if ([...counts.values()].every((n) => n === 1)) return project;
  const services: Record<string, Service> = {};
  for (const service of Object.values(project.services)) {
    const count = counts.get(service.name) ?? 1;
    if (count > 1) assertScalable(service, count, overrides.has(service.name));
    const dependsOn = Object.fromEntries(Object.entries(service.dependsOn).filter(([dep]) => counts.get(dep) !== 0));
    const base: Service = Object.keys(dependsOn).length === Object.keys(service.dependsOn).length ? service : { ...service, dependsOn };
    for (let index = 1; index <= count; index++) {
      const key = replicaKey(service.name, index);
      services[key] = index === 1 ? base : replicaSpec(project.name, base, index);
    }
  }
  return { ...project, services: Object.fromEntries(Object.entries(services).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
}

/** Replica `index` (>= 2) of `service`: its own key, hostname and ports, the service's name as an alias. */
function replicaSpec(project: string, service: Service, index: number): Service {
  const networks = Object.fromEntries(
    Object.entries(service.networks).map(([key, n]) => [key, { ...n, aliases: [...new Set([...n.aliases, service.name])] }]),
  );
  return {
    ...service,
    name: replicaKey(service.name, index),
    hostname: service.hostname === service.name ? `${service.name}-${index}` : service.hostname,
    containerName: `${project}-${service.name}-${index}`,
    replica: { of: service.name, index },
    networks,
    ports: service.ports.map((p) => replicaPort(p, index)),
  };
}

/** A replica's share of a published port: the index-th port of a host range, else a free one (0) as the service's. */
function replicaPort(port: PortMapping, index: number): PortMapping {
  if (port.hostPortEnd === undefined) return port;
  const { hostPortEnd: _end, ...rest } = port;
  return { ...rest, hostPort: port.hostPort + index - 1 };
}

/** What N replicas cannot share; `fromFlag`: the count came from `--scale` (the spec's was checked on load). */
function assertScalable(service: Service, count: number, fromFlag: boolean): void {
  const why = fromFlag ? `--scale ${service.name}=${count}` : `scale ${count}`;
  const refuse = (what: string, hint: string): never => {
    throw new UserError('SCALE_CONFLICT', `service "${service.name}": ${what} cannot be shared by ${count} replicas (${why})`, hint);
  };
  if (service.global) {
    throw new UserError('SCALE_CONFLICT', `service "${service.name}" is global (deploy.mode: global): it runs one replica on each host, not ${count} (${why})`, `use --scale ${service.name}=1 (or 0), or make it replicated`);
  }
  if (service.containerName !== undefined) refuse(`container_name "${service.containerName}"`, `remove container_name, or use --scale ${service.name}=1`);
  const fixed = fixedHostPort(service.ports);
  if (fixed !== undefined) refuse(`host port ${fixed}`, `publish a host range at least ${count} wide (e.g. "${fixed}-${fixed + count - 1}:PORT"), leave the host port out, or use --scale ${service.name}=1`);
  for (const p of service.ports) {
    if (p.hostPortEnd !== undefined && p.hostPortEnd - p.hostPort + 1 < count) {
      refuse(`host range ${p.hostPort}-${p.hostPortEnd}`, `widen the range to ${count} ports, or scale to at most ${p.hostPortEnd - p.hostPort + 1}`);
    }
  }
  for (const [network, n] of Object.entries(service.networks)) {
    if (n.ipv4Address !== undefined) refuse(`ipv4_address ${n.ipv4Address} on network ${network}`, 'remove ipv4_address (each replica takes an address of its own)');
  }
}

/** The keys of `service`'s replicas in `services` (a project or a snapshot's), replica 1 first; [] when none. */
export function replicaKeys(services: Readonly<Record<string, unknown>>, service: string): string[] {
  const keys = Object.keys(services)
    .map((k) => (k === service ? { k, index: 1 } : { k, index: parseReplicaKey(k)?.service === service ? parseReplicaKey(k)!.index : 0 }))
    .filter((r) => r.index > 0)
    .sort((a, b) => a.index - b.index);
  return keys.map((r) => r.k);
}

/** The service a key (a service's or a replica's) belongs to, and its replica number (1 for the service's own key). */
export function replicaOf(key: string): { service: string; index: number } {
  return parseReplicaKey(key) ?? { service: key, index: 1 };
}

/**
 * How commands show each of `keys` (ps rows, log prefixes): a service with replicas beyond the
 * first among them shows each as `SERVICE-N` (compose's PROJECT-SERVICE-N without the project);
 * any other key as it is, so a service of one replica is shown as before.
 */
export function replicaLabels(keys: readonly string[]): Map<string, string> {
  const scaled = new Set(keys.flatMap((k) => (replicaOf(k).index > 1 ? [replicaOf(k).service] : [])));
  return new Map(keys.map((k) => [k, scaled.has(replicaOf(k).service) && (k === replicaOf(k).service || replicaOf(k).index > 1) ? `${replicaOf(k).service}-${replicaOf(k).index}` : k]));
}
