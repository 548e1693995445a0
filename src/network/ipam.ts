// IPAM: a subnet per network and an address per (network, service), chosen by a pure function
// of the spec, the host's prefixes in use and the previous allocation (podman's allocator over
// an injected store: see ipam-store.ts). Same inputs and same record give the same result, so a
// re-run of `stack up` keeps every address; what the spec pins (subnet, gateway, ipv4_address)
// wins, and an unusable pin is a UserError naming the network and the service.
import { UserError } from '../errors.js';
import type { IpamConfig } from '../spec/project.js';
import {
  type Cidr,
  contains,
  formatCidr,
  formatIpv4,
  hostRange,
  overlaps,
  parseCidr,
  parseIpv4,
  size,
} from './cidr.js';

/**
 * Where subnets come from when the spec names none: 10.209.0.0/16 carved into /24s (256
 * networks of 253 services). Chosen to stay clear of Docker (172.17-31/16, 192.168/16),
 * podman (10.88-89), Kubernetes (10.96/12, 10.244/16), k3s (10.42-43), libvirt and Parallels.
 */
export const DEFAULT_POOL: SubnetPool = { base: '10.209.0.0/16', prefixLength: 24 };

/** A range that project subnets are carved from. */
export interface SubnetPool {
  readonly base: string;
  readonly prefixLength: number;
}

/** What IPAM reads of a network: its key and the `ipam.config` entries (Project's Network fits). */
export interface IpamNetworkSpec {
  readonly external?: boolean;
  readonly ipam: readonly IpamConfig[];
}

/** What IPAM reads of a service: its networks and pinned addresses (Project's Service fits). */
export interface IpamServiceSpec {
  readonly networks: Readonly<Record<string, { readonly ipv4Address?: string }>>;
}

/** Everything an allocation depends on. */
export interface IpamRequest {
  readonly networks: Readonly<Record<string, IpamNetworkSpec>>;
  readonly services: Readonly<Record<string, IpamServiceSpec>>;
  /**
   * Prefixes in use on the host (its addresses and routes, observed through netlink), without
   * those of this project's own bridges. Default routes (/0) reserve nothing.
   */
  readonly reserved: readonly string[];
  readonly pool?: SubnetPool;
}

/** The allocation of one network: what setup configures and what the state dir records. */
export interface NetworkAllocation {
  readonly subnet: string;
  readonly gateway: string;
  /** Service name → address inside `subnet`. */
  readonly addresses: Readonly<Record<string, string>>;
  /**
   * On the owner's record: the services of other projects attached to this network as an
   * external one (external.ts), `<project>/<service>` → their address and host-side veth; kept
   * while the subnet stays, and never given to a service of this project.
   */
  readonly guests?: Readonly<Record<string, ExternalGuest>>;
  /** On an external network's entry: the bridge to plug into (another project's, or the host's). */
  readonly bridge?: string;
  /** On an external network's entry: the stack project and network key that own it (none for a host bridge). */
  readonly owner?: { readonly project: string; readonly network: string };
}

/** A service of another project on a network: its address and the host side of its veth. */
export interface ExternalGuest {
  readonly address: string;
  readonly link: string;
}

/** The allocation of a whole project, keyed by network key; stored as JSON between runs. */
export interface IpamRecord {
  readonly version: 1;
  readonly networks: Readonly<Record<string, NetworkAllocation>>;
}

/**
 * The `reserved` input from what netlink shows of the host (addrList, routeList): every address
 * and route prefix, except those on `ownLinks` (ifindexes of this project's own bridges, whose
 * subnets are the previous allocation and must not push it away). Default routes drop out.
 */
export function reservedPrefixes(
  addresses: readonly { readonly index: number; readonly cidr: string }[],
  routes: readonly { readonly dst: string; readonly oif?: number }[],
  ownLinks: ReadonlySet<number> = new Set(),
): string[] {
  const fromAddresses = addresses.filter((a) => !ownLinks.has(a.index)).map((a) => a.cidr);
  const fromRoutes = routes.filter((r) => r.oif === undefined || !ownLinks.has(r.oif)).map((r) => r.dst);
  return [...new Set([...fromAddresses, ...fromRoutes])].filter((p) => parseCidr(p) !== undefined);
}

