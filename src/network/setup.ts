// Setup and teardown of a project's network (podman's containers/common shape): the executor
// sees one narrow driver with a method per plan operation, each idempotent; whole-project
// setup and teardown are built from the same methods. One bridge per network, one veth pair
// per (service, network) whose peer is made directly in the service's netns as eth0, eth1, ...
// Firewall rules, DNS and /etc/hosts are other modules' work.
import { sha256Hex } from '../sys/lazy-crypto.js';
import { mark } from '../trace.js';
import { AggregateStackError, KernelError, UserError } from '../errors.js';
import { bridgeName, netnsName, vethHostName, vethPeerName } from '../names.js';
import { addrAdd } from './addr.js';
import { handleHere, openHandle, withHandle, type Handle } from './handle.js';
import { openPingGroupRange, openPingGroupRangeHere } from './ping-group.js';
import type { IpamRecord, NetworkAllocation } from './ipam.js';
import { linkAddBridge, linkAddVeth, linkDel, linkDelGroup, linkDelMany, linkDelOffThread, linkGet, linkIndex, linkList, linkSetMtu, linkSetUp } from './link.js';
import { netnsAdd, netnsDelete } from './netns.js';
import { routeAddDefault } from './route.js';

/** What setup reads of one service's network entry: its place in the eth0, eth1, ... order. */
export interface ServiceAttachment {
  readonly priority: number;
}

/** What network setup reads of a project (the normalized Project fits, plus its IPAM record). */
export interface ProjectNetworkSpec {
  readonly project: string;
  readonly networks: Readonly<Record<string, { readonly internal: boolean; readonly external: boolean }>>;
  readonly services: Readonly<Record<string, { readonly networks: Readonly<Record<string, ServiceAttachment>> }>>;
  readonly ipam: IpamRecord;
}

/** One veth to attach: the plan's attach-veth operation with the addresses IPAM chose. */
export interface AttachRequest {
  readonly project: string;
  readonly service: string;
  readonly network: string;
  /** The peer is `eth<index>` inside the service's netns. */
  readonly index: number;
  /** The service's address with the subnet's prefix: `10.209.0.2/24`. */
  readonly address: string;
  /** Set on the attachment that carries the default route: the network's gateway. */
  readonly defaultGateway?: string;
  /** An external network's bridge (another project's, or the host's); else the project's own. */
  readonly bridge?: string;
  /** Both ends' MTU: the network's (driver_opts); absent: the kernel's default. */
  readonly mtu?: number;
}

/** The narrow interface the executor drives: one idempotent method per plan operation. */
export interface NetworkDriver {
  /** Bridge `stkb…` up with the gateway address, and the network's MTU when it has one (create-network). */
  createNetwork(project: string, network: string, allocation: NetworkAllocation, mtu?: number): void;
  /** Deletes the bridge, by the name its record holds when given; gone is success (remove-network). */
  removeNetwork(project: string, network: string, recorded?: string): Promise<void>;
  /** The service's netns `stk-<project>.<service>` (src/names.ts) with `lo` up and its ping range open (create-netns). */
  createNetns(project: string, service: string): void;
  /** Deletes the netns, by the name its record holds when given; gone is success (remove-netns). */
  removeNetns(project: string, service: string, recorded?: string): void;
  /** The veth pair, address, and default route when asked (attach-veth). */
  attachVeth(request: AttachRequest): void;
  /** Deletes the host side (by its recorded name when given), which takes the peer with it; gone is success (detach-veth). */
  detachVeth(project: string, service: string, network: string, recorded?: string): void;
  /**
   * Deletes these host sides (veth names) in one kernel request; gone is success (detach-veth,
   * batched). Deleted as their device group when it holds exactly them (link.ts linkDelMany).
   */
  detachVeths(hostNames: readonly string[]): Promise<void>;
  /** Closes the host namespace's netlink socket and the handles kept in the namespaces it made. */
  close(): void;
}

/**
 * The device group every link of a project is created in, so teardown deletes them all in
 * one request (the kernel then pays its RCU grace period once, not ~30 ms per link).
 * Derived from the project name; never 0, the default group of every other link.
 */
export function projectLinkGroup(project: string): number {
  let group = linkGroups.get(project);
  if (group === undefined) {
    const n = Number.parseInt(sha256Hex(`stack-link-group\0${project}`).slice(0, 8), 16);
    linkGroups.set(project, (group = (n % 0x7ffffffe) + 1));
  }
  return group;
}

/** projectLinkGroup's answers: a sha256 for every veth of an `up` of 20 was ~1.8 ms of a profile. */
const linkGroups = new Map<string, number>();

