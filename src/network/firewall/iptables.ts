// Docker hosts: an iptables FORWARD chain with policy DROP vetoes what our nftables table
// accepts, for routed traffic and, with br_netfilter, for traffic inside one bridge too (an nft
// accept only ends its own chain; every base chain on the hook still runs, and a drop anywhere is
// final; measured in test/integration/network/firewall.test.ts). So where a FORWARD policy is DROP,
// in iptables-nft or iptables-legacy, each of our bridges gets `-i <bridge> -j ACCEPT` and
// `-o <bridge> -j ACCEPT` there, tagged with the comment `stack:<project>`. They only lift that
// foreign default: what our table drops (other bridges, internal networks, unsolicited inbound)
// stays dropped. Hosts without such a policy are left untouched.
//
// iptables-nft keeps its chains in nf_tables (table `ip filter`), so its FORWARD chain is first
// looked at over netlink: iptables is started only when the policy is DROP or a hole of the
// project is there to remove, not in every `up` and `down` of a host without Docker (~8 ms of
// CPU a start).
import { KernelError } from '../../errors.js';
import { getChain, getRules, NFPROTO_IPV4, NFTA_CHAIN_POLICY, NF_DROP, AttrSet, type Message } from '../nl/index.js';
import { withNftSocket } from './nft.js';
import { type NetTarget, has, readNetProc, run } from './run.js';

type Backend = 'iptables-nft' | 'iptables-legacy';

/** A hole in one backend's FORWARD chain: traffic in (`-i`) or out (`-o`) of one bridge. */
interface Hole {
  readonly direction: 'i' | 'o';
  readonly bridge: string;
}

/** Makes the FORWARD holes of `project` exactly those its `bridges` need; returns the backends with a DROP policy. */
export async function syncForwardHoles(
  project: string,
  bridges: readonly string[],
  target: NetTarget = {},
): Promise<Backend[]> {
  const dropping: Backend[] = [];
  for (const backend of await activeBackends(target)) {
    if (backend === 'iptables-nft') {
      const chain = await forwardChain(target, project);
      if (chain === undefined || (!chain.policyDrop && !chain.holes)) continue; // nothing to open, nothing to close
    }
    const listing = await run(target, backend, ['-w', '-S', 'FORWARD']);
    const policyDrop = listing.split('\n').some((l) => l.trim() === '-P FORWARD DROP');
    if (policyDrop) dropping.push(backend);
    const present = holesIn(listing, project);
    const wanted: Hole[] = policyDrop
      ? bridges.flatMap((bridge) => [
          { direction: 'i' as const, bridge },
          { direction: 'o' as const, bridge },
        ])
      : [];
    const key = (h: Hole) => `${h.direction} ${h.bridge}`;
    const wantedKeys = new Set(wanted.map(key));
    const presentKeys = new Set(present.map(key));
    for (const hole of present)
      if (!wantedKeys.has(key(hole))) await run(target, backend, ['-w', '-D', 'FORWARD', ...ruleArgs(project, hole)]);
    for (const hole of wanted)
      if (!presentKeys.has(key(hole))) await run(target, backend, ['-w', '-I', 'FORWARD', ...ruleArgs(project, hole)]);
  }
  return dropping;
}

/**
 * iptables-nft's FORWARD chain as netlink shows it: whether its policy is DROP, and whether a rule
 * of it carries the comment `stack:<project>` (the comment match keeps it NUL-terminated, as does
 * the rule's user data where newer iptables put it); undefined when there is no such chain.
 */
export async function forwardChain(target: NetTarget, project: string): Promise<{ policyDrop: boolean; holes: boolean } | undefined> {
  const chain = getChain(NFPROTO_IPV4, 'filter', 'FORWARD');
  const rules = getRules(NFPROTO_IPV4, 'filter', 'FORWARD');
  const read = await withNftSocket(target, async (socket): Promise<{ answer: Message[]; listed: Message[] } | undefined> => {
    try {
      // Off this thread: the request waits while a batch of the project's table is applied (syncFirewall sends both at once).
      const answer = await socket.requestOffThread(chain.type, chain.flags, chain.body, chain.what);
      return { answer, listed: socket.dump(rules.type, rules.body, rules.what) };
    } catch (e) {
      if (e instanceof KernelError && e.errno === 'ENOENT') return undefined; // no table ip filter, or no FORWARD in it
      throw e;
    }
  });
  if (read === undefined) return undefined;
  const { answer, listed } = read;
  const policy = answer[0] && new AttrSet(answer[0].body.subarray(4)).bytes(NFTA_CHAIN_POLICY);
  const comment = Buffer.from(`stack:${project}\0`);
  return {
    policyDrop: policy !== undefined && policy.length === 4 && policy.readUInt32BE(0) === NF_DROP,
    holes: listed.some((m) => m.body.includes(comment)),
  };
}

/** Removes every FORWARD hole of `project` (teardown); nothing to remove is success. */
export async function closeForwardHoles(project: string, target: NetTarget = {}): Promise<void> {
  await syncForwardHoles(project, [], target);
}

/** The holes of `project` in an `iptables -S FORWARD` listing (observation). */
export function holesIn(listing: string, project: string): Hole[] {
  const holes: Hole[] = [];
  const comment = `stack:${project}`;
  for (const line of listing.split('\n')) {
    const m = /^-A FORWARD -([io]) (\S+) -m comment --comment "?([^"\s]+)"? -j ACCEPT$/.exec(line.trim());
    if (m && m[3] === comment) holes.push({ direction: m[1] as 'i' | 'o', bridge: m[2]! });
  }
  return holes;
}

function ruleArgs(project: string, hole: Hole): string[] {
  return [`-${hole.direction}`, hole.bridge, '-m', 'comment', '--comment', `stack:${project}`, '-j', 'ACCEPT'];
}

// iptables-nft is looked at when installed (listing creates nothing); iptables-legacy only when
// its filter table already exists in this netns, since listing it would create one.
async function activeBackends(target: NetTarget): Promise<Backend[]> {
  const backends: Backend[] = [];
  if (await has(target, 'iptables-nft')) backends.push('iptables-nft');
  const legacyTables = await readNetProc(target, '/proc/net/ip_tables_names').catch(() => '');
  if (legacyTables.split('\n').includes('filter') && (await has(target, 'iptables-legacy')))
    backends.push('iptables-legacy');
  return backends;
}
