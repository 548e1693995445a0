// From the normalized Project and its IPAM record to the forwarder's listeners: one per network
// stack manages, on its gateway, answering the names of that network's services; an internal
// network's listener relays nothing. Pure.
import type { IpamRecord } from '../ipam.js';
import { type NamedProject, nameTable } from '../peers.js';
import type { DnsListener } from './forwarder.js';
import type { Upstream } from './upstream.js';

/** The listeners of a project's forwarder; call again and setNames() when addresses change. */
export function dnsListeners(
  project: NamedProject & { readonly networks: Readonly<Record<string, { readonly internal: boolean }>> },
  ipam: IpamRecord,
  /** The project's stored allocation (network/ipam-store.ts), whose networks name the guests other projects attached since (external.ts). */
  stored?: IpamRecord,
): DnsListener[] {
  return Object.keys(ipam.networks)
    // An external network's gateway is its owner's (another project's forwarder, or the host's bridge).
    .filter((network) => ipam.networks[network]!.bridge === undefined)
    .sort()
    .map((network) => {
      const upstreamsOf = serviceUpstreams(project, ipam, network);
      const aliasesOf = linkAliases(project, ipam, network);
      return {
        address: ipam.networks[network]!.gateway,
        names: withGuests(nameTable(project, ipam, network), stored?.networks[network]?.guests),
        forward: !project.networks[network]?.internal,
        ...(upstreamsOf.size > 0 && { upstreamsOf }),
        ...(aliasesOf.size > 0 && { aliasesOf }),
      };
    });
}

/**
 * The names of another project's services attached to this network (`<project>/<service>` →
 * address), as Docker's DNS answers every container of a network: the service's name (beside any
 * of this project's with that name) and its container name `<project>-<service>-1`.
 */
function withGuests(table: Map<string, string[]>, guests: Readonly<Record<string, { readonly address: string }>> | undefined): Map<string, string[]> {
  for (const [key, guest] of Object.entries(guests ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const slash = key.indexOf('/');
    if (slash <= 0) continue;
    const [project, service] = [key.slice(0, slash), key.slice(slash + 1)];
    for (const name of [service, `${project}-${service}-1`]) {
      const list = table.get(name.toLowerCase()) ?? [];
      if (!list.includes(guest.address)) list.push(guest.address);
      table.set(name.toLowerCase(), list);
    }
  }
  return table;
}

/** Address on `network` → the `links` aliases of that service (alias → the linked service's address there). */
function linkAliases(project: NamedProject, ipam: IpamRecord, network: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  const addresses = ipam.networks[network]?.addresses ?? {};
  for (const [service, address] of Object.entries(addresses)) {
    const table = new Map<string, string[]>();
    for (const link of project.services[service]?.links ?? []) {
      const target = addresses[link.service];
      if (target !== undefined) table.set(link.alias.toLowerCase(), [target]);
    }
    if (table.size > 0) out.set(address, table);
  }
  return out;
}

/** Address on `network` → that service's own resolvers (`dns:`), for the services that have some. */
function serviceUpstreams(project: NamedProject, ipam: IpamRecord, network: string): Map<string, Upstream[]> {
  const out = new Map<string, Upstream[]>();
  for (const [service, address] of Object.entries(ipam.networks[network]?.addresses ?? {})) {
    const dns = project.services[service]?.dns;
    if (dns !== undefined && dns.length > 0) out.set(address, dns.map((a) => ({ address: a })));
  }
  return out;
}