/**
 * The alias stamped on each link a project makes (`stack:<project>/<network>` for a bridge,
 * `stack:<project>/<network>/<service>` for a veth), so `ip link` and `stack gc` can tell whose
 * a hashed name is.
 */
export function ownerAlias(project: string, network: string, service?: string): string {
  return `stack:${project}/${network}${service === undefined ? '' : `/${service}`}`;
}

/** The owner an alias names, or undefined for a link stack did not stamp. */
export function parseOwnerAlias(alias: string | undefined): LinkOwner | undefined {
  const m = /^stack:([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(alias ?? '');
  if (!m) return undefined;
  return { project: m[1]!, network: m[2]!, ...(m[3] !== undefined ? { service: m[3] } : {}) };
}

/** Whose a link is, as its alias says. */
export interface LinkOwner {
  readonly project: string;
  readonly network: string;
  /** Set for a veth's host side. */
  readonly service?: string;
}

/**
 * Opens a driver acting from the host: the namespace the process runs in, or `hostNetns`, a
 * named netns that plays the host (tests, benchmarks).
 */
export function openNetworkDriver(hostNetns?: string): NetworkDriver {
  const host = openHandle(hostNetns);
  // The handles opened in the namespaces this driver made, kept for their veths' peers until
  // the namespace is removed or the driver closed.
  const netnsHandles = new Map<string, Handle>();
  // The bridges' indexes, looked up once for all the veths a run plugs into each (IFLA_MASTER
  // takes an index); forgotten when the driver deletes links. A bridge deleted and made again
  // elsewhere meanwhile is found by the creation's EINVAL (attachVeth).
  const bridgeIndexes = new Map<string, number>();
  const bridgeIndex = (name: string, veth: string): number => {
    const index = linkIndex(host, name, `RTM_NEWLINK ${veth} master ${name}${host.where}`);
    bridgeIndexes.set(name, index);
    return index;
  };
  return {
    createNetwork(project, network, allocation, mtu) {
      const bridge = bridgeName(project, network);
      const prefix = allocation.subnet.split('/')[1] ?? '32';
      const opts = { up: true, group: projectLinkGroup(project), alias: ownerAlias(project, network) };
      refuseForeign(host, bridge, opts.alias);
      ignore('EEXIST', () => linkAddBridge(host, bridge, opts));
      // Set on the bridge once made, not in the request that makes it: the kernel keeps a bridge's
      // MTU as the user's (and not its smallest port's, 1500 once it has none) only when a change
      // sets it (br_change_mtu), and a value equal to the one given at creation changes nothing.
      // A bridge kept for other projects' guests (EEXIST) takes the new one too.
      if (mtu !== undefined) linkSetMtu(host, bridge, mtu);
      linkSetUp(host, bridge);
      ignore('EEXIST', () => addrAdd(host, bridge, `${allocation.gateway}/${prefix}`));
    },
    async removeNetwork(project, network, recorded) {
      // Off this thread: the bridge's unregistering waits ~60 ms in the kernel, while the
      // services' namespaces and cgroups are removed here.
      const name = recorded ?? bridgeName(project, network);
      bridgeIndexes.delete(name);
      await linkDelOffThread(host, name);
    },
    createNetns(project, service) {
      const name = netnsName(project, service);
      let h: Handle;
      let found = false; // made before: its ping range is opened from here
      try {
        h = makeNetns(name);
        mark('netns: added');
      } catch (e) {
        if (!(e instanceof KernelError && e.errno === 'EEXIST')) throw e;
        const existing = tryOpenHandle(name);
        found = existing !== undefined;
        if (existing === undefined) netnsDelete(name); // a half-made one: its file is there, no namespace mounted on it
        h = existing ?? makeNetns(name);
      }
      try {
        if (found) openPingGroupRange(name);
        linkSetUp(h, 'lo');
      } catch (e) {
        h.close();
        throw e;
      }
      netnsHandles.get(name)?.close();
      netnsHandles.set(name, h);
    },
    removeNetns(project, service, recorded) {
      const name = recorded ?? netnsName(project, service);
      netnsHandles.get(name)?.close();
      netnsHandles.delete(name);
      netnsDelete(name);
    },
    attachVeth(r) {
      const hostSide = vethHostName(r.project, r.service, r.network);
      const peer = vethPeerName(r.index);
      const netns = netnsName(r.project, r.service);
      const alias = ownerAlias(r.project, r.network, r.service);
      const bridge = r.bridge ?? bridgeName(r.project, r.network);
      // On an external network (another project's bridge, or the host's), the MTU its owner gave
      // the bridge: a larger one on this veth would have the bridge drop the frames it cannot pass.
      const mtu = r.mtu ?? (r.bridge !== undefined ? linkGet(host, r.bridge)?.mtu : undefined);
      const add = (master: number): void =>
        linkAddVeth(host, hostSide, { name: peer, netns }, { up: true, master, group: projectLinkGroup(r.project), alias, ...(mtu !== undefined && mtu !== 1500 && { mtu }) });
      const attempt = (master: number): void => {
        try {
          add(master);
        } catch (e) {
          if (!(e instanceof KernelError && e.errno === 'EEXIST')) throw e;
          // The remains of an attempt that failed halfway: deleted (unless another owner's), then
          // made again. A free name (the usual case) costs no lookup before the creation.
          if (refuseForeign(host, hostSide, alias)) linkDel(host, hostSide);
          add(master);
        }
      };
      const known = bridgeIndexes.get(bridge);
      try {
        attempt(known ?? bridgeIndex(bridge, hostSide));
      } catch (e) {
        // A bridge made again since its index was kept (another project's, external): EINVAL
        // for a master that is gone. Looked up once more.
        if (known === undefined || !(e instanceof KernelError && e.errno === 'EINVAL')) throw e;
        bridgeIndexes.delete(bridge);
        attempt(bridgeIndex(bridge, hostSide));
      }
      const made = netnsHandles.get(netns);
      if (made !== undefined) {
        try {
          configurePeer(made, peer, r);
          return;
        } catch (e) {
          // The namespace was deleted and made again by another process since this driver made
          // it: its peer is in the new one, which a handle opened now reaches.
          if (!(e instanceof KernelError && e.errno === 'ENODEV')) throw e;
          made.close();
          netnsHandles.delete(netns);
        }
      }
      withHandle(netns, (h) => configurePeer(h, peer, r));
    },
    detachVeth(project, service, network, recorded) {
      linkDel(host, recorded ?? vethHostName(project, service, network));
    },
    async detachVeths(hostNames) {
      bridgeIndexes.clear(); // a bridge may be among them (handlers/netns.ts deleteLinkBatched)
      await linkDelMany(host, hostNames);
    },
    close: () => {
      for (const h of netnsHandles.values()) h.close();
      netnsHandles.clear();
      host.close();
    },
  };
}

/**
 * Makes the named netns and, inside it as it is made, a handle there and its ping range
 * (ping-group.ts): stepping into a namespace (two opens, two setns, two closes) was done three
 * times a service besides its making, for `lo`, the ping range and the veth's peer.
 */
function makeNetns(name: string): Handle {
  let made: Handle | undefined;
  try {
    netnsAdd(name, () => {
      made = handleHere(name);
      openPingGroupRangeHere();
    });
  } catch (e) {
    made?.close();
    throw e;
  }
  return made!;
}

/**
 * A handle in the named netns, or undefined when its file holds no namespace (a half-made one:
 * setns on a plain file is EINVAL). Any other failure (EMFILE, EPERM) is thrown: the namespace
 * may well be there, in use.
 */
function tryOpenHandle(netns: string): Handle | undefined {
  try {
    return openHandle(netns);
  } catch (e) {
    if (e instanceof KernelError && e.errno === 'EINVAL') return undefined;
    throw e;
  }
}

/**
 * Refuses a link named `name` whose alias names another owner: link names are 8 hex of a hash,
 * and two (project, network[, service]) sharing one must fail, never adopt or delete the other's.
 */
/** Throws when link `name` exists with another owner's alias; returns whether it exists (ours, or with no alias). */
function refuseForeign(h: Handle, name: string, alias: string): boolean {
  const link = linkGet(h, name);
  const other = link?.alias;
  if (other === undefined || other === alias) return link !== undefined;
  throw new UserError(
    'LINK_NAME_TAKEN',
    `link ${name} (${alias.slice('stack:'.length)}) exists already, made by ${JSON.stringify(other)}`,
    `\`ip link show ${name}\` shows it; remove it if nothing uses it, or rename the network`,
  );
}

/** The peer's address, the peer up, and the default route through it: its index looked up once for the address and the route. */
function configurePeer(h: Handle, peer: string, r: AttachRequest): void {
  const index = linkIndex(h, peer, `RTM_NEWADDR ${r.address} dev ${peer}${h.where}`);
  addrAdd(h, index, r.address, peer);
  linkSetUp(h, peer); // by name: no lookup
  if (r.defaultGateway !== undefined) routeAddDefault(h, r.defaultGateway, index, peer);
}

function ignore(errno: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof KernelError && e.errno === errno)) throw e;
  }
}

