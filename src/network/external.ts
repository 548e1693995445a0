// External networks (`external: true`): a project's services plugged into a network it did not
// make — a network of another stack project on this host, found by its name, whose addresses
// come from that project's own allocation (its ipam.json, changed under its project lock, so two
// projects never take one address: the owner records them as guests and its own allocator keeps
// off them) — or else a bridge of the host the user names, where every service gives its
// `ipv4_address`. Nothing external is ever created or removed here; a guest's address is given
// back when its veth goes.
import { UserError } from '../errors.js';
import { vethHostName } from '../names.js';
import type { Network, Project } from '../spec/project.js';
import { acquireProjectLock } from '../state/lock.js';
import { listProjects } from '../state/observe.js';
import type { StateRoots } from '../state/paths.js';
import { networkRecords } from '../state/records.js';
import { readSnapshot } from '../state/snapshot.js';
import { contains, formatCidr, formatIpv4, hostRange, parseCidr, parseIpv4 } from './cidr.js';
import type { ExternalGuest, IpamRecord, NetworkAllocation } from './ipam.js';
import { ipamRecordPath, jsonFileStore } from './ipam-store.js';

/** How long to wait for the owning project's lock (its own `up` or `down` running). */
const OWNER_LOCK_TIMEOUT_MS = 30_000;

/** Where an external network lives: a network of another stack project. */
export interface ExternalOwner {
  readonly project: string;
  readonly network: string;
  readonly bridge: string;
}

/** The stack project (other than `self`) with a network of its own named `name`, with its bridge; undefined when none. */
export async function findOwner(roots: StateRoots, self: string, name: string): Promise<ExternalOwner | undefined> {
  for (const project of await listProjects(roots)) {
    if (project === self) continue;
    const snapshot = await readSnapshot(roots, project);
    for (const network of Object.values(snapshot?.project.networks ?? {})) {
      if (network.external || network.name !== name) continue;
      const record = await networkRecords.read(roots, project, network.key).catch(() => undefined);
      if (record) return { project, network: network.key, bridge: record.bridge };
    }
  }
  return undefined;
}

/** Runs `work` holding the owner project's lock (its allocation changes only under it). */
async function underOwnerLock<T>(roots: StateRoots, owner: string, self: string, work: () => Promise<T>): Promise<T> {
  const lock = await acquireProjectLock(roots, owner, {
    command: `stack (project ${self}: attaching to an external network)`,
    signal: AbortSignal.timeout(OWNER_LOCK_TIMEOUT_MS),
  }).catch((e: unknown) => {
    if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
      throw new UserError('OWNER_LOCKED', `project ${owner}, which owns an external network of project ${self}, stayed locked for ${OWNER_LOCK_TIMEOUT_MS / 1000}s`, `let the command running in project ${owner} finish, then run this one again`);
    }
    throw e;
  });
  try {
    return await work();
  } finally {
    await lock.release();
  }
}

const guestKey = (project: string, service: string): string => `${project}/${service}`;

/**
 * The addresses of `members` on external network `network` of `project` (their pins first, then
 * the ones they had, then the first free ones), recorded as guests in the owner's allocation; a
 * member gone from the spec gives its address back.
 */
