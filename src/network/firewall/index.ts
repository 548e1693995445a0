// The firewall of stack's networks: the project's nftables table (isolation, egress,
// masquerade), the holes Docker-style iptables DROP policies need, and IPv4 forwarding.
// Everything takes a NetTarget so tests apply it inside a throwaway netns that plays the host.
export { type FirewallNetwork, FORWARD_PRIORITY, rulesetScript, deleteScript } from './ruleset.js';
export { applyRuleset, deleteRuleset, hasRuleset } from './nft.js';
export { syncForwardHoles, closeForwardHoles, holesIn } from './iptables.js';
export { ensureIpv4Forwarding, type ForwardingChange } from './forwarding.js';
export { type NetTarget, HOST, CommandError } from './run.js';
import { AggregateStackError } from '../../errors.js';
import type { FirewallNetwork } from './ruleset.js';
import { applyRuleset } from './nft.js';
import { syncForwardHoles } from './iptables.js';
import { ensureIpv4Forwarding, type ForwardingChange } from './forwarding.js';
import { type NetTarget } from './run.js';

/**
 * Brings the whole firewall of a project in line with its networks: the nft table, the iptables
 * holes, and forwarding when a network is not internal (returns 'enabled' when it turned it on:
 * tell the user). Setup and teardown both call it; no networks left removes the table and the
 * holes. Idempotent and best effort: every step runs, all failures are reported together.
 */
export async function syncFirewall(
  project: string,
  networks: readonly FirewallNetwork[],
  target: NetTarget = {},
): Promise<ForwardingChange | undefined> {
  const errors: Error[] = [];
  const attempt = async <T>(step: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await step();
    } catch (e) {
      errors.push(e as Error);
      return undefined;
    }
  };
  await attempt(() => applyRuleset(project, networks, target));
  await attempt(() =>
    syncForwardHoles(
      project,
      networks.map((n) => n.bridge),
      target,
    ),
  );
  const change = networks.some((n) => !n.internal) ? await attempt(() => ensureIpv4Forwarding(target)) : undefined;
  if (errors.length === 1) throw errors[0];
  if (errors.length) throw new AggregateStackError(`firewall of project ${project}`, errors);
  return change;
}
