// The project's addresses for this run: allocated before the walk (attach-veth and the name
// files need them) from the spec, the previous record (addresses stay stable across `up`) and
// the prefixes the host already uses (its addresses and routes, other projects' bridges
// included, this project's own left out). Stored in the project's run folder.
import type { IpamRecord } from '../network/ipam.js';
import { allocateExternal, externalMembers } from '../network/external.js';
import { allocateStored, ipamRecordPath, jsonFileStore, type IpamStore } from '../network/ipam-store.js';
import { bridgeName } from '../names.js';
import type { Project } from '../spec/project.js';
import type { StateRoots } from '../state/paths.js';

/** Where a project's allocation is kept between runs. */
export function ipamStore(roots: StateRoots, project: string): IpamStore & { readonly path: string } {
  const path = ipamRecordPath(roots, project);
  return { ...jsonFileStore(path), path };
}

/**
 * The prefixes in use on the host, without those of `project`'s own bridges. The netlink layer
 * is loaded here, when an allocation is made, not by every `up` (a no-op keeps its record).
 */
export async function hostPrefixes(project: Project): Promise<string[]> {
  const view = await import('../network/host-view.js');
  return view.hostPrefixes(new Set(Object.keys(project.networks).map((k) => bridgeName(project.name, k))));
}

/**
 * The stored allocation when it is exactly what allocateProject would keep for `project` (every
 * network and member address there, pinned ones equal, nothing more): a plan that only stops
 * and starts processes changes no address, so it is used as is, without the host's prefixes
 * (two netlink dumps) or a write. Undefined when anything differs or nothing is stored.
 */
export async function keptAllocation(project: Project, store: IpamStore): Promise<IpamRecord | undefined> {
  const keys = Object.keys(project.networks).filter((k) => !project.networks[k]?.external);
  if (keys.length === 0) return undefined;
  const record = await store.read();
  if (!record || Object.keys(record.networks).filter((k) => !project.networks[k]?.external).length !== keys.length) return undefined;
  // An external network's entry (its addresses from its owner) holds every member, and no other.
  for (const [network, members] of externalMembers(project)) {
    const kept = record.networks[network.key];
    if (!kept || Object.keys(kept.addresses).sort().join() !== members.join()) return undefined;
  }
  for (const key of keys) {
    const kept = record.networks[key];
    if (!kept) return undefined;
    const members = Object.keys(project.services).filter((s) => project.services[s]?.networks[key] !== undefined);
    if (Object.keys(kept.addresses).length !== members.length) return undefined;
    for (const s of members) {
      const address = kept.addresses[s];
      const pinned = project.services[s]?.networks[key]?.ipv4Address;
      if (address === undefined || (pinned !== undefined && pinned !== address)) return undefined;
    }
  }
  return record;
}

/**
 * Allocates (or keeps) the project's subnets and addresses and stores them; `reserved` is asked
 * only when there are networks. An external network its services join gets its addresses from
 * its owner (network/external.ts: another project's allocation, or the user's pins on a host
 * bridge), `roots` saying where the other projects are.
 */
export async function allocateProject(
  project: Project,
  store: IpamStore,
  reserved: () => readonly string[] | Promise<readonly string[]>,
  roots?: StateRoots,
): Promise<IpamRecord> {
  if (Object.keys(project.networks).length === 0) return { version: 1, networks: {} };
  const own = await allocateStored(store, { networks: project.networks, services: project.services, reserved: await reserved() });
  const externals = roots === undefined ? [] : externalMembers(project);
  if (externals.length === 0) return own;
  const networks = { ...own.networks };
  for (const [network, members] of externals) networks[network.key] = await allocateExternal(roots!, project, network, members);
  const record: IpamRecord = { version: 1, networks: Object.fromEntries(Object.entries(networks).sort(([a], [b]) => (a < b ? -1 : 1))) };
  await store.write(record);
  return record;
}
