// Link verbs, one per `ip link` command (vishvananda/netlink style), on a handle bound to a
// network namespace. Links are named by name or index; names go to the kernel as IFLA_IFNAME
// so a verb costs one round trip.
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KernelError } from '../errors.js';
import { mark } from '../trace.js';
import { close, POLLERR, POLLIN, socketPair } from '../sys/libc.js';
import { readyWatcher } from '../sys/ready-watch.js';
import { spawnDetached } from '../sys/spawn.js';
import { openHandle, type Handle } from './handle.js';
import { inNetns, netnsOpen, netnsPath } from './netns.js';
import {
  AF_UNSPEC, decodeIfInfo, decodeLink, decodeLinkGroup, encodeLinkDumpWithoutStats, encodeLinkRequest, encodeMessage, IFF_UP, NLM_F_ACK, NLM_F_CREATE,
  NLM_F_EXCL, NLM_F_REQUEST, RTM_DELLINK, RTM_GETLINK, RTM_NEWLINK, RTEXT_FILTER_SKIP_STATS, RTM_SETLINK, vethPeerData, type Link, type LinkRequest,
} from './nl/index.js';
import { NetlinkSocket } from './socket.js';

export type { Link } from './nl/index.js';

/** A link named by its name or its index. */
export type LinkRef = string | number;

/** Options of a link being created. */
export interface LinkAddOptions {
  readonly mtu?: number;
  /** Bring it up as it is created (`ip link add ... up`). */
  readonly up?: boolean;
  /** Enslave it to this bridge as it is created (`ip link add ... master $bridge`). */
  readonly master?: LinkRef;
  /** Put it in this device group (`ip link add ... group $n`), for linkDelGroup. */
  readonly group?: number;
  /** Label it (`ip link set $name alias $text`), e.g. with its owner; costs one more request,
   * as the kernel ignores IFLA_IFALIAS on creation. */
  readonly alias?: string;
}

/** The veth's other end: its name, and the named namespace it is created in. */
export interface VethPeer {
  readonly name: string;
  /** Named netns to create the peer in; omitted: the handle's own namespace. */
  readonly netns?: string;
  readonly mtu?: number;
  // No `up`: the kernel cannot bring the peer up before the pair is linked (veth_open says
  // ENOTCONN); bring it up with a handle in its namespace.
}

function ref(link: LinkRef): { index?: number; name?: string } {
  return typeof link === 'number' ? { index: link } : { name: link };
}

function upFlags(up: boolean | undefined): { flags?: number; change?: number } {
  return up ? { flags: IFF_UP, change: IFF_UP } : {};
}

function masterIndex(h: Handle, master: LinkRef | undefined, call: string): number | undefined {
  if (master === undefined || typeof master === 'number') return master;
  return linkIndex(h, master, call);
}

/** Creates a bridge. Equivalent to: `ip link add $name [mtu $mtu] type bridge [up]`. */
export function linkAddBridge(h: Handle, name: string, opts: LinkAddOptions = {}): void {
  const what = `${name} (bridge)${h.where}`;
  const req: LinkRequest = {
    name, kind: 'bridge', mtu: opts.mtu, group: opts.group, master: masterIndex(h, opts.master, `RTM_NEWLINK ${what}`),
    ...upFlags(opts.up),
  };
  h.socket.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, encodeLinkRequest(req), what);
  if (opts.alias !== undefined) linkSetAlias(h, name, opts.alias);
}

/**
 * Creates a veth pair whose peer is made directly inside `peer.netns`, so the service's end
 * never appears in this namespace and never collides with a name here.
 * Equivalent to: `ip link add $name type veth peer name $peer netns $netns`.
 */
