// The project's nftables table, as the nf_tables requests that replace it in one transaction
// (src/network/nl/nftables.ts; what `nft -f` would send for the script in each rule's comment).
// Pure: same networks, same requests.
//
// What it enforces, for traffic the host routes or (with br_netfilter) bridges:
// - within one bridge: allowed (a service reaches its peers);
// - between two stack bridges, of this project or of any other: dropped, so isolation holds
//   even with net.ipv4.ip_forward=1 (each project's table drops what enters or leaves its own
//   bridges towards any `stk*` interface, so a pair of projects is covered by both tables);
// - an `internal` network: nothing leaves its bridge;
// - from outside into a bridge: only replies (ct established,related); published ports come in
//   through the userland forwarder, which the kernel sees as the host's own output;
// - egress of non-internal networks: allowed and masqueraded on whatever non-stack interface
//   the route picks (the default-route interface, and still right after Wi-Fi ↔ ethernet or a VPN);
// - except to link-local addresses (169.254.0.0/16: the cloud metadata service, which hands out
//   the machine's credentials), also when the host DNATs them elsewhere (`ct original`), unless
//   the network allows it (`x-stack-allow-link-local`, docs/isolation.md). fe80::/10 too, though
//   the kernel never routes it: the table is `inet`, so the rule costs nothing and holds if it did.
//   The same drops sit on the `input` hook, for what a bridge sends to the host itself: a
//   link-local address the host holds, or one it DNATs to itself (ECS's 169.254.170.2 → a
//   credentials proxy on 127.0.0.1). There fe80::/10 is dropped for TCP and UDP only, so ICMPv6
//   (neighbour discovery, router solicitation to the bridge's link-local address) still works;
//   DNS on the gateway, the published ports' replies and anything else to the bridge's own
//   addresses are not link-local and pass.
// A drop is final across every table, an accept only ends our chain: on a host whose iptables
// FORWARD policy is DROP (Docker) our accepts are vetoed later, which iptables.ts takes care of.
import { nftTableName, LINK_PREFIX } from '../../names.js';
import { lastAddress, parseCidr } from '../cidr.js';
import {
  bitwise, cmp, concatType, ctLoad, delTable, hostU32, ifname, IP_CT_DIR_ORIGINAL, lookup, masquerade, metaLoad,
  newBaseChain, newRule, newSet, newSetElements, newTable, NF_ACCEPT, NF_DROP, NF_INET_FORWARD, NF_INET_LOCAL_IN,
  NF_INET_POST_ROUTING, NFPROTO_INET, NFT_CMP_EQ, NFT_CMP_NEQ, NFT_CT_DST_IP, NFT_CT_STATE, NFT_META_IIFNAME,
  NFT_META_L4PROTO, NFT_META_NFPROTO, NFT_META_OIFNAME, NFT_PAYLOAD_NETWORK_HEADER, NFT_REG_1, NFT_REG_2,
  NFT_SET_ANONYMOUS, NFT_SET_CONSTANT, NFT_SET_INTERVAL, NFT_TYPE_IFNAME, NFT_TYPE_INET_PROTOCOL, NFT_TYPE_IPADDR,
  payloadLoad, userData, verdict, type NftMessage, type SetElement, type SetSpec,
} from '../nl/index.js';
import type { Attr } from '../nl/index.js';

/** One network as the firewall sees it. */
export interface FirewallNetwork {
  readonly bridge: string;
  /** IPv4 prefix, e.g. 10.209.0.0/24. */
  readonly subnet: string;
  readonly internal: boolean;
  /** Egress to 169.254.0.0/16 (and fe80::/10) allowed: `x-stack-allow-link-local: true`. */
  readonly allowLinkLocal?: boolean;
}

/** The IPv4 link-local block: the cloud metadata service (169.254.169.254) lives there. */
export const LINK_LOCAL_V4 = '169.254.0.0/16';
/** The IPv6 link-local block. */
export const LINK_LOCAL_V6 = 'fe80::/10';

/** Priority of our forward and input chains: `filter - 10`, just before iptables' filter (0), after conntrack (-200). */
export const FORWARD_PRIORITY = -10;
/** Priority of the masquerade chain: `srcnat`. */
const SRCNAT_PRIORITY = 100;

