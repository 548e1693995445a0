// compose's disabled services: a service of the spec that no active profile enables. A whole `up`
// (and `--remove-orphans`) leaves one that is there as it is, as compose has since 2.23.2
// (docker/compose#11204): `stack --profile debug up -d`, then `stack up -d` after an edit, keeps
// `debug` running. It is not in the loaded project, so it joins the project an `up` plans and
// applies as it was last applied (the snapshot of the project, state/snapshot.ts): the plan keeps
// it (a service no operation names), the addresses keep its address, the snapshot keeps it, and
// the supervisor goes on supervising it (its restarts, its published ports, its DNS name). With
// it come what it uses that the spec no longer declares: its networks, volumes, secrets and
// configs as they were. `down` takes it away with everything else.
// Pure: no I/O.
import type { Project, Service } from '../spec/project.js';
import type { LiveState } from './live.js';
import { parseReplicaKey } from '../replica-key.js';
import { hashNetwork } from './hash.js';
import { portLabel, portsClash } from '../spec/ports.js';

/** The project with the disabled services that are there kept, and their keys (sorted). */
export interface WithDisabled {
  readonly project: Project;
  readonly kept: readonly string[];
}

/** The keys of the services there (not one-offs) that `project` disables: replicas by their service. */
export function disabledThere(project: Project, live: LiveState): string[] {
  const disabled = new Set(project.disabledServices ?? []);
  if (disabled.size === 0) return [];
  return Object.keys(live.services)
    .filter((key) => project.services[key] === undefined && live.services[key]?.oneOff === undefined && disabled.has(parseReplicaKey(key)?.service ?? key))
    .sort();
}

/**
 * `project` with each disabled service that is there (disabledThere) as `applied` (the project
 * as last applied) has it (withAsApplied): the plan keeps those, and removes the others as
 * services the spec no longer has.
 */
export function withDisabledKept(project: Project, live: LiveState, applied: Project | undefined): WithDisabled {
  const there = disabledThere(project, live);
  if (there.length === 0 || applied === undefined) return { project, kept: [] };
  return withAsApplied(project, there, applied, { sameNetworks: true });
}

/**
 * `project` with the services `keys` as `applied` has them, and what they use that `project`
 * lacks: their networks, volumes, secrets and configs as `applied` declares them. One that
 * `applied` does not have (or has in a shape this build does not know: a snapshot of an older
 * one), that uses one of those neither has, or that shares the namespaces or volumes of a
 * service neither `project` has nor is added, is left out; so are, in turn, those sharing its.
 * With `sameNetworks`, so is one on a network `project` declares otherwise than `applied` did (a
 * whole `up` then removes it rather than keep it on a network made anew). With
 * `yieldClashing`, one that publishes a host port or has a container_name a service of `project`
 * has is added without them (the project's service wins them; it keeps its address, names and
 * restarts). Their depends_on keep only the services the result has.
 */