export function linkAddVeth(h: Handle, name: string, peer: VethPeer, opts: LinkAddOptions = {}): void {
  const what = `${name} (peer ${peer.name}${peer.netns !== undefined ? ` in ${peer.netns}` : ''})${h.where}`;
  const master = masterIndex(h, opts.master, `RTM_NEWLINK ${what}`);
  const peerFd = peer.netns === undefined ? undefined : netnsOpen(peer.netns);
  try {
    const peerReq: LinkRequest = { name: peer.name, netnsFd: peerFd, mtu: peer.mtu ?? opts.mtu };
    const req: LinkRequest = {
      name, kind: 'veth', data: vethPeerData(peerReq), mtu: opts.mtu, master, group: opts.group, ...upFlags(opts.up),
    };
    h.socket.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, encodeLinkRequest(req), what);
  } finally {
    if (peerFd !== undefined) close(peerFd);
  }
  if (opts.alias !== undefined) linkSetAlias(h, name, opts.alias);
}

function setLink(h: Handle, link: LinkRef, req: LinkRequest, detail: string): void {
  h.socket.request(RTM_SETLINK, 0, encodeLinkRequest({ ...ref(link), ...req }), `${link} ${detail}${h.where}`);
}

/** Brings a link up. Equivalent to: `ip link set $link up`. */
export function linkSetUp(h: Handle, link: LinkRef): void {
  setLink(h, link, { flags: IFF_UP, change: IFF_UP }, 'up');
}

/** Takes a link down. Equivalent to: `ip link set $link down`. */
export function linkSetDown(h: Handle, link: LinkRef): void {
  setLink(h, link, { flags: 0, change: IFF_UP }, 'down');
}

/** Enslaves a link to a bridge. Equivalent to: `ip link set $link master $bridge`. */
export function linkSetMaster(h: Handle, link: LinkRef, bridge: LinkRef): void {
  const master = masterIndex(h, bridge, `RTM_SETLINK ${link} master ${bridge}${h.where}`);
  setLink(h, link, { master }, `master ${bridge}`);
}

/** Releases a link from its bridge. Equivalent to: `ip link set $link nomaster`. */
export function linkSetNoMaster(h: Handle, link: LinkRef): void {
  setLink(h, link, { master: 0 }, 'nomaster');
}

/** Sets a link's MTU. Equivalent to: `ip link set $link mtu $mtu`. */
export function linkSetMtu(h: Handle, link: LinkRef, mtu: number): void {
  setLink(h, link, { mtu }, `mtu ${mtu}`);
}

/** Sets a link's alias (free text, at most 255 bytes). Equivalent to: `ip link set $link alias $alias`. */
export function linkSetAlias(h: Handle, link: LinkRef, alias: string): void {
  setLink(h, link, { alias }, `alias ${JSON.stringify(alias)}`);
}

/** Renames a link (kernels before 6.2 want it down). Equivalent to: `ip link set $link name $newName`. */
export function linkSetName(h: Handle, link: LinkRef, newName: string): void {
  const index = typeof link === 'number' ? link : linkIndex(h, link, `RTM_SETLINK ${link} name ${newName}${h.where}`);
  h.socket.request(RTM_SETLINK, 0, encodeLinkRequest({ index, name: newName }), `${link} name ${newName}${h.where}`);
}

/**
 * Deletes a link (a veth takes its peer with it). Equivalent to: `ip link delete $link`.
 * A link that is already gone is success; returns whether it existed.
 */
export function linkDel(h: Handle, link: LinkRef): boolean {
  try {
    h.socket.request(RTM_DELLINK, 0, encodeLinkRequest(ref(link)), `${link}${h.where}`);
    return true;
  } catch (e) {
    if (gone(e)) return false;
    throw e;
  }
}

/** Whether a deletion failed because what it names is gone already. */
function gone(e: unknown): boolean {
  return e instanceof KernelError && e.errno === 'ENODEV';
}

/**
 * A deletion whose kernel work (RCU grace periods: ~60 ms for a bridge, ~20 ms for a group of
 * veths) is done on one of libuv's threads, on a socket of its own in the handle's namespace,
 * so this thread goes on meanwhile. `what` names the link (or group) in errors. A link already
 * gone (ENODEV) is false.
 */
async function deleteOffThread(h: Handle, request: Buffer, what: string): Promise<boolean> {
  const own = openHandle(h.netns);
  try {
    await own.socket.requestOffThread(RTM_DELLINK, 0, request, `${what}${h.where}`);
    return true;
  } catch (e) {
    if (gone(e)) return false;
    throw e;
  } finally {
    own.close();
  }
}

