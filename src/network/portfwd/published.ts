// From the normalized Project and its IPAM record to the forwarder's input: each `ports:` entry
// of each service, aimed at the service's address on its first network (eth0). Pure.
import type { PortMapping } from '../../spec/project.js';
import type { IpamRecord } from '../ipam.js';
import { orderedNetworks } from '../peers.js';
import type { PublishedPort } from './types.js';

/** What this reads of a service (Project's Service fits). */
export interface PublishingService {
  readonly ports: readonly PortMapping[];
  readonly networks: Readonly<Record<string, { readonly priority: number }>>;
}

/** Every published port of a project, in service order; services with no address are skipped. */
export function publishedPorts(
  services: Readonly<Record<string, PublishingService>>,
  ipam: IpamRecord,
): PublishedPort[] {
  const result: PublishedPort[] = [];
  for (const name of Object.keys(services).sort()) {
    const service = services[name]!;
    const first = orderedNetworks(service)[0];
    const targetIp = first === undefined ? undefined : ipam.networks[first]?.addresses[name];
    if (targetIp === undefined) continue;
    for (const p of service.ports) {
      result.push({
        service: name,
        hostIp: p.hostIp,
        hostPort: p.hostPort,
        protocol: p.protocol,
        targetIp,
        targetPort: p.containerPort,
      });
    }
  }
  return result;
}
