// The firewall of stack's networks: the project's nftables table (isolation, egress,
// masquerade, link-local), the holes Docker-style iptables DROP policies need, and IPv4
// forwarding. syncFirewall / removeFirewall (project.ts) are the only way callers change it.
// Everything takes a NetTarget so tests apply it inside a throwaway netns that plays the host.
export { syncFirewall, removeFirewall, type FirewallOptions } from './project.js';
export {
  type FirewallNetwork,
  LINK_LOCAL_V4,
  LINK_LOCAL_V6,
  rulesetRequests,
  deleteRequests,
  tableComment,
} from './ruleset.js';
export { holesIn } from './iptables.js';
export { type ForwardingChange } from './forwarding.js';
export { type NetTarget, HOST, CommandError } from './run.js';
