// What of a project's network the kernel actually has: bridges, host-side veths and where
// their peers are, service namespaces, addresses and default routes. Asked by name (the names
// contract), never by prefix, so another project's objects are never mistaken for ours.
import { addrList, type Address } from './addr.js';
import { openHandle, type Handle } from './handle.js';
import { linkList, type Link } from './link.js';
import { netnsList } from './netns.js';
import { AF_INET } from './nl/index.js';
import { routeList } from './route.js';
import type { ProjectNetworkSpec } from './setup.js';
import { bridgeName, netnsName, vethHostName } from '../names.js';

/** A network's bridge as found. */
export interface ObservedBridge {
  readonly network: string;
  readonly name: string;
  readonly present: boolean;
  readonly up: boolean;
  /** The owner stamp found on it (see ownerAlias). */
  readonly alias?: string;
  /** IPv4 addresses with prefix: the gateway. */
  readonly addresses: readonly string[];
}

/** One (service, network) veth pair as found. */
export interface ObservedVeth {
  readonly network: string;
  /** Host side name (`stkv…`). */
  readonly host: string;
  readonly present: boolean;
  readonly up: boolean;
  /** The owner stamp found on it (see ownerAlias). */
  readonly alias?: string;
  /** Name of the bridge it is enslaved to, if any. */
  readonly master?: string;
  /** The peer inside the service's netns, found by the index the host side points at. */
  readonly peer?: { readonly name: string; readonly up: boolean; readonly addresses: readonly string[] };
}

/** A service's namespace and attachments as found. */
export interface ObservedService {
  readonly service: string;
  readonly netns: string;
  readonly present: boolean;
  readonly veths: readonly ObservedVeth[];
  /** Gateway of the default route inside the netns. */
  readonly defaultGateway?: string;
}

/** Everything found of a project's network. */
export interface ObservedNetwork {
  readonly bridges: readonly ObservedBridge[];
  readonly services: readonly ObservedService[];
}

type Topology = Pick<ProjectNetworkSpec, 'project' | 'networks' | 'services'>;

/** Observes a project's network from the host (the process's namespace, or `hostNetns`). */
export function observeProjectNetwork(spec: Topology, hostNetns?: string): ObservedNetwork {
  const host = openHandle(hostNetns);
  try {
    const links = byName(linkList(host));
    const byIndex = new Map([...links.values()].map((l) => [l.index, l.name]));
    const addrs = addrList(host, undefined, AF_INET);
    const bridges = Object.keys(spec.networks)
      .filter((k) => !spec.networks[k]!.external)
      .sort()
      .map((network): ObservedBridge => {
        const name = bridgeName(spec.project, network);
        const link = links.get(name);
        return {
          network, name, present: !!link, up: !!link?.up,
          ...(link?.alias !== undefined ? { alias: link.alias } : {}),
          addresses: cidrsOf(addrs, link),
        };
      });
    const namespaces = new Set(netnsList());
    const services = Object.keys(spec.services)
      .sort()
      .map((service) => {
        const present = namespaces.has(netnsName(spec.project, service));
        return observeService(spec, service, links, byIndex, present);
      });
    return { bridges, services };
  } finally {
    host.close();
  }
}

function observeService(
  spec: Topology,
  service: string,
  links: Map<string, Link>,
  byIndex: Map<number, string>,
  present: boolean,
): ObservedService {
  const netns = netnsName(spec.project, service);
  let inside: Handle | undefined;
  try {
    inside = present ? openHandle(netns) : undefined;
  } catch {
    present = false; // a leftover file with no namespace mounted on it
  }
  try {
    const peers = inside ? linkList(inside) : [];
    const peerAddrs = inside ? addrList(inside, undefined, AF_INET) : [];
    const veths = Object.keys(spec.services[service]!.networks)
      .sort()
      .map((network): ObservedVeth => {
        const name = vethHostName(spec.project, service, network);
        const link = links.get(name);
        const peer = link?.peerIndex !== undefined ? peers.find((p) => p.index === link.peerIndex) : undefined;
        const master = link?.master !== undefined ? byIndex.get(link.master) : undefined;
        return {
          network, host: name, present: !!link, up: !!link?.up,
          ...(link?.alias !== undefined ? { alias: link.alias } : {}),
          ...(master !== undefined ? { master } : {}),
          ...(peer ? { peer: { name: peer.name, up: peer.up, addresses: cidrsOf(peerAddrs, peer) } } : {}),
        };
      });
    const gateway = inside ? routeList(inside).find((r) => r.dst === 'default')?.gateway : undefined;
    return { service, netns, present, veths, ...(gateway !== undefined ? { defaultGateway: gateway } : {}) };
  } finally {
    inside?.close();
  }
}

function byName(links: Link[]): Map<string, Link> {
  return new Map(links.map((l) => [l.name, l]));
}

function cidrsOf(addrs: Address[], link: Link | undefined): string[] {
  return link ? addrs.filter((a) => a.index === link.index).map((a) => a.cidr).sort() : [];
}