/** The attachments of every service, in interface order, with addresses and the default route. */
export function attachRequests(spec: ProjectNetworkSpec): AttachRequest[] {
  const out: AttachRequest[] = [];
  for (const service of Object.keys(spec.services).sort()) {
    const order = interfaceOrder(spec.services[service]!.networks);
    const routed = order.find((k) => spec.networks[k] && !spec.networks[k]!.internal);
    order.forEach((network, index) => {
      const alloc = spec.ipam.networks[network];
      const address = alloc?.addresses[service];
      if (!alloc || !address) throw new Error(`no address allocated for ${service} on network ${network}`);
      const prefix = alloc.subnet.split('/')[1] ?? '32';
      out.push({
        project: spec.project, service, network, index, address: `${address}/${prefix}`,
        ...(network === routed ? { defaultGateway: alloc.gateway } : {}),
      });
    });
  }
  return out;
}

/** eth0, eth1, ...: higher priority first, then by key (the planner's and peers.ts's order). */
function interfaceOrder(networks: Readonly<Record<string, ServiceAttachment>>): string[] {
  return Object.entries(networks)
    .sort(([ka, a], [kb, b]) => b.priority - a.priority || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .map(([key]) => key);
}

/** Networks the project creates and removes itself (not `external`). */
function ownNetworks(spec: ProjectNetworkSpec): string[] {
  return Object.keys(spec.networks).filter((k) => !spec.networks[k]!.external).sort();
}

/**
 * Sets up the whole network of a project: bridges, then each service's netns and veths.
 * On failure what was made stays for teardown (or the next run) to clean up.
 */
export function setupProjectNetwork(spec: ProjectNetworkSpec, driver: NetworkDriver = openNetworkDriver()): void {
  // The driver is closed when done, also on failure.
  try {
    for (const network of ownNetworks(spec)) {
      const alloc = spec.ipam.networks[network];
      if (!alloc) throw new Error(`no IPAM allocation for network ${network}`);
      driver.createNetwork(spec.project, network, alloc);
    }
    for (const service of Object.keys(spec.services).sort()) driver.createNetns(spec.project, service);
    for (const request of attachRequests(spec)) driver.attachVeth(request);
  } finally {
    driver.close();
  }
}

/**
 * Removes the whole network of a project, best effort: every link of the project's device
 * group in one request, then each netns, then by name whatever is left; what is already gone
 * is success; every failure is collected into one AggregateStackError.
 */
export function teardownProjectNetwork(spec: ProjectNetworkSpec, hostNetns?: string): void {
  const errors: Error[] = [];
  const attempt = (fn: () => unknown): void => {
    try {
      fn();
    } catch (e) {
      errors.push(e instanceof Error ? e : new Error(String(e)));
    }
  };
  let host: Handle | undefined;
  attempt(() => (host = openHandle(hostNetns)));
  if (host) {
    const h = host;
    attempt(() => deleteGroup(h, spec));
    for (const service of Object.keys(spec.services).sort()) {
      for (const network of Object.keys(spec.services[service]!.networks)) {
        attempt(() => linkDel(h, vethHostName(spec.project, service, network)));
      }
    }
    for (const network of ownNetworks(spec)) attempt(() => linkDel(h, bridgeName(spec.project, network)));
    h.close();
  }
  for (const service of Object.keys(spec.services).sort()) attempt(() => netnsDelete(netnsName(spec.project, service)));
  if (errors.length) throw new AggregateStackError(`teardown of the network of project ${spec.project} failed`, errors);
}

/** The names of the links the project makes in the host namespace. */
export function projectLinkNames(spec: ProjectNetworkSpec): string[] {
  const names = ownNetworks(spec).map((n) => bridgeName(spec.project, n));
  for (const [service, s] of Object.entries(spec.services)) {
    for (const network of Object.keys(s.networks)) names.push(vethHostName(spec.project, service, network));
  }
  return names.sort();
}

/**
 * Deletes the project's link group in one request when every link in it is one of the
 * project's own names; otherwise (another project hashed to the same group) leaves the
 * by-name deletions that follow to do the work.
 */
function deleteGroup(h: Handle, spec: ProjectNetworkSpec): void {
  const group = projectLinkGroup(spec.project);
  const ours = new Set(projectLinkNames(spec));
  const members = linkList(h).filter((l) => l.group === group);
  if (members.length === 0 || members.some((l) => !ours.has(l.name))) return;
  linkDelGroup(h, group);
}
