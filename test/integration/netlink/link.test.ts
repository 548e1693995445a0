import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { describeRoot } from '../../harness/require.js';
import { KernelError } from '../../../src/errors.js';
import { sendtoOffThread } from '../../../src/sys/libc.js';
import {
  linkAddBridge, linkAddVeth, linkDel, linkDelMany, linkGet, linkList, linkSetDown, linkSetMaster, linkSetMtu, linkSetName,
  linkSetAlias, linkSetNoMaster, linkSetUp,
} from '../../../src/network/index.js';
import { prepareLinkDeletion } from '../../../src/network/link.js';
import { inNetns } from '../../../src/network/netns.js';
import { NetlinkSocket } from '../../../src/network/socket.js';
import { eventually } from '../../harness/eventually.js';
import { fileURLToPath } from 'node:url';
import {
  AttrSet, decodeIfInfo, decodeLinkGroup, encodeLinkDumpWithoutStats, encodeLinkRequest, encodeMessage, IFINFOMSG_LEN, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL,
  NLM_F_REQUEST, RTM_DELLINK, RTM_GETLINK, RTM_NEWLINK,
} from '../../../src/network/nl/index.js';
import { Scratch } from './fixture.js';

function thrown(fn: () => unknown): KernelError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KernelError) return e;
    throw e;
  }
  throw new Error('expected a KernelError, nothing was thrown');
}