/** Allocates subnets, gateways and addresses; keeps every previous choice that is still valid. */
export function allocate(request: IpamRequest, previous?: IpamRecord): IpamRecord {
  const reserved = request.reserved
    .map((text) => parseCidr(text))
    .filter((c): c is Cidr => c !== undefined && c.length > 0);
  const keys = Object.keys(request.networks)
    .filter((k) => !request.networks[k]?.external)
    .sort();
  const subnets = chooseSubnets(request, keys, reserved, previous);
  const networks: Record<string, NetworkAllocation> = {};
  for (const key of keys) {
    const subnet = subnets.get(key)!;
    const config = ipv4Config(request.networks[key]!);
    const gateway = chooseGateway(key, subnet, config?.gateway);
    const kept = previous?.networks[key];
    const sameSubnet = kept !== undefined && kept.subnet === formatCidr(subnet);
    const guests = sameSubnet && kept.guests !== undefined && Object.keys(kept.guests).length > 0 ? kept.guests : undefined;
    networks[key] = {
      subnet: formatCidr(subnet),
      gateway: formatIpv4(gateway),
      addresses: chooseAddresses(
        key,
        subnet,
        gateway,
        config?.ipRange,
        request.services,
        sameSubnet ? kept : undefined,
      ),
      ...(guests !== undefined && { guests }),
    };
  }
  return { version: 1, networks };
}

function chooseSubnets(
  request: IpamRequest,
  keys: readonly string[],
  reserved: readonly Cidr[],
  previous: IpamRecord | undefined,
): Map<string, Cidr> {
  const chosen = new Map<string, Cidr>();
  const clash = (c: Cidr): string | undefined => {
    const host = reserved.find((r) => overlaps(r, c));
    if (host) return `the host's ${formatCidr(host)}`;
    for (const [k, other] of chosen) if (overlaps(other, c)) return `network ${k} (${formatCidr(other)})`;
    return undefined;
  };
  // Pinned subnets first, then the ones kept from the previous run, then fresh ones from the pool.
  for (const key of keys) {
    const text = ipv4Config(request.networks[key]!)?.subnet;
    if (text === undefined) continue;
    const subnet = parseCidr(text);
    if (subnet === undefined || subnet.length > 30) {
      throw new UserError(
        'SUBNET_INVALID',
        `network ${key}: subnet ${text} is not an IPv4 prefix of /30 or wider`,
        'write it as a.b.c.d/n, e.g. 10.209.5.0/24',
      );
    }
    const other = clash(subnet);
    if (other) {
      throw new UserError(
        'SUBNET_OVERLAP',
        `network ${key}: subnet ${text} overlaps ${other}`,
        'pick another ipam.config subnet, or leave it out and stack picks a free one',
      );
    }
    chosen.set(key, subnet);
  }
  for (const key of keys) {
    const kept = previous?.networks[key] && parseCidr(previous.networks[key].subnet);
    if (chosen.has(key) || !kept || clash(kept)) continue;
    chosen.set(key, kept);
  }
  const pool = request.pool ?? DEFAULT_POOL;
  const base = parseCidr(pool.base);
  if (!base || pool.prefixLength < base.length || pool.prefixLength > 30) {
    throw new UserError('POOL_INVALID', `subnet pool ${pool.base} cannot be carved into /${pool.prefixLength}s`);
  }
  const step = 2 ** (32 - pool.prefixLength);
  let next = base.network;
  for (const key of keys) {
    if (chosen.has(key)) continue;
    for (; next < base.network + size(base); next += step) {
      const candidate = { network: next, length: pool.prefixLength };
      if (!clash(candidate)) break;
    }
    if (next >= base.network + size(base)) {
      throw new UserError(
        'POOL_EXHAUSTED',
        `network ${key}: no free /${pool.prefixLength} left in ${pool.base} (every one overlaps the host's addresses or routes, or another network)`,
        'give the network an ipam.config subnet outside the prefixes `ip route` shows',
      );
    }
    chosen.set(key, { network: next, length: pool.prefixLength });
  }
  return chosen;
}