/** Longest comment nft reads back in a ruleset it listed (`nft list ruleset > f; nft -f f`). */
const COMMENT_MAX = 128;

/** The comment `nft list` shows on the table (a long project name cut short to fit COMMENT_MAX). */
export function tableComment(project: string): string {
  const full = `stack project ${project}: isolation, egress and masquerade of its bridges`;
  if (full.length <= COMMENT_MAX) return full;
  return `stack project ${project}`.slice(0, COMMENT_MAX - 3) + '...';
}

// What nft (1.0.6) keeps in a set's user data, byte for byte, so that `nft list` shows the sets
// as it shows its own: the key's byte order (NFTNL_UDATA_SET_KEYBYTEORDER: 1 host, 2 big-endian)
// and, where nft records how the key is made (NFTNL_UDATA_SET_KEY_TYPEOF), that description.
const KEY_BYTEORDER = 0;
const KEY_TYPEOF = 3;
const IFNAME_SET_DATA = userData([[KEY_BYTEORDER, hostU32(1)]]);
const IPV4_SET_DATA = userData([[KEY_BYTEORDER, hostU32(2)]]);
/** `ifname . ifname`: a concatenation (expression type 13) of no stated byte order. */
const CONCAT_SET_DATA = userData([[KEY_BYTEORDER, hostU32(0)], [KEY_TYPEOF, userData([[0, hostU32(13)], [1, Buffer.alloc(0)]])]]);
/** `meta l4proto { tcp, udp }`: typeof meta (expression type 9) of key l4proto (16). */
const L4PROTO_SET_DATA = userData([[KEY_BYTEORDER, hostU32(1)], [KEY_TYPEOF, userData([[0, hostU32(9)], [1, userData([[0, hostU32(NFT_META_L4PROTO)]])]])]]);

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const NFPROTO_IPV4_BYTE = Buffer.from([2]);
const NFPROTO_IPV6_BYTE = Buffer.from([10]);

/** A set of the table and its elements. */
interface TableSet {
  readonly spec: SetSpec;
  readonly elements: readonly SetElement[];
}

/** An IPv4 prefix as [first, last] address (inclusive). */
function prefixRange(subnet: string): [number, number] {
  const cidr = subnet.includes('/') ? parseCidr(subnet) : undefined; // a bare address is no network's prefix
  if (cidr === undefined) throw new RangeError(`not an IPv4 prefix: ${subnet}`);
  return [cidr.network, lastAddress(cidr)];
}

function ipv4(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value, 0);
  return b;
}

/**
 * The elements of an interval set of IPv4 prefixes as nft sends them: an end at 0.0.0.0 before
 * a first range that starts later, then each range's first address and, closing it, the address
 * after its last (two adjacent ranges: an end and a start at the same address).
 */
export function intervalElements(subnets: readonly string[]): SetElement[] {
  const ranges = [...new Map(subnets.map((s) => [s, prefixRange(s)])).values()].sort((a, b) => a[0] - b[0]);
  const out: SetElement[] = [];
  if (ranges.length > 0 && ranges[0]![0] > 0) out.push({ key: ipv4(0), intervalEnd: true });
  for (const [first, last] of ranges) {
    out.push({ key: ipv4(first) });
    if (last < 0xffffffff) out.push({ key: ipv4(last + 1), intervalEnd: true });
  }
  return out;
}