describeRoot('link verbs on the real kernel', () => {
  const s = new Scratch();
  afterEach(() => s.cleanup());

  it('adds a bridge, sets it up, changes its MTU, lists and deletes it', () => {
    const ns = s.netns('br');
    const h = s.handle(ns);
    linkAddBridge(h, 'br0');
    expect(linkGet(h, 'br0')).toMatchObject({ name: 'br0', kind: 'bridge', up: false });
    linkSetUp(h, 'br0');
    linkSetMtu(h, 'br0', 1400);
    const br = linkGet(h, 'br0')!;
    expect(br).toMatchObject({ up: true, mtu: 1400 });
    expect(linkGet(h, br.index)!.name).toBe('br0');
    expect(linkList(h).map((l) => l.name).sort()).toEqual(['br0', 'lo']);
    linkSetDown(h, 'br0');
    expect(linkGet(h, 'br0')!.up).toBe(false);
    linkSetAlias(h, 'br0', 'stack:p/net');
    expect(linkGet(h, 'br0')!.alias).toBe('stack:p/net');
    linkAddBridge(h, 'br1', { alias: 'made with an alias' });
    expect(linkGet(h, 'br1')!.alias).toBe('made with an alias');
    expect(linkDel(h, 'br1')).toBe(true);
    expect(linkDel(h, 'br0')).toBe(true);
    expect(linkGet(h, 'br0')).toBeUndefined();
    expect(linkDel(h, 'br0')).toBe(false);
  });

  it('creates the veth peer directly inside another namespace and enslaves the host side', () => {
    const hostNs = s.netns('h');
    const svcNs = s.netns('svc');
    const host = s.handle(hostNs);
    const svc = s.handle(svcNs);
    linkAddBridge(host, 'br0', { up: true });
    linkAddVeth(host, 'veth0', { name: 'eth0', netns: svcNs }, { up: true, master: 'br0', mtu: 1450 });

    const br = linkGet(host, 'br0')!;
    expect(linkGet(host, 'veth0')).toMatchObject({ kind: 'veth', up: true, master: br.index, mtu: 1450 });
    expect(linkGet(host, 'eth0')).toBeUndefined();
    const eth0 = linkGet(svc, 'eth0')!;
    expect(eth0).toMatchObject({ kind: 'veth', up: false, mtu: 1450 });
    expect(linkGet(host, 'veth0')!.peerIndex).toBe(eth0.index);

    linkSetNoMaster(host, 'veth0');
    expect(linkGet(host, 'veth0')!.master).toBeUndefined();
    linkSetMaster(host, 'veth0', 'br0');
    expect(linkGet(host, 'veth0')!.master).toBe(br.index);

    // Deleting one end removes the pair, in both namespaces.
    expect(linkDel(host, 'veth0')).toBe(true);
    expect(linkGet(svc, 'eth0')).toBeUndefined();
  });

  it('deletes many links in one group request, their peers with them, and nothing else', async () => {
    const hostNs = s.netns('many');
    const svcNs = s.netns('manysvc');
    const host = s.handle(hostNs);
    const svc = s.handle(svcNs);
    linkAddBridge(host, 'keep0', { group: 7 });
    for (let i = 0; i < 3; i++) linkAddVeth(host, `v${i}`, { name: `e${i}`, netns: svcNs }, { group: 7 });
    // A name that is gone already is skipped; the others go, with their peers in the other netns.
    expect((await linkDelMany(host, ['v0', 'v1', 'gone0', 'v2', 'v1'])).sort()).toEqual(['v0', 'v1', 'v2']);
    expect(linkList(host).map((l) => l.name).sort()).toEqual(['keep0', 'lo']);
    expect(linkList(svc).map((l) => l.name)).toEqual(['lo']);
    expect(linkGet(host, 'keep0')!.group).toBe(7); // not named: untouched, its group kept
    // One name is a plain delete; none is nothing.
    linkAddVeth(host, 'v9', { name: 'e9' });
    expect(await linkDelMany(host, ['v9'])).toEqual(['v9']);
    expect(await linkDelMany(host, [])).toEqual([]);
  });

  it('deletes a device group as it is when it holds exactly the links asked for, and the safe way otherwise', async () => {
    const hostNs = s.netns('held');
    const svcNs = s.netns('heldsvc');
    const host = s.handle(hostNs);
    linkAddBridge(host, 'keep7', { group: 7 });
    linkAddBridge(host, 'b8', { group: 8 });
    for (let i = 0; i < 2; i++) linkAddVeth(host, `w${i}`, { name: `e${i}`, netns: svcNs }, { group: 8 });
    // Group 8 holds exactly these (a gone name skipped): all deleted, their peers with them.
    expect((await linkDelMany(host, ['w0', 'w1', 'b8', 'gone'])).sort()).toEqual(['b8', 'w0', 'w1']);
    expect(linkList(host).map((l) => l.name).sort()).toEqual(['keep7', 'lo']);
    expect(linkList(s.handle(svcNs)).map((l) => l.name)).toEqual(['lo']);
    // Group 8 holds one more than asked: only the named ones go, the other stays in its group.
    linkAddBridge(host, 'c8', { group: 8 });
    linkAddVeth(host, 'x0', { name: 'f0', netns: svcNs }, { group: 8 });
    linkAddVeth(host, 'x1', { name: 'f1', netns: svcNs }, { group: 8 });
    expect((await linkDelMany(host, ['x0', 'x1'])).sort()).toEqual(['x0', 'x1']);
    expect(linkGet(host, 'c8')?.group).toBe(8);
    // A named link outside the group is deleted too.
    expect((await linkDelMany(host, ['c8', 'keep7'])).sort()).toEqual(['c8', 'keep7']);
    expect(linkList(host).map((l) => l.name)).toEqual(['lo']);
  });

  it('deletes a group through the helper spawned ahead (native/netlink.c), and here when that helper is gone before its request', async () => {
    const hostNs = s.netns('ho');
    const svcNs = s.netns('hosvc');
    const host = s.handle(hostNs);
    const make = (tag: string): string[] => {
      linkAddBridge(host, `b${tag}`, { group: 5 });
      for (let i = 0; i < 3; i++) linkAddVeth(host, `${tag}${i}`, { name: `e${tag}${i}`, netns: svcNs }, { group: 5 });
      return [`b${tag}`, `${tag}0`, `${tag}1`, `${tag}2`];
    };
    const names = (netns: string): string[] => linkList(s.handle(netns)).map((l) => l.name).sort();
    const first = make('p');
    prepareLinkDeletion(hostNs);
    // Spawned ahead: a child of this process, waiting for its request.
    const helper = await eventually('the prepared helper', () => netlinkHelpers()[0]);
    expect((await linkDelMany(host, first)).sort()).toEqual(first);
    expect(names(hostNs)).toEqual(['lo']); // unregistered when it resolves, the peers with them
    expect(names(svcNs)).toEqual(['lo']);
    await eventually('the helper to end once answered', () => !netlinkHelpers().includes(helper));
    // A helper gone before its request (killed): the deletion is made here, the same.
    const second = make('q');
    prepareLinkDeletion(hostNs);
    const doomed = await eventually('the second prepared helper', () => netlinkHelpers()[0]);
    process.kill(doomed, 'SIGKILL');
    await eventually('the killed helper reaped', () => !netlinkHelpers().includes(doomed));
    expect((await linkDelMany(host, second)).sort()).toEqual(second);
    expect(names(hostNs)).toEqual(['lo']);
    expect(names(svcNs)).toEqual(['lo']);
  });

  it('hands the request to the prepared helper as the deletion is asked for, while this thread stays busy', async () => {
    // A `down`'s stops keep the thread busy without a turn of the event loop: the request must
    // not wait for one (the helper's spawn seen done, a microtask's turn) to reach the kernel.
    const hostNs = s.netns('hb');
    const svcNs = s.netns('hbsvc');
    const host = s.handle(hostNs);
    linkAddBridge(host, 'bb', { group: 6 });
    for (let i = 0; i < 2; i++) linkAddVeth(host, `bb${i}`, { name: `ebb${i}`, netns: svcNs }, { group: 6 });
    prepareLinkDeletion(hostNs);
    const deleting = linkDelMany(host, ['bb', 'bb0', 'bb1']);
    const until = Date.now() + 3000;
    while (Date.now() < until && linkGet(host, 'bb0') !== undefined) {
      // busy, as the stops are: no await
    }
    expect(linkGet(host, 'bb0')).toBeUndefined(); // deleted while the thread never yielded
    expect((await deleting).sort()).toEqual(['bb', 'bb0', 'bb1']);
    expect(linkList(s.handle(svcNs)).map((l) => l.name)).toEqual(['lo']);
  });

  it('deletes a group of host links (the host namespace, as down does), their sysfs folders gone when it resolves', async () => {
    const svcNs = s.netns('hostsvc');
    const host = s.handle();
    const group = 0x5eed0000 + Math.floor(Math.random() * 0xffff);
    const bridge = s.hostLink('hb');
    const veths = [s.hostLink('hv'), s.hostLink('hv')];
    linkAddBridge(host, bridge, { group });
    veths.forEach((v, i) => linkAddVeth(host, v, { name: `eh${i}`, netns: svcNs }, { group, master: bridge }));
    prepareLinkDeletion();
    expect((await linkDelMany(host, [bridge, ...veths])).sort()).toEqual([bridge, ...veths].sort());
    for (const name of [bridge, ...veths]) {
      expect(linkGet(host, name)).toBeUndefined();
      expect(existsSync(`/sys/class/net/${name}`)).toBe(false);
    }
    expect(linkList(s.handle(svcNs)).map((l) => l.name)).toEqual(['lo']);
  });

  it('the helper (native/build/netlink) sends the request read on its stdin and says how it ended, holding no descriptor of its caller but its stdio', async () => {
    const ns = s.netns('nh');
    const h = s.handle(ns);
    linkAddBridge(h, 'gone0', { group: 11 });
    linkAddBridge(h, 'gone1', { group: 11 });
    const deletion = encodeMessage({ type: RTM_DELLINK, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 7 }, encodeLinkRequest({ group: 11 }));
    // A descriptor its caller left open (no close-on-exec): gone in the helper as it starts.
    const inherited = openSync('/dev/null', 'r');
    const waiting = spawn(HELPER, ['--netns', `/run/netns/${ns}`], { stdio: ['pipe', 'ignore', 'pipe', inherited] });
    closeSync(inherited);
    const fds = await eventually('the helper waiting for its request', () => {
      try {
        // Exec'd and in read(2) of its stdin (past its start, where it lets go of the rest):
        // /proc/PID/syscall says `0 0x0 ...` (read, descriptor 0) while it blocks there.
        const reading = readlinkSync(`/proc/${waiting.pid}/exe`).endsWith('/netlink') && /^0 0x0 /.test(readFileSync(`/proc/${waiting.pid}/syscall`, 'utf8'));
        return reading ? readdirSync(`/proc/${waiting.pid}/fd`).map(Number).sort((a, b) => a - b) : undefined;
      } catch {
        return undefined;
      }
    });
    expect(fds).toEqual([0, 1, 2]);
    waiting.stdin!.end(deletion);
    const [code] = (await once(waiting, 'exit')) as [number];
    expect(code).toBe(0);
    expect(linkList(h).map((l) => l.name)).toEqual(['lo']);
    // The same request again: nothing to delete is the kernel's error, told on stderr.
    const again = spawnSync(HELPER, ['--netns', `/run/netns/${ns}`], { input: deletion, encoding: 'utf8' });
    expect(again.status).toBe(127);
    expect(again.stderr).toMatch(/^err\trequest\tENODEV\t/);
    // Not a netlink request asking for an answer: refused, nothing sent.
    const bad = spawnSync(HELPER, [], { input: Buffer.from('not a request'), encoding: 'utf8' });
    expect(bad.status).toBe(127);
    expect(bad.stderr).toMatch(/^err\trequest\tEINVAL\t/);
    // Nothing at all (its caller gone, or no deletion due): a quiet end.
    const none = spawnSync(HELPER, [], { input: '', encoding: 'utf8' });
    expect([none.status, none.stderr]).toEqual([0, '']);
  });

  it('listens for link notifications: a link made and deleted says RTM_NEWLINK, then RTM_DELLINK with its index', () => {
    const ns = s.netns('ln');
    const h = s.handle(ns);
    const joined: NetlinkSocket = inNetnsSocket(ns);
    try {
      expect(joined.pending()).toEqual([]);
      linkAddBridge(h, 'heard0');
      const index = linkGet(h, 'heard0')!.index;
      linkDel(h, 'heard0');
      const told = joined.pending().map((m) => ({ type: m.header.type, index: decodeIfInfo(m.body).index }));
      expect(told.filter((t) => t.index === index).map((t) => t.type)).toContain(RTM_NEWLINK);
      expect(told.at(-1)).toEqual({ type: RTM_DELLINK, index });
    } finally {
      joined.close();
    }
  });

  it("dumps links without IPv6's counters, and reads their names and groups from that dump", () => {
    const h = s.handle(s.netns('dg'));
    linkAddBridge(h, 'br0', { group: 9 });
    const IFLA_AF_SPEC = 26;
    const afSpec = (dump: { body: Buffer }[]): number[] =>
      dump.map((m) => new AttrSet(m.body.subarray(IFINFOMSG_LEN)).bytes(IFLA_AF_SPEC)?.length ?? 0);
    const full = afSpec(h.socket.dump(RTM_GETLINK, encodeLinkRequest({}), 'dump'));
    const leanDump = h.socket.dump(RTM_GETLINK, encodeLinkDumpWithoutStats(), 'dump');
    const lean = afSpec(leanDump);
    expect(lean.length).toBe(full.length);
    // Without IPv6 (ipv6.disable=1) there are no such counters to leave out.
    const ipv6 = existsSync('/proc/net/if_inet6');
    lean.forEach((size, i) => (ipv6 ? expect(size).toBeLessThan(full[i]!) : expect(size).toBe(full[i])));
    expect(leanDump.map((m) => decodeLinkGroup(m.body)).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'br0', group: 9, index: linkGet(h, 'br0')!.index },
      { name: 'lo', group: 0, index: 1 },
    ]);
  });

  it('renames a link by name or by index', () => {
    const ns = s.netns('mv');
    const h = s.handle(ns);
    linkAddVeth(h, 'tmp0', { name: 'tmp1' });
    linkSetName(h, 'tmp1', 'eth0');
    const eth0 = linkGet(h, 'eth0')!;
    linkSetName(h, eth0.index, 'eth1');
    expect(linkGet(h, eth0.index)!.name).toBe('eth1');
    expect(linkGet(h, 'tmp1')).toBeUndefined();
    expect(thrown(() => linkSetName(h, 'eth1', 'tmp0')).message).toBe(`RTM_SETLINK eth1 name tmp0 in ${ns}: EEXIST`);
    const missing = thrown(() => linkSetName(h, 'nosuch0', 'eth2'));
    expect(missing.message).toBe(`RTM_SETLINK nosuch0 name eth2 in ${ns}: ENODEV`);
  });

  it('names the whole call when the host side of a veth already exists', () => {
    const svcNs = s.netns('ex');
    const host = s.handle();
    const name = s.hostLink('v');
    linkAddVeth(host, name, { name: 'eth0', netns: svcNs });
    const err = thrown(() => linkAddVeth(host, name, { name: 'eth1', netns: svcNs }));
    expect(err.errno).toBe('EEXIST');
    expect(err.errnoValue).toBe(17);
    expect(err.message).toBe(`RTM_NEWLINK ${name} (peer eth1 in ${svcNs}): EEXIST`);
    // The failed request made nothing: no eth1 appeared in the service's namespace.
    expect(linkGet(s.handle(svcNs), 'eth1')).toBeUndefined();
  });

  it('names the namespace when a bridge name is taken inside it', () => {
    const ns = s.netns('dup');
    const h = s.handle(ns);
    linkAddBridge(h, 'br0');
    expect(thrown(() => linkAddBridge(h, 'br0')).message).toBe(`RTM_NEWLINK br0 (bridge) in ${ns}: EEXIST`);
    expect(thrown(() => linkSetUp(h, 'nosuch0')).message).toBe(`RTM_SETLINK nosuch0 up in ${ns}: ENODEV`);
    const noBridge = thrown(() => linkSetMaster(h, 'br0', 'nosuch0'));
    expect(noBridge.message).toBe(`RTM_SETLINK br0 master nosuch0 in ${ns}: ENODEV`);
  });

  it('reads a dump that spans many datagrams to its end', () => {
    const ns = s.netns('many');
    const h = s.handle(ns);
    for (let i = 0; i < 40; i++) linkAddVeth(h, `a${i}`, { name: `b${i}` });
    const messages = h.socket.dump(RTM_GETLINK, encodeLinkRequest({}), 'dump');
    // More than two full 32 KiB parts: the reply cannot have come in one read.
    expect(messages.reduce((n, m) => n + m.header.len, 0)).toBeGreaterThan(64 * 1024);
    const names = linkList(h).map((l) => l.name);
    expect(names.length).toBe(81);
    expect(new Set(names).size).toBe(81);
    expect(names).toContain('a39');
    expect(names).toContain('b0');
  });

  it("carries the kernel's own explanation (extended ACK) as the cause", () => {
    const ns = s.netns('ack');
    const h = s.handle(ns);
    const body = encodeLinkRequest({ name: 'x0', kind: 'nosuchkind' });
    const err = thrown(() => h.socket.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body, 'x0 (nosuchkind)'));
    expect(err.message).toBe('RTM_NEWLINK x0 (nosuchkind): EOPNOTSUPP');
    expect(String((err.cause as Error).message)).toBe('kernel: Unknown device type');
  });

  it('an off-thread send that fails reports its errno, as a synchronous one does', async () => {
    // sendtoOffThread (link deletions): errno is the worker thread's, so the failure is made again here.
    const err = await sendtoOffThread(-1, Buffer.alloc(16), null, () => 'send to fd -1').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).errno).toBe('EBADF');
    expect((err as KernelError).message).toBe('send to fd -1: EBADF');
  });
});

/** The netlink helper as `npm run build` makes it. */
const HELPER = fileURLToPath(new URL('../../../native/build/netlink', import.meta.url));

/** The pids of this process's children running native/build/netlink (prepareLinkDeletion's helpers). */
function netlinkHelpers(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const [state, ppid] = stat.slice(close + 2).split(' ');
    if (comm === 'netlink' && Number(ppid) === process.pid && state !== 'Z') pids.push(Number(entry));
  }
  return pids;
}

/** A socket in `netns` joined to the link notifications' group (RTMGRP_LINK). */
function inNetnsSocket(netns: string): NetlinkSocket {
  return inNetns(netns, () => NetlinkSocket.listen(1, 256 * 1024));
}