function chooseGateway(key: string, subnet: Cidr, pinned: string | undefined): number {
  if (pinned === undefined) return hostRange(subnet).first;
  const gateway = parseIpv4(pinned);
  const { first, last } = hostRange(subnet);
  if (gateway === undefined || gateway < first || gateway > last) {
    throw new UserError(
      'GATEWAY_OUTSIDE_SUBNET',
      `network ${key}: gateway ${pinned} is not a host address of ${formatCidr(subnet)}`,
      `use an address between ${formatIpv4(first)} and ${formatIpv4(last)}`,
    );
  }
  return gateway;
}

function chooseAddresses(
  key: string,
  subnet: Cidr,
  gateway: number,
  ipRange: string | undefined,
  services: Readonly<Record<string, IpamServiceSpec>>,
  kept: NetworkAllocation | undefined,
): Record<string, string> {
  const members = Object.keys(services)
    .filter((name) => services[name]!.networks[key] !== undefined)
    .sort();
  const { first, last } = hostRange(subnet);
  const owner = new Map<number, string>([[gateway, 'the gateway']]);
  // Services of other projects attached to this network keep their addresses (external.ts).
  for (const [guest, g] of Object.entries(kept?.guests ?? {})) {
    const address = parseIpv4(g.address);
    if (address !== undefined) owner.set(address, `${guest} (another project)`);
  }
  const result = new Map<string, number>();
  for (const name of members) {
    const pinned = services[name]!.networks[key]!.ipv4Address;
    if (pinned === undefined) continue;
    const address = parseIpv4(pinned);
    if (address === undefined || address < first || address > last) {
      throw new UserError(
        'ADDRESS_OUTSIDE_SUBNET',
        `service ${name}: ipv4_address ${pinned} is not a host address of network ${key} (${formatCidr(subnet)})`,
        `use an address between ${formatIpv4(first)} and ${formatIpv4(last)}`,
      );
    }
    const holder = owner.get(address);
    if (holder !== undefined) {
      throw new UserError(
        'ADDRESS_TAKEN',
        `service ${name}: ipv4_address ${pinned} on network ${key} is already ${holder === 'the gateway' ? holder : `taken by service ${holder}`}`,
        'give each service its own address, or leave ipv4_address out',
      );
    }
    owner.set(address, name);
    result.set(name, address);
  }
  const range = dynamicRange(key, subnet, ipRange);
  for (const name of members) {
    const address = kept?.addresses[name] === undefined ? undefined : parseIpv4(kept.addresses[name]);
    if (
      result.has(name) ||
      address === undefined ||
      address < range.first ||
      address > range.last ||
      owner.has(address)
    )
      continue;
    owner.set(address, name);
    result.set(name, address);
  }
  let next = range.first;
  for (const name of members) {
    if (result.has(name)) continue;
    while (next <= range.last && owner.has(next)) next++;
    if (next > range.last) {
      throw new UserError(
        'SUBNET_FULL',
        `network ${key}: no free address left in ${ipRange ?? formatCidr(subnet)} for service ${name} (${owner.size - 1} in use)`,
        'give the network a larger ipam.config subnet (or ip_range), or move services to another network',
      );
    }
    owner.set(next, name);
    result.set(name, next);
  }
  return Object.fromEntries(members.map((name) => [name, formatIpv4(result.get(name)!)]));
}

function dynamicRange(key: string, subnet: Cidr, ipRange: string | undefined): { first: number; last: number } {
  const hosts = hostRange(subnet);
  if (ipRange === undefined) return hosts;
  const range = parseCidr(ipRange);
  if (range === undefined || !contains(subnet, range.network) || range.length < subnet.length) {
    throw new UserError(
      'IP_RANGE_OUTSIDE_SUBNET',
      `network ${key}: ip_range ${ipRange} is not inside ${formatCidr(subnet)}`,
    );
  }
  return {
    first: Math.max(hosts.first, range.network),
    last: Math.min(hosts.last, range.network + size(range) - 1),
  };
}

/** The network's IPv4 `ipam.config` entry (IPv6 entries are not handled yet and are skipped). */
function ipv4Config(network: IpamNetworkSpec): IpamConfig | undefined {
  return network.ipam.find((c) => !c.subnet?.includes(':'));
}
