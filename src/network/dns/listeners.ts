// From the normalized Project and its IPAM record to the forwarder's listeners: one per network
// stack manages, on its gateway, answering the names of that network's services; an internal
// network's listener relays nothing. Pure.
import type { IpamRecord } from '../ipam.js';
import { type NamedProject, nameTable } from '../peers.js';
import type { DnsListener } from './forwarder.js';

/** The listeners of a project's forwarder; call again and setNames() when addresses change. */
export function dnsListeners(
  project: NamedProject & { readonly networks: Readonly<Record<string, { readonly internal: boolean }>> },
  ipam: IpamRecord,
): DnsListener[] {
  return Object.keys(ipam.networks)
    .sort()
    .map((network) => ({
      address: ipam.networks[network]!.gateway,
      names: nameTable(project, ipam, network),
      forward: !project.networks[network]?.internal,
    }));
}
