// The project's nftables table written in nft's own language: what stack's netlink requests
// (src/network/firewall/ruleset.ts) must make. test/integration/network/nftables.test.ts hands
// this to `nft -f` in one throwaway namespace, the requests to the kernel in another, and holds
// the two tables against each other as nft lists them, rule by rule and expression by expression.
// (Until stack spoke netlink itself, this script was what it gave nft.)
import { LINK_PREFIX, nftTableName } from '../../../src/names.js';
import { LINK_LOCAL_V4, LINK_LOCAL_V6, tableComment, type FirewallNetwork } from '../../../src/network/firewall/index.js';

const FORWARD_PRIORITY = 'filter - 10';
const INPUT_PRIORITY = 'filter - 10';

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
    `\tcomment "${tableComment(project)}"`,
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