/** The nf_tables requests that replace the project's table (absent or not) in one transaction. */
export function rulesetRequests(project: string, networks: readonly FirewallNetwork[]): NftMessage[] {
  const table = nftTableName(project);
  const sorted = [...networks].sort((a, b) => (a.bridge < b.bridge ? -1 : a.bridge > b.bridge ? 1 : 0));
  const names = (list: readonly FirewallNetwork[]) => list.map((n) => ifname(n.bridge));
  let lastId = 0;
  const ifnameSet = (name: string, keys: readonly Buffer[]): TableSet => ({
    spec: { name, id: ++lastId, flags: 0, keyType: NFT_TYPE_IFNAME, keyLen: 16, userData: IFNAME_SET_DATA },
    elements: keys.map((key) => ({ key })),
  });
  const bridges = ifnameSet('bridges', names(sorted));
  const internal = ifnameSet('internal', names(sorted.filter((n) => n.internal)));
  const sameBridge: TableSet = {
    spec: { name: 'same_bridge', id: ++lastId, flags: 0, keyType: concatType(NFT_TYPE_IFNAME, NFT_TYPE_IFNAME), keyLen: 32, userData: CONCAT_SET_DATA },
    elements: names(sorted).map((n) => ({ key: Buffer.concat([n, n]) })),
  };
  const egress: TableSet = {
    spec: { name: 'egress', id: ++lastId, flags: NFT_SET_INTERVAL, keyType: NFT_TYPE_IPADDR, keyLen: 4, userData: IPV4_SET_DATA },
    elements: intervalElements(sorted.filter((n) => !n.internal).map((n) => n.subnet)),
  };
  const noLinkLocal = ifnameSet('no_link_local', names(sorted.filter((n) => !n.allowLinkLocal)));
  const tcpUdp: TableSet = {
    spec: { name: '__set%d', id: ++lastId, flags: NFT_SET_ANONYMOUS | NFT_SET_CONSTANT, keyType: NFT_TYPE_INET_PROTOCOL, keyLen: 1, size: 2, userData: L4PROTO_SET_DATA },
    elements: [{ key: Buffer.from([IPPROTO_TCP]) }, { key: Buffer.from([IPPROTO_UDP]) }],
  };

  const set = (s: TableSet): NftMessage[] => [
    newSet(NFPROTO_INET, table, s.spec),
    ...(s.elements.length > 0 ? [newSetElements(NFPROTO_INET, table, s.spec, s.elements)] : []),
  ];
  const rule = (chain: string, what: string, ...expressions: Attr[][]): NftMessage => newRule(NFPROTO_INET, table, chain, expressions.flat(), what);

  // The matches the rules are made of, each as nft compiles it.
  const iifIn = (s: TableSet) => [metaLoad(NFT_META_IIFNAME, NFT_REG_1), lookup(NFT_REG_1, s.spec)];
  const oifIn = (s: TableSet) => [metaLoad(NFT_META_OIFNAME, NFT_REG_1), lookup(NFT_REG_1, s.spec)];
  const stk = Buffer.from(LINK_PREFIX, 'latin1'); // `"stk*"`: the name's first bytes
  const oifStk = (op: number) => [metaLoad(NFT_META_OIFNAME, NFT_REG_1), cmp(NFT_REG_1, op, stk)];
  const iifStk = [metaLoad(NFT_META_IIFNAME, NFT_REG_1), cmp(NFT_REG_1, NFT_CMP_EQ, stk)];
  const ipv4Only = [metaLoad(NFT_META_NFPROTO, NFT_REG_1), cmp(NFT_REG_1, NFT_CMP_EQ, NFPROTO_IPV4_BYTE)];
  const ipv6Only = [metaLoad(NFT_META_NFPROTO, NFT_REG_1), cmp(NFT_REG_1, NFT_CMP_EQ, NFPROTO_IPV6_BYTE)];
  // 169.254.0.0/16: the first two bytes of the destination (IPv4 header offset 16)
  const linkLocal4 = Buffer.from([169, 254]);
  const daddrLinkLocal4 = [...ipv4Only, payloadLoad(NFT_PAYLOAD_NETWORK_HEADER, 16, 2, NFT_REG_1), cmp(NFT_REG_1, NFT_CMP_EQ, linkLocal4)];
  const ctOriginalDaddrLinkLocal4 = [ctLoad(NFT_CT_DST_IP, NFT_REG_1, IP_CT_DIR_ORIGINAL), cmp(NFT_REG_1, NFT_CMP_EQ, linkLocal4)];
  // fe80::/10: the destination (IPv6 header offset 24) masked to its first 10 bits
  const mask10 = Buffer.alloc(16);
  mask10[0] = 0xff;
  mask10[1] = 0xc0;
  const fe80 = Buffer.alloc(16);
  fe80[0] = 0xfe;
  fe80[1] = 0x80;
  const daddrLinkLocal6 = [
    ...ipv6Only,
    payloadLoad(NFT_PAYLOAD_NETWORK_HEADER, 24, 16, NFT_REG_1),
    bitwise(NFT_REG_1, mask10, Buffer.alloc(16)),
    cmp(NFT_REG_1, NFT_CMP_EQ, fe80),
  ];
  // ct state established,related: the state bits (host byte order) 2 and 4
  const establishedOrRelated = [ctLoad(NFT_CT_STATE, NFT_REG_1), bitwise(NFT_REG_1, hostU32(0x6), Buffer.alloc(4)), cmp(NFT_REG_1, NFT_CMP_NEQ, Buffer.alloc(4))];
  const accept = [verdict(NF_ACCEPT)];
  const drop = [verdict(NF_DROP)];

  return [
    // table inet T; delete table inet T; table inet T { comment "…" }
    newTable(NFPROTO_INET, table),
    delTable(NFPROTO_INET, table),
    newTable(NFPROTO_INET, table, tableComment(project)),
    newBaseChain(NFPROTO_INET, table, { name: 'forward', type: 'filter', hook: NF_INET_FORWARD, priority: FORWARD_PRIORITY, policy: NF_ACCEPT }),
    newBaseChain(NFPROTO_INET, table, { name: 'input', type: 'filter', hook: NF_INET_LOCAL_IN, priority: FORWARD_PRIORITY, policy: NF_ACCEPT }),
    newBaseChain(NFPROTO_INET, table, { name: 'postrouting', type: 'nat', hook: NF_INET_POST_ROUTING, priority: SRCNAT_PRIORITY, policy: NF_ACCEPT }),
    ...set(bridges),
    ...set(internal),
    ...set(sameBridge),
    ...set(egress),
    ...set(noLinkLocal),
    rule('forward', 'iifname . oifname @same_bridge accept', [metaLoad(NFT_META_IIFNAME, NFT_REG_1), metaLoad(NFT_META_OIFNAME, NFT_REG_2), lookup(NFT_REG_1, sameBridge.spec)], accept),
    rule('forward', 'iifname @internal drop', iifIn(internal), drop),
    rule('forward', 'oifname @internal drop', oifIn(internal), drop),
    rule('forward', 'iifname @bridges oifname "stk*" drop', iifIn(bridges), oifStk(NFT_CMP_EQ), drop),
    rule('forward', 'oifname @bridges iifname "stk*" drop', oifIn(bridges), iifStk, drop),
    rule('forward', 'oifname @bridges ct state established,related accept', oifIn(bridges), establishedOrRelated, accept),
    rule('forward', 'oifname @bridges drop', oifIn(bridges), drop),
    rule('forward', `iifname @no_link_local ip daddr ${LINK_LOCAL_V4} drop`, iifIn(noLinkLocal), daddrLinkLocal4, drop),
    rule('forward', `iifname @no_link_local ct original ip daddr ${LINK_LOCAL_V4} drop`, iifIn(noLinkLocal), ctOriginalDaddrLinkLocal4, drop),
    rule('forward', `iifname @no_link_local ip6 daddr ${LINK_LOCAL_V6} drop`, iifIn(noLinkLocal), daddrLinkLocal6, drop),
    rule('forward', 'iifname @bridges accept', iifIn(bridges), accept),
    rule('input', `iifname @no_link_local ip daddr ${LINK_LOCAL_V4} drop`, iifIn(noLinkLocal), daddrLinkLocal4, drop),
    rule('input', `iifname @no_link_local ct original ip daddr ${LINK_LOCAL_V4} drop`, iifIn(noLinkLocal), ctOriginalDaddrLinkLocal4, drop),
    ...set(tcpUdp),
    rule(
      'input',
      `iifname @no_link_local ip6 daddr ${LINK_LOCAL_V6} meta l4proto { tcp, udp } drop`,
      iifIn(noLinkLocal),
      daddrLinkLocal6,
      [metaLoad(NFT_META_L4PROTO, NFT_REG_1), lookup(NFT_REG_1, tcpUdp.spec)],
      drop,
    ),
    rule('postrouting', 'ip saddr @egress oifname != "stk*" masquerade', ipv4Only, [payloadLoad(NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1), lookup(NFT_REG_1, egress.spec)], oifStk(NFT_CMP_NEQ), [masquerade()]),
  ];
}

/** The requests that remove the project's table and succeed when it is already gone (`table T; delete table T`). */
export function deleteRequests(project: string): NftMessage[] {
  const table = nftTableName(project);
  return [newTable(NFPROTO_INET, table), delTable(NFPROTO_INET, table)];
}