export async function allocateExternal(roots: StateRoots, project: Project, network: Network, members: readonly string[]): Promise<NetworkAllocation> {
  const owner = await findOwner(roots, project.name, network.name);
  if (!owner) return await hostBridgeAllocation(project, network, members);
  return underOwnerLock(roots, owner.project, project.name, async () => {
    const store = jsonFileStore(ipamRecordPath(roots, owner.project));
    const record = await store.read();
    const alloc = record?.networks[owner.network];
    if (!record || !alloc) {
      throw new UserError('EXTERNAL_NETWORK_DOWN', `network ${network.name} of project ${owner.project} has no addresses allocated`, `run \`stack up\` in project ${owner.project} first`);
    }
    const subnet = parseCidr(alloc.subnet)!;
    const { first, last } = hostRange(subnet);
    const taken = new Map<number, string>([[parseIpv4(alloc.gateway)!, 'the gateway']]);
    for (const [service, address] of Object.entries(alloc.addresses)) taken.set(parseIpv4(address)!, `service ${service} of project ${owner.project}`);
    const guests: Record<string, ExternalGuest> = {};
    const projects = new Set(await listProjects(roots));
    for (const [key, g] of Object.entries(alloc.guests ?? {})) {
      if (key.startsWith(`${project.name}/`)) continue; // this project's are chosen again below
      if (!projects.has(key.split('/')[0]!)) continue; // a project with no state left (`stack gc`): its address is free
      guests[key] = g;
      taken.set(parseIpv4(g.address)!, `service ${key}`);
    }
    const mine: Record<string, number> = {};
    for (const service of members) {
      const pinned = project.services[service]?.networks[network.key]?.ipv4Address;
      if (pinned === undefined) continue;
      const address = parseIpv4(pinned);
      if (address === undefined || address < first || address > last) {
        throw new UserError('ADDRESS_OUTSIDE_SUBNET', `service ${service}: ipv4_address ${pinned} is not a host address of network ${network.name} (${alloc.subnet})`, `use an address between ${formatIpv4(first)} and ${formatIpv4(last)}`);
      }
      const holder = taken.get(address);
      if (holder !== undefined) {
        throw new UserError('ADDRESS_TAKEN', `service ${service}: ipv4_address ${pinned} on network ${network.name} is already taken by ${holder}`, 'give each service its own address, or leave ipv4_address out');
      }
      taken.set(address, `service ${guestKey(project.name, service)}`);
      mine[service] = address;
    }
    for (const service of members) {
      if (mine[service] !== undefined) continue;
      const before = parseIpv4(alloc.guests?.[guestKey(project.name, service)]?.address ?? '');
      let address = before !== undefined && before >= first && before <= last && !taken.has(before) ? before : undefined;
      for (let a = first; address === undefined && a <= last; a++) if (!taken.has(a)) address = a;
      if (address === undefined) {
        throw new UserError('SUBNET_FULL', `network ${network.name} of project ${owner.project}: no free address left in ${alloc.subnet} for service ${service}`, `give that network a larger subnet in project ${owner.project}`);
      }
      taken.set(address, `service ${guestKey(project.name, service)}`);
      mine[service] = address;
    }
    for (const service of members) guests[guestKey(project.name, service)] = { address: formatIpv4(mine[service]!), link: vethHostName(project.name, service, network.key) };
    const sortedGuests = Object.fromEntries(Object.entries(guests).sort(([a], [b]) => (a < b ? -1 : 1)));
    const { guests: _old, ...rest } = alloc;
    const next: NetworkAllocation = { ...rest, ...(Object.keys(sortedGuests).length > 0 && { guests: sortedGuests }) };
    if (JSON.stringify(next) !== JSON.stringify(alloc)) await store.write({ ...record, networks: { ...record.networks, [owner.network]: next } });
    return {
      subnet: alloc.subnet,
      gateway: alloc.gateway,
      addresses: Object.fromEntries(members.map((s) => [s, formatIpv4(mine[s]!)])),
      bridge: owner.bridge,
      owner: { project: owner.project, network: owner.network },
    };
  });
}