/** The helper that sends a request and takes the kernel's wait for its answer (native/netlink.c). */
const NETLINK_HELPER_PATH = fileURLToPath(new URL('../../native/build/netlink', import.meta.url));
/** The multicast group of the kernel's link notifications (RTMGRP_LINK). */
const RTMGRP_LINK = 1;

/** A helper spawned for the namespace `netns`, waiting for its request on `input`; `exit` resolves to its exit code should it end while this process runs. */
interface NetlinkHelper {
  readonly netns: string | undefined;
  readonly input: number;
  readonly exit: Promise<number | null>;
  /** SIGKILLs it unless it has ended (and was reaped: its pid is another's then). */
  readonly kill: () => void;
}

/** The helper prepareLinkDeletion spawned, not taken yet. */
let prepared: NetlinkHelper | undefined;

/**
 * Spawns the helper of the next batched link deletion (deleteHandedOff) in the namespace `netns`
 * (the process's own when undefined) ahead of it: a `down` asks as it begins, so that the
 * deletion, due once every service has stopped, only writes its request. Spawned when due, the
 * helper started ~29 ms after the request was (traced, a `down` of 20: posix_spawn waited for
 * one of libuv's threads, all busy with the stops' and the firewall's work, and the exec for a
 * core). One not taken reads the end of its input when this process exits, and exits.
 */
export function prepareLinkDeletion(netns?: string): void {
  prepared ??= spawnHelper(netns);
}

/**
 * Lets the helper prepareLinkDeletion spawned go when no deletion took it (apply()'s end: a
 * batch of one link, links deleted one by one, a walk cut short): it ends with nothing to do,
 * not when this process does (a foreground `up` runs on).
 */
export function discardPreparedLinkDeletion(): void {
  const ahead = prepared;
  prepared = undefined;
  if (ahead !== undefined) close(ahead.input);
}

/** A helper for `netns`: the one prepared when it is for that namespace, else a new one. */
function takeHelper(netns: string | undefined): NetlinkHelper | undefined {
  const ahead = prepared;
  prepared = undefined;
  if (ahead !== undefined && ahead.netns === netns) return ahead;
  if (ahead !== undefined) close(ahead.input); // another namespace's: it ends with nothing to do
  return spawnHelper(netns);
}

/**
 * Spawns a helper for `netns`, its stdin a socket whose other end this process writes the request
 * to; undefined when no socket can be made. It is returned at once, its spawn under way: the
 * request is written to the socket whether the helper runs yet or not, and a spawn that fails
 * ends it (`exit` null). Waiting for the spawn put the request behind the event loop's turn: in
 * a `down` whose stops kept this thread busy, traced, the helper got the request of 20 services
 * killed at once 27-40 ms after it was due (their links' deletion, meant to overlap the kills,
 * began once all were killed), and each await before the write put it behind every step the
 * stops had queued (5 ms in a `down` of 20 that exit on SIGTERM).
 */
function spawnHelper(netns: string | undefined): NetlinkHelper | undefined {
  let pair: [number, number];
  let nothing: number;
  try {
    pair = socketPair('the netlink helper\'s request');
  } catch {
    return undefined;
  }
  try {
    nothing = openSync('/dev/null', 'r+');
  } catch {
    pair.forEach((fd) => close(fd));
    return undefined;
  }
  let ended = false;
  let pid: number | undefined;
  let killed = false;
  let exited: (code: number | null) => void = () => undefined;
  const exit = new Promise<number | null>((resolve) => (exited = resolve));
  const kill = (): void => {
    killed = true;
    try {
      if (pid !== undefined && !ended) process.kill(pid, 'SIGKILL'); // not reaped yet: still this process's child
    } catch {
      // gone meanwhile
    }
  };
  spawnDetached(NETLINK_HELPER_PATH, netns === undefined ? [] : ['--netns', netnsPath(netns)], {
    fds: [pair[1], nothing, nothing],
    env: {},
    onExit: ({ code }) => {
      ended = true;
      exited(code);
    },
  })
    .then(
      (spawned) => {
        pid = spawned;
        if (killed) kill();
      },
      () => exited(null),
    )
    .finally(() => {
      // The child's ends, its own now (or no one's): held until posix_spawn gave them to it.
      close(pair[1]);
      closeSync(nothing);
    })
    .catch(() => undefined); // a close that failed: the deletion's outcome is the helper's all the same
  return { netns, input: pair[0], exit, kill };
}

