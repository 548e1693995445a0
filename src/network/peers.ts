// Who reaches whom by which name: the one answer that /etc/hosts (hosts.ts) and the DNS
// forwarder (dns/) both serve. Pure: reads the Project and the IPAM record only.
import type { ExtraHost } from '../spec/project.js';
import type { IpamRecord } from './ipam.js';
import { netnsOwner, type NetworkMode } from '../spec/namespace-modes.js';

/** What naming reads of a service (Project's Service fits). */
export interface NamedService {
  readonly hostname: string;
  readonly containerName?: string;
  readonly networks: Readonly<Record<string, { readonly aliases: readonly string[]; readonly priority: number }>>;
  readonly extraHosts: readonly ExtraHost[];
  /** `network_mode`: a service in another's netns is named at that service's address. */
  readonly networkMode?: NetworkMode;
  /** `dns:`: the service's own resolvers (the forwarder relays its other queries there). */
  readonly dns?: readonly string[];
  /** `dns_search:` (replaces the host's search domains) and `dns_opt:` (resolv.conf options). */
  readonly dnsSearch?: readonly string[];
  readonly dnsOpt?: readonly string[];
  /** `links`: the names by which this service (only) reaches others. */
  readonly links?: readonly { readonly service: string; readonly alias: string }[];
  /** A replica 2..N of a scaled service (planner/replicas.ts): the service it copies. */
  readonly replica?: { readonly of: string };
}

/** What naming reads of a project (Project fits). */
export interface NamedProject {
  readonly services: Readonly<Record<string, NamedService>>;
}

/** A service's networks in interface order (eth0 first): higher priority first, then by key. */
export function orderedNetworks(service: {
  readonly networks: Readonly<Record<string, { readonly priority: number }>>;
}): string[] {
  return Object.entries(service.networks)
    .sort(([a, x], [b, y]) => y.priority - x.priority || (a < b ? -1 : a > b ? 1 : 0))
    .map(([key]) => key);
}

/** Names under which a service is known on one network: service name, container_name, aliases. */
export function namesOn(project: NamedProject, service: string, network: string): string[] {
  const s = project.services[service];
  const attachment = s?.networks[network];
  if (!s || !attachment) return [];
  // A replica 2..N is known by its container name and the service's (its key `web#2` names nothing: `#` starts a comment in /etc/hosts).
  return unique([...(s.replica ? [] : [service]), ...(s.containerName ? [s.containerName] : []), ...attachment.aliases, ...sharerNames(project, service)]);
}

/** The service whose netns `service` runs in (itself unless `network_mode: service:`; itself under `host`). */
export function netnsOwnerOf(project: NamedProject, service: string): string {
  const owner = netnsOwner(project.services, service);
  return owner.kind === 'service' ? owner.service : service;
}

/**
 * Names of the services in `owner`'s netns (network_mode: service:), which answer at its address
 * as in Docker. Found for every owner in one pass over the project, kept for the project object
 * (a Project is never changed): namesOn asks it for every peer of every service's /etc/hosts, and
 * a scan of all services each time made writing the name files of N services cubic in N.
 */
function sharerNames(project: NamedProject, owner: string): string[] {
  let byOwner = sharersOf.get(project);
  if (byOwner === undefined) {
    byOwner = new Map();
    for (const [name, s] of Object.entries(project.services).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (s.networkMode?.kind !== 'service') continue;
      const of = netnsOwnerOf(project, name);
      if (of === name) continue;
      byOwner.set(of, [...(byOwner.get(of) ?? []), name, ...(s.containerName ? [s.containerName] : [])]);
    }
    sharersOf.set(project, byOwner);
  }
  return byOwner.get(owner) ?? [];
}

const sharersOf = new WeakMap<NamedProject, Map<string, string[]>>();

/**
 * Name → addresses of the services on one network: the table the DNS forwarder answers from.
 * A name several services carry (an alias shared, a `stack run --use-aliases` one-off with its
 * service's name) answers with all of them, as Docker's DNS does; service names come first, then
 * container names, then aliases, so a resolver that takes the first answer reaches the service
 * whose name it is.
 */
export function nameTable(project: NamedProject, ipam: IpamRecord, network: string): Map<string, string[]> {
  const table = new Map<string, string[]>();
  const addresses = ipam.networks[network]?.addresses ?? {};
  const services = Object.keys(addresses).sort();
  const passes = [(s: string) => (project.services[s]?.replica ? [] : [s]), (s: string) => namesOn(project, s, network).filter((n) => n !== s)];
  for (const namesOf of passes) {
    for (const service of services) {
      for (const name of namesOf(service)) {
        const key = name.toLowerCase();
        const list = table.get(key) ?? [];
        if (!list.includes(addresses[service]!)) list.push(addresses[service]!);
        table.set(key, list);
      }
    }
  }
  return table;
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names)];
}
