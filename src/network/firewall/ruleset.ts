// The project's nftables table, as text for `nft -f -`. Pure: same networks, same text.
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

/** Priority of our forward chain: just before iptables' filter (0), after conntrack (-200). */
export const FORWARD_PRIORITY = 'filter - 10';

/** Priority of our input chain: the same, on the host's own inbound traffic. */
export const INPUT_PRIORITY = 'filter - 10';

/** The nft script that replaces the project's table in one transaction (absent or not). */
export function rulesetScript(project: string, networks: readonly FirewallNetwork[]): string {
  const table = `inet ${nftTableName(project)}`;
  const sorted = [...networks].sort((a, b) => (a.bridge < b.bridge ? -1 : a.bridge > b.bridge ? 1 : 0));
  const bridges = sorted.map((n) => `"${n.bridge}"`);
  const internal = sorted.filter((n) => n.internal).map((n) => `"${n.bridge}"`);
  const egress = sorted.filter((n) => !n.internal).map((n) => n.subnet);
  const noLinkLocal = sorted.filter((n) => !n.allowLinkLocal).map((n) => `"${n.bridge}"`);
  const stk = `"${LINK_PREFIX}*"`;
  const lines = [
    `table ${table}`,
    `delete table ${table}`,
    `table ${table} {`,
    `\tcomment "stack project ${project}: isolation, egress and masquerade of its bridges"`,
    ...set('bridges', 'ifname', bridges),
    ...set('internal', 'ifname', internal),
    ...set(
      'same_bridge',
      'ifname . ifname',
      bridges.map((b) => `${b} . ${b}`),
    ),
    ...set('egress', 'ipv4_addr', egress, 'interval'),
    ...set('no_link_local', 'ifname', noLinkLocal),
    '',
    '\tchain forward {',
    `\t\ttype filter hook forward priority ${FORWARD_PRIORITY}; policy accept;`,
    '\t\tiifname . oifname @same_bridge accept',
    '\t\tiifname @internal drop',
    '\t\toifname @internal drop',
    `\t\tiifname @bridges oifname ${stk} drop`,
    `\t\toifname @bridges iifname ${stk} drop`,
    '\t\toifname @bridges ct state established,related accept',
    '\t\toifname @bridges drop',
    `\t\tiifname @no_link_local ip daddr ${LINK_LOCAL_V4} drop`,
    `\t\tiifname @no_link_local ct original ip daddr ${LINK_LOCAL_V4} drop`,
    `\t\tiifname @no_link_local ip6 daddr ${LINK_LOCAL_V6} drop`,
    '\t\tiifname @bridges accept',
    '\t}',
    '',
    '\tchain input {',
    `\t\ttype filter hook input priority ${INPUT_PRIORITY}; policy accept;`,
    `\t\tiifname @no_link_local ip daddr ${LINK_LOCAL_V4} drop`,
    `\t\tiifname @no_link_local ct original ip daddr ${LINK_LOCAL_V4} drop`,
    `\t\tiifname @no_link_local ip6 daddr ${LINK_LOCAL_V6} meta l4proto { tcp, udp } drop`,
    '\t}',
    '',
    '\tchain postrouting {',
    '\t\ttype nat hook postrouting priority srcnat; policy accept;',
    `\t\tip saddr @egress oifname != ${stk} masquerade`,
    '\t}',
    '}',
  ];
  return `${lines.join('\n')}\n`;
}

/** The nft script that removes the project's table, and succeeds when it is already gone. */
export function deleteScript(project: string): string {
  const table = `inet ${nftTableName(project)}`;
  return `table ${table}\ndelete table ${table}\n`;
}

function set(name: string, type: string, elements: readonly string[], flags?: string): string[] {
  return [
    '',
    `\tset ${name} {`,
    `\t\ttype ${type}`,
    ...(flags ? [`\t\tflags ${flags}`] : []),
    ...(elements.length ? [`\t\telements = { ${elements.join(', ')} }`] : []),
    '\t}',
  ];
}