/** A host bridge named as an external network: its subnet from its address; each member's ipv4_address is required. */
async function hostBridgeAllocation(project: Project, network: Network, members: readonly string[]): Promise<NetworkAllocation> {
  // A link name is at most 15 bytes (IFNAMSIZ): a longer one names no bridge.
  const found = Buffer.byteLength(network.name) > 15 || network.name.includes('/') ? undefined : (await import('./host-view.js')).hostLink(network.name);
  if (!found) {
    throw new UserError(
      'EXTERNAL_NETWORK_MISSING',
      `network ${network.key}: no stack project on this host has a network named ${network.name}, and the host has no bridge of that name`,
      `run \`stack up\` in the project that defines ${network.name} first (external networks are not created), or name an existing bridge`,
    );
  }
  if (found.kind !== 'bridge') {
    throw new UserError('EXTERNAL_NOT_A_BRIDGE', `network ${network.key}: the host's link ${network.name} is a ${found.kind ?? 'link'}, not a bridge`, 'name a bridge (`ip -d link show type bridge`), or a network of another stack project');
  }
  const own = found.addresses[0];
  if (own === undefined) {
    throw new UserError('EXTERNAL_BRIDGE_NO_ADDRESS', `network ${network.key}: bridge ${network.name} has no IPv4 address, so its subnet is unknown`, `give it one (\`ip addr add 10.x.y.1/24 dev ${network.name}\`)`);
  }
  const subnet = parseCidr(own)!;
  const gateway = own.split('/')[0]!;
  const addresses: Record<string, string> = {};
  for (const service of members) {
    const pinned = project.services[service]?.networks[network.key]?.ipv4Address;
    if (pinned === undefined) {
      throw new UserError('EXTERNAL_ADDRESS_REQUIRED', `service ${service}: network ${network.key} is the host's bridge ${network.name}, which stack allocates no addresses on`, `give the service an address: networks: {${network.key}: {ipv4_address: ...}} inside ${formatCidr(subnet)}`);
    }
    const address = parseIpv4(pinned);
    if (address === undefined || !contains(subnet, address) || pinned === gateway) {
      throw new UserError('ADDRESS_OUTSIDE_SUBNET', `service ${service}: ipv4_address ${pinned} is not a free host address of bridge ${network.name} (${formatCidr(subnet)}, ${gateway} is the bridge's own)`);
    }
    addresses[service] = pinned;
  }
  return { subnet: formatCidr(subnet), gateway, addresses, bridge: network.name };
}

/** The project's external networks that its services join, with those services. */
export function externalMembers(project: Project): [Network, string[]][] {
  return Object.values(project.networks)
    .filter((n) => n.external)
    .map((n): [Network, string[]] => [n, Object.keys(project.services).filter((s) => project.services[s]!.networks[n.key] !== undefined).sort()])
    .filter(([, members]) => members.length > 0);
}

/** Gives `service`'s address on an external network back to its owner (detach-veth); nothing when there is no owner any more. */
export async function releaseExternal(roots: StateRoots, project: string, service: string, owner: { readonly project: string; readonly network: string }): Promise<void> {
  const store = jsonFileStore(ipamRecordPath(roots, owner.project));
  if ((await store.read().catch(() => undefined))?.networks[owner.network]?.guests?.[guestKey(project, service)] === undefined) return;
  await underOwnerLock(roots, owner.project, project, async () => {
    const record = await store.read();
    const alloc = record?.networks[owner.network];
    if (!record || !alloc?.guests?.[guestKey(project, service)]) return;
    const { [guestKey(project, service)]: _gone, ...guests } = alloc.guests;
    const { guests: _old, ...rest } = alloc;
    const next: NetworkAllocation = { ...rest, ...(Object.keys(guests).length > 0 && { guests }) };
    await store.write({ ...record, networks: { ...record.networks, [owner.network]: next } });
  });
}

/** The guests of `network` in `record` whose veth is still plugged into `bridge` (a `down` keeps such a network). */
export async function attachedGuests(record: IpamRecord | undefined, network: string, bridge: string): Promise<string[]> {
  const guests = record?.networks[network]?.guests ?? {};
  if (Object.keys(guests).length === 0) return [];
  const view = await import('./host-view.js');
  return view.pluggedInto(bridge, Object.entries(guests).map(([key, g]) => [key, g.link] as const));
}