/**
 * deleteOffThread of `links` (by their name and index, as the namespace has them now), the
 * request sent by a helper process (native/netlink.c, prepareLinkDeletion): resolves once the
 * kernel has unregistered them all, as their RTM_DELLINK notifications say, not once it
 * answers. It answers only after waiting for RCU grace periods and for the links' last
 * references, 10-25 ms more for a `down`'s 21. Once unregistered a link is in no listing and in
 * no sysfs folder, and its name is free; what the kernel frees after is its own. A thread of
 * this process waiting in the kernel would hold its exit as long: the helper takes the wait,
 * and outlives this process if it must (reaped by init, as the services' monitors are). The
 * notifications are read from a socket of its own, joined to the group before the request is
 * written. When the helper ends before every notification was seen (it failed, or the socket
 * overran and lost some), its answer decides: a deletion it could not make is made here
 * (deleteOffThread), which says why it fails; so is one with no outcome after
 * HANDOFF_LIMIT_MS. Without a helper, deleteOffThread.
 */
async function deleteHandedOff(h: Handle, request: Buffer, what: string, links: readonly { name: string; index: number }[]): Promise<boolean> {
  const here = (): Promise<boolean> => deleteOffThread(h, request, what);
  const helper = takeHelper(h.netns);
  if (helper === undefined) return here();
  // Room for every notification the deletion brings (a link's is ~1.5 KiB of buffer, and a
  // bridge port has two more), and for what the rest of the host does meanwhile.
  const room = 256 * 1024 + links.length * 8 * 1024;
  let watch: NetlinkSocket;
  try {
    watch = h.netns === undefined ? NetlinkSocket.listen(RTMGRP_LINK, room) : inNetns(h.netns, () => NetlinkSocket.listen(RTMGRP_LINK, room));
  } catch {
    close(helper.input);
    return here();
  }
  const left = new Set(links.map((l) => l.index));
  let unwatch = (closeFd?: () => void): Promise<void> => (closeFd?.(), Promise.resolve());
  // The timer holds the event loop too: the helper's exit (reaped on SIGCHLD) does not, and a
  // wait for it alone would let this process end mid-`down`.
  let limit: NodeJS.Timeout | undefined;
  const outcome = await new Promise<'unregistered' | 'answered' | 'failed'>((resolve) => {
    limit = setTimeout(() => resolve('failed'), HANDOFF_LIMIT_MS);
    // Not watched again after an error (the kernel dropped notifications: ENOBUFS; the watcher
    // gave up): the helper's answer decides then.
    const read = (revents: number): void => {
      try {
        for (const m of watch.pending()) {
          if (m.header.type !== RTM_DELLINK) continue;
          // The unregistering's own (AF_UNSPEC): a bridge port's removal says RTM_DELLINK too (AF_BRIDGE), earlier.
          const { family, index } = decodeIfInfo(m.body);
          if (family === AF_UNSPEC) left.delete(index);
        }
      } catch {
        return;
      }
      if (left.size === 0) resolve('unregistered');
      else if ((revents & POLLERR) === 0) unwatch = readyWatcher().watch(watch.fd, POLLIN, read);
    };
    void helper.exit.then((code) => resolve(code === 0 ? 'answered' : 'failed'));
    try {
      unwatch = readyWatcher().watch(watch.fd, POLLIN, read);
      const message = encodeMessage({ type: RTM_DELLINK, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 1 + Math.floor(Math.random() * 0x7ffffffe) }, request);
      writeSync(helper.input, message);
    } catch {
      resolve('failed'); // the helper gone already, or no watch
    } finally {
      close(helper.input); // its end of input: it sends now
    }
  });
  clearTimeout(limit);
  void unwatch(() => watch.close());
  // Made here, the deletion is the helper's no more: one only slow to send it (stopped, starved)
  // would delete the group later, by its number, when a next `up` may have made it anew.
  const instead = (why: string): Promise<boolean> => (mark(`links: deletion made here (${why})`), helper.kill(), here());
  if (outcome === 'failed') return instead('the helper failed or did not answer');
  if (outcome === 'unregistered' && h.netns === undefined) return (await sysfsLetGo(links, helper.exit)) || instead('a sysfs folder stayed');
  return true;
}