export function withAsApplied(
  project: Project,
  keys: readonly string[],
  applied: Project,
  { sameNetworks = false, yieldClashing = false }: { readonly sameNetworks?: boolean; readonly yieldClashing?: boolean } = {},
): WithDisabled {
  const needs = (spec: Service) => ({
    networks: Object.keys(spec.networks),
    volumes: spec.volumes.flatMap((m) => (m.type === 'volume' && m.source !== undefined ? [m.source] : [])),
    secrets: (spec.secrets ?? []).map((m) => m.source),
    configs: (spec.configs ?? []).map((m) => m.source),
  });
  const sameNetwork = (k: string): boolean => {
    const now = project.networks[k];
    const then = applied.networks[k];
    return now === undefined || then === undefined || hashNetwork(now).hash === hashNetwork(then).hash;
  };
  const found = (spec: Service): boolean => {
    const n = needs(spec);
    return (
      (!sameNetworks || n.networks.every(sameNetwork)) &&
      n.networks.every((k) => project.networks[k] ?? applied.networks[k]) &&
      n.volumes.every((k) => project.volumes[k] ?? applied.volumes[k]) &&
      n.secrets.every((k) => project.secrets?.[k] ?? applied.secrets?.[k]) &&
      n.configs.every((k) => project.configs?.[k] ?? applied.configs?.[k])
    );
  };
  const candidates = new Map(keys.flatMap((key) => (project.services[key] === undefined && usable(applied.services[key]) && found(applied.services[key]) ? [[key, applied.services[key]] as const] : [])));
  // A service sharing another's namespaces or volumes needs that one in the result too: drop
  // those whose owner is not, until none is left to drop.
  for (let changed = true; changed; ) {
    changed = false;
    for (const [key, spec] of candidates) {
      if (ownersOf(spec).every((owner) => project.services[owner] !== undefined || candidates.has(owner))) continue;
      candidates.delete(key);
      changed = true;
    }
  }
  if (candidates.size === 0) return { project, kept: [] };
  const networks: Record<string, Project['networks'][string]> = { ...project.networks };
  const volumes: Record<string, Project['volumes'][string]> = { ...project.volumes };
  const secrets: Record<string, NonNullable<Project['secrets']>[string]> = { ...project.secrets };
  const configs: Record<string, NonNullable<Project['configs']>[string]> = { ...project.configs };
  const services: Record<string, Service> = { ...project.services };
  for (const [key, spec] of candidates) {
    const n = needs(spec);
    for (const k of n.networks) networks[k] ??= applied.networks[k]!;
    for (const k of n.volumes) volumes[k] ??= applied.volumes[k]!;
    for (const k of n.secrets) secrets[k] ??= applied.secrets![k]!;
    for (const k of n.configs) configs[k] ??= applied.configs![k]!;
    services[key] = yieldClashing ? yielding(spec, Object.values(project.services)) : spec;
  }
  const kept = [...candidates.keys()].sort();
  // Their depends_on as far as the result has the services: a kept service is never started by
  // this run, and what the supervisor restarts waits only for services that are there.
  for (const key of kept) {
    const spec = services[key]!;
    const dependsOn = Object.fromEntries(Object.entries(spec.dependsOn).filter(([dep]) => services[dep] !== undefined));
    if (Object.keys(dependsOn).length !== Object.keys(spec.dependsOn).length) services[key] = { ...spec, dependsOn };
  }
  return {
    project: {
      ...project,
      services: sortKeys(services),
      networks: sortKeys(networks),
      volumes: sortKeys(volumes),
      ...(Object.keys(secrets).length > 0 && { secrets: sortKeys(secrets) }),
      ...(Object.keys(configs).length > 0 && { configs: sortKeys(configs) }),
    },
    kept,
  };
}

/** `spec` less the published ports and container_name that one of `others` has too. */
function yielding(spec: Service, others: readonly Service[]): Service {
  const ports = spec.ports.filter((p) => others.every((o) => !o.ports.some((q) => portsClash(p, q))));
  const named = spec.containerName !== undefined && others.some((o) => o.containerName === spec.containerName);
  if (ports.length === spec.ports.length && !named) return spec;
  const { containerName: _name, ...rest } = spec;
  return { ...(named ? rest : spec), ports };
}

/** Whether a snapshot's service has the shape this build reads (an older build's may not). */
function usable(spec: Service | undefined): spec is Service {
  return (
    spec !== undefined &&
    spec !== null &&
    typeof spec === 'object' &&
    typeof spec.name === 'string' &&
    typeof spec.networks === 'object' &&
    spec.networks !== null &&
    Array.isArray(spec.volumes) &&
    typeof spec.dependsOn === 'object' &&
    spec.dependsOn !== null &&
    Array.isArray(spec.ports)
  );
}

/**
 * What `a` has that `b` has too and only one can hold: a published host port (its address, port
 * and protocol: `1.2.3.4:8080/tcp`) or a container_name; undefined when nothing. An address
 * 0.0.0.0 holds the port on every IPv4 address, :: on every address. A host range's mapping
 * holds its first port, the one the supervisor binds (the others are its replicas', each a
 * mapping of its own: planner/replicas.ts).
 */
export function clashOf(a: Service, b: Service): string | undefined {
  const p = a.ports.find((p) => b.ports.some((q) => portsClash(p, q)));
  if (p !== undefined) return portLabel(p);
  if (a.containerName !== undefined && a.containerName === b.containerName) return `container_name ${a.containerName}`;
  return undefined;
}

/** The services whose namespaces (network_mode, pid, ipc: `service:NAME`) or volumes (volumes_from) `spec` uses. */
function ownersOf(spec: Service): string[] {
  const owners: string[] = [];
  for (const mode of [spec.networkMode, spec.pidMode, spec.ipcMode]) if (mode?.kind === 'service') owners.push(mode.service);
  for (const from of spec.volumesFrom ?? []) owners.push(from.service);
  return owners;
}

/** A record with its keys sorted (the order the snapshot and the allocation keep). */
export function sortKeys<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
