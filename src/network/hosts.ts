// The files that give a service its names (docs/architecture.md "A service's view of the machine"):
// /etc/hosts with itself, every peer on a shared network (by service name, container_name and
// alias) and extra_hosts; /etc/hostname; /etc/resolv.conf pointing at the DNS forwarder on the
// gateway of its networks. Pure: the executor writes the text and rewrites it when peers move.
import { UserError } from '../errors.js';
import type { IpamRecord } from './ipam.js';
import { type NamedProject, namesOn, netnsOwnerOf, orderedNetworks } from './peers.js';

const LOCAL_LINES = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::\tip6-localnet',
  'ff00::\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/** The literal in `extra_hosts` that stands for the gateway of the service's first network. */
export const HOST_GATEWAY = 'host-gateway';

/** /etc/hosts of one service. Each name appears once: the first line that claims it wins. */
export function hostsFile(project: NamedProject, ipam: IpamRecord, service: string, hostHosts = ''): string {
  const self = project.services[service];
  if (!self) throw new Error(`hostsFile: no service ${service}`);
  // network_mode: host: the host's /etc/hosts (`hostHosts`) and its extra_hosts, as Docker writes it.
  if (self.networkMode?.kind === 'host') return hostModeHosts(service, self, hostHosts);
  // network_mode: service:NAME: the addresses and peers of the service that owns the netns.
  const owner = netnsOwnerOf(project, service);
  const networks = orderedNetworks(project.services[owner] ?? self);
  const lines = [
    `# /etc/hosts of service ${service}, written by stack (rewritten when a peer's address changes)`,
    ...LOCAL_LINES,
  ];
  for (const extra of self.extraHosts) {
    const ip = extra.ip === HOST_GATEWAY ? gatewayOf(ipam, service, networks[0]) : extra.ip;
    lines.push(`${ip}\t${extra.host}`);
  }
  // The name of a scaled service is left to the DNS forwarder, which answers every replica's address
  // (a hosts line would pin one); each replica's own names stay, and replica 1's hostname (the
  // service's name) names itself in its own file, as a container's hostname does.
  const scaled = new Set<string>(Object.values(project.services).flatMap((s) => (s.replica ? [s.replica.of.toLowerCase()] : [])));
  const seen = new Set<string>();
  const line = (ip: string | undefined, names: readonly string[]): void => {
    // Once per line too: a hostname that is the service's name (the default) is not written twice.
    const fresh = names.filter((n, i) => !seen.has(n.toLowerCase()) && names.findIndex((m) => m.toLowerCase() === n.toLowerCase()) === i);
    if (ip === undefined || fresh.length === 0) return;
    for (const n of fresh) seen.add(n.toLowerCase());
    lines.push(`${ip}\t${fresh.join(' ')}`);
  };
  const first = networks[0];
  if (first !== undefined)
    line(ipam.networks[first]?.addresses[owner], [self.hostname, ...namesOn(project, owner, first).filter((n) => !scaled.has(n.toLowerCase()))]);
  for (const n of scaled) seen.add(n);
  // `links`: this service's own names for others, before the peers' names (the link wins, as Docker's).
  for (const link of self.links ?? []) {
    const network = networks.find((n) => ipam.networks[n]?.addresses[link.service] !== undefined);
    if (network !== undefined) line(ipam.networks[network]!.addresses[link.service], [link.alias]);
  }
  for (const network of networks) {
    const addresses = ipam.networks[network]?.addresses ?? {};
    for (const peer of Object.keys(addresses).sort()) {
      if (peer !== owner) line(addresses[peer], namesOn(project, peer, network));
    }
  }
  return `${lines.join('\n')}\n`;
}

/** /etc/hostname of one service. */
export function hostnameFile(project: NamedProject, service: string): string {
  const self = project.services[service];
  if (!self) throw new Error(`hostnameFile: no service ${service}`);
  return `${self.hostname}\n`;
}

/**
 * /etc/resolv.conf of one service: the DNS forwarders on the gateways of its networks (at most
 * three, the resolver's limit), first network first, which relay what they do not answer to the
 * service's `dns:` servers (else the host's); a service on no network of stack's has its `dns:`
 * servers themselves. Its `dns_search:` replaces the host's search domains, kept otherwise; its
 * `dns_opt:` is the options line.
 */
export function resolvConf(
  project: NamedProject,
  ipam: IpamRecord,
  service: string,
  host: { search?: readonly string[]; resolvConf?: string } = {},
): string {
  const self = project.services[service];
  if (!self) throw new Error(`resolvConf: no service ${service}`);
  // network_mode: host: the host's resolver configuration, as Docker copies it.
  if (self.networkMode?.kind === 'host' && host.resolvConf !== undefined) return host.resolvConf;
  const gateways = orderedNetworks(project.services[netnsOwnerOf(project, service)] ?? self)
    .map((n) => ipam.networks[n]?.gateway)
    .filter((g): g is string => g !== undefined);
  const lines = [
    '# written by stack: the forwarder on the network gateway answers service names and forwards the rest',
  ];
  const nameservers = gateways.length > 0 ? [...new Set(gateways)] : [...(self.dns ?? [])];
  for (const server of nameservers.slice(0, 3)) lines.push(`nameserver ${server}`);
  const search = self.dnsSearch ?? host.search;
  if (search?.length && !(search.length === 1 && search[0] === '.')) lines.push(`search ${search.join(' ')}`);
  if (self.dnsOpt?.length) lines.push(`options ${self.dnsOpt.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** /etc/hosts under `network_mode: host`: the host's lines, then the service's extra_hosts (host-gateway is the host itself). */
function hostModeHosts(service: string, self: NamedProject['services'][string], hostHosts: string): string {
  const lines = [`# /etc/hosts of service ${service} (network_mode: host), written by stack from the host's`, hostHosts.trimEnd()];
  for (const extra of self.extraHosts) lines.push(`${extra.ip === HOST_GATEWAY ? '127.0.0.1' : extra.ip}\t${extra.host}`);
  return `${lines.join('\n')}\n`;
}

function gatewayOf(ipam: IpamRecord, service: string, network: string | undefined): string {
  const gateway = network === undefined ? undefined : ipam.networks[network]?.gateway;
  if (gateway === undefined) {
    throw new UserError(
      'HOST_GATEWAY_UNKNOWN',
      `service ${service}: extra_hosts uses host-gateway, but its first network has no gateway stack manages`,
      "put a network of this project first in the service's networks, or write the address instead of host-gateway",
    );
  }
  return gateway;
}