/** How long a handed-off deletion is waited for before it is made here (deleteOffThread's socket waits as long for an answer). */
const HANDOFF_LIMIT_MS = 10_000;

/**
 * Whether the sysfs folders of `links` (unregistered: their notifications came) are gone. The
 * kernel removes a link's folder right after its notification (netdev_unregister_kobject; the
 * host's /sys is the host namespace's), so one still there is looked at again each
 * millisecond, up to HANDOFF_LIMIT_MS, unless the helper's answer (`exit`) comes first and
 * decides. A timer holds the event loop meanwhile.
 */
export function sysfsLetGo(
  links: readonly { name: string }[],
  exit: Promise<number | null>,
  exists: (path: string) => boolean = existsSync,
): Promise<boolean> {
  const listed = (): boolean => links.some((l) => exists(`/sys/class/net/${l.name}`));
  if (!listed()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const deadline = Date.now() + HANDOFF_LIMIT_MS;
    let timer: NodeJS.Timeout | undefined;
    const look = (): void => {
      if (!listed()) resolve(true);
      else if (Date.now() >= deadline) resolve(false);
      else timer = setTimeout(look, 1);
    };
    void exit.then((code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
    timer = setTimeout(look, 1);
  });
}

/** linkDel, the kernel's work done off this thread (deleteOffThread). */
export function linkDelOffThread(h: Handle, link: LinkRef): Promise<boolean> {
  return deleteOffThread(h, encodeLinkRequest(ref(link)), String(link));
}

/**
 * Deletes every link of a device group in one request: the kernel unregisters them together,
 * paying its RCU grace period once instead of once per link (~30 ms each here).
 * Equivalent to: `ip link delete group $group`. Group 0 (every link's default) is refused.
 * An empty group is success; returns whether any link was deleted.
 */
export function linkDelGroup(h: Handle, group: number): boolean {
  try {
    h.socket.request(RTM_DELLINK, 0, groupRequest(group), `group ${group}${h.where}`);
    return true;
  } catch (e) {
    if (gone(e)) return false;
    throw e;
  }
}

/** The deletion request of a device group; group 0 (every link's default) and non-groups are refused. */
function groupRequest(group: number): Buffer {
  if (!Number.isInteger(group) || group <= 0 || group > 0xffffffff) {
    throw new RangeError(`refusing to delete link group ${group}`);
  }
  return encodeLinkRequest({ group });
}

/**
 * Deletes links in one request, so the kernel pays its RCU grace period once, not once per
 * link. When the links of them that exist share a device group that holds nothing else (a
 * `down` deleting every link of its project, all made in the project's group), that group is
 * deleted as it is; otherwise each link is moved into a fresh random device group, and that
 * group is deleted once a dump shows it holds nothing but them (else each is deleted by name).
 * A link already gone is skipped; returns the names that existed. Like `ip link set $l group
 * $g` for each, then `ip link delete group $g`.
 */
export async function linkDelMany(h: Handle, links: readonly string[]): Promise<string[]> {
  const names = [...new Set(links)];
  if (names.length === 0) return [];
  if (names.length === 1) return (await linkDelOffThread(h, names[0]!)) ? names : [];
  // The group is read from the dump, not derived from the project's name: that took a sha256,
  // and `down` loaded node:crypto for it alone (~2 ms before the kernel's wait could begin).
  // Moving each link first was ~1.6 ms of a traced `down` of 20, before the kernel's wait began.
  const dump = groupsOf(h);
  const shared = sharedGroup(dump, names);
  const held = shared === undefined ? undefined : heldExactly(dump, names, shared);
  if (shared !== undefined && held !== undefined) {
    await deleteHandedOff(h, groupRequest(shared), `group ${shared}`, dump.filter((l) => l.group === shared));
    return held;
  }
  // Any unused group will do, and it need not be unpredictable: the dump below checks that it holds
  // nothing but these links. Math.random, not node:crypto, which `down` would load for this alone.
  const group = 1 + Math.floor(Math.random() * 0x7ffffffe);
  const moved: string[] = [];
  for (const name of names) {
    try {
      setLink(h, name, { group }, `group ${group}`);
      moved.push(name);
    } catch (e) {
      if (!(e instanceof KernelError && e.errno === 'ENODEV')) throw e;
    }
  }
  if (moved.length === 0) return moved;
  const ours = new Set(moved);
  const members = groupsOf(h).filter((l) => l.group === group);
  if (members.length === moved.length && members.every((l) => ours.has(l.name))) await deleteHandedOff(h, groupRequest(group), `group ${group}`, members);
  else for (const name of moved) linkDel(h, name);
  return moved;
}

/**
 * The device group that every one of `links` present in `dump` is in, when they share one and
 * it is not 0 (every other link's default); undefined otherwise, or when none is there.
 */
export function sharedGroup(dump: readonly { name: string; group: number }[], links: readonly string[]): number | undefined {
  const wanted = new Set(links);
  const groups = new Set(dump.filter((l) => wanted.has(l.name)).map((l) => l.group));
  const [group] = groups;
  return groups.size === 1 && group !== 0 ? group : undefined;
}

/**
 * The names of `links` that exist (of `dump`, a namespace's links) when device group `group`
 * holds all of them and nothing else; undefined otherwise (a link of the group not named, a
 * named one in another group, none at all).
 */
export function heldExactly(dump: readonly { name: string; group: number }[], links: readonly string[], group: number): string[] | undefined {
  const wanted = new Set(links);
  const present = dump.filter((l) => wanted.has(l.name) || l.group === group);
  return present.length > 0 && present.every((l) => wanted.has(l.name) && l.group === group) ? present.map((l) => l.name) : undefined;
}

/**
 * The name and device group of every link of the handle's namespace. Only those are read of the
 * dump (which leaves IPv6's counters out): decoding every attribute of every link made this take
 * 7.4-8.8 ms in a fresh process with 25 links, 5.5-6.1 now.
 */
function groupsOf(h: Handle): { name: string; group: number; index: number }[] {
  return h.socket.dump(RTM_GETLINK, encodeLinkDumpWithoutStats(), `dump${h.where}`).map((m) => decodeLinkGroup(m.body));
}

/** Every link of the handle's namespace. Equivalent to: `ip -d link show`. */
export function linkList(h: Handle): Link[] {
  return h.socket.dump(RTM_GETLINK, encodeLinkRequest({}), `dump${h.where}`).map((m) => decodeLink(m.body));
}

/** One link, or undefined when there is none by that name or index. Equivalent to: `ip -d link show $link`. */
export function linkGet(h: Handle, link: LinkRef): Link | undefined {
  try {
    const [m] = h.socket.request(RTM_GETLINK, 0, encodeLinkRequest(ref(link)), `${link}${h.where}`);
    return m ? decodeLink(m.body) : undefined;
  } catch (e) {
    if (e instanceof KernelError && e.errno === 'ENODEV') return undefined;
    throw e;
  }
}

/**
 * The index of a named link, or a KernelError ENODEV naming `call` when there is none. Only the
 * reply's header is read (the index is in it), and the per-family counters are left out of it:
 * decodeLink of every attribute of each veth looked up was ~3 ms of a profiled `up -d` of 20.
 */
export function linkIndex(h: Handle, name: string, call: string): number {
  let index: number | undefined;
  try {
    const [m] = h.socket.request(RTM_GETLINK, 0, encodeLinkRequest({ name, extMask: RTEXT_FILTER_SKIP_STATS }), `${name}${h.where}`);
    index = m === undefined ? undefined : decodeIfInfo(m.body).index;
  } catch (e) {
    if (!(e instanceof KernelError && e.errno === 'ENODEV')) throw e;
  }
  if (index === undefined) throw new KernelError(call, 'ENODEV', 19, { cause: new Error(`no link named ${name}${h.where}`) });
  return index;
}
