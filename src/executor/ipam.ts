// The project's addresses for this run: allocated before the walk (attach-veth and the name
// files need them) from the spec, the previous record (addresses stay stable across `up`) and
// the prefixes the host already uses (its addresses and routes, other projects' bridges
// included, this project's own left out). Stored in the project's run folder.
import { join } from 'node:path';
import { addrList } from '../network/addr.js';
import { withHandle } from '../network/handle.js';
import { reservedPrefixes, type IpamRecord } from '../network/ipam.js';
import { allocateStored, jsonFileStore, type IpamStore } from '../network/ipam-store.js';
import { linkList } from '../network/link.js';
import { AF_INET } from '../network/nl/index.js';
import { routeList } from '../network/route.js';
import { bridgeName } from '../names.js';
import type { Project } from '../spec/project.js';
import { projectRunDir, type StateRoots } from '../state/paths.js';

/** Where a project's allocation is kept between runs. */
export function ipamStore(roots: StateRoots, project: string): IpamStore & { readonly path: string } {
  const path = join(projectRunDir(roots, project), 'ipam.json');
  return { ...jsonFileStore(path), path };
}

/** The prefixes in use on the host, without those of `project`'s own bridges. */
export function hostPrefixes(project: Project): string[] {
  return withHandle(undefined, (h) => {
    const own = new Set(Object.keys(project.networks).map((k) => bridgeName(project.name, k)));
    const ownIndexes = new Set(linkList(h).filter((l) => own.has(l.name)).map((l) => l.index));
    return reservedPrefixes(addrList(h, undefined, AF_INET), routeList(h, AF_INET), ownIndexes);
  });
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
  if (!record || Object.keys(record.networks).length !== keys.length) return undefined;
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

/** Allocates (or keeps) the project's subnets and addresses and stores them; `reserved` is asked only when there are networks. */
export async function allocateProject(project: Project, store: IpamStore, reserved: () => readonly string[]): Promise<IpamRecord> {
  if (Object.keys(project.networks).length === 0) return { version: 1, networks: {} };
  return allocateStored(store, { networks: project.networks, services: project.services, reserved: reserved() });
}
