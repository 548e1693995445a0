// What a project's supervisor listens on, from the same inputs it reconciles (its snapshot, the
// service records, the stored allocation): the published ports of the services that run, and a
// DNS listener on each network's gateway. Shared by the supervisor's reconcile and by the
// `stack` that binds a new supervisor's sockets for it (activation.ts), so both name the same.
import type { ServiceRecord } from '../state/records.js';
import type { ProjectSnapshot } from '../state/snapshot.js';
import type { IpamRecord } from '../network/ipam.js';
// From their own modules, not the folders' indexes: the CLI's socket activation (activation.ts)
// reads what is wanted, and the indexes load the forwarders (node:dgram, the DNS codec) that
// only the supervisor runs.
import { dnsListeners } from '../network/dns/listeners.js';
import type { DnsListener } from '../network/dns/forwarder.js';
import { publishedPorts } from '../network/portfwd/published.js';
import type { PublishedPort } from '../network/portfwd/types.js';

/** The ports and DNS listeners the supervisor of `snapshot` keeps open. */
export function wantedListeners(
  snapshot: ProjectSnapshot,
  records: readonly ServiceRecord[],
  stored: IpamRecord | undefined,
): { ports: PublishedPort[]; dns: DnsListener[] } {
  const published = Object.fromEntries(
    records.filter((r) => r.process !== null && snapshot.project.services[r.service]).map((r) => [r.service, snapshot.project.services[r.service]!]),
  );
  return { ports: publishedPorts(published, snapshot.ipam), dns: dnsListeners(snapshot.project, snapshot.ipam, stored) };
}
