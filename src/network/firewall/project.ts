// The one entry point to a project's firewall: `up` (create-network, remove-network), `down`
// and `stack gc` all go through syncFirewall / removeFirewall, and so do the firewall tests.
// A project's firewall is its nft table, its iptables FORWARD holes and, when a network needs
// egress, IPv4 forwarding; all three follow the list of its networks.
import { AggregateStackError } from '../../errors.js';
import type { FirewallNetwork } from './ruleset.js';
import { applyRuleset } from './nft.js';
import { syncForwardHoles } from './iptables.js';
import { ensureIpv4Forwarding, type ForwardingChange } from './forwarding.js';
import { HOST, type NetTarget } from './run.js';

/** Where and how the firewall is applied. */
export interface FirewallOptions {
  /** The netns playing the host (default: the host's own). */
  readonly target?: NetTarget;
  /** `enable` (default): turn net.ipv4.ip_forward on when a network needs egress; `leave`: never touch it. */
  readonly ipForward?: 'enable' | 'leave';
}

/**
 * Brings the whole firewall of `project` in line with `networks`: the nft table, the iptables
 * holes, and forwarding when a network is not internal (returns 'enabled' when it turned it on:
 * tell the user). No networks removes the table and the holes. Idempotent and best effort:
 * every step runs, all failures are reported together.
 */
export async function syncFirewall(
  project: string,
  networks: readonly FirewallNetwork[],
  options: FirewallOptions = {},
): Promise<ForwardingChange | undefined> {
  const target = options.target ?? HOST;
  const errors: Error[] = [];
  const attempt = async <T>(step: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await step();
    } catch (e) {
      errors.push(e as Error);
      return undefined;
    }
  };
  // The nft table (one netlink batch, written before its promise returns) and the iptables holes
  // are apart (their own tables): each is attempted whatever the other did.
  await Promise.all([
    attempt(() => applyRuleset(project, networks, target)),
    attempt(() =>
      syncForwardHoles(
        project,
        networks.map((n) => n.bridge),
        target,
      ),
    ),
  ]);
  const forward = (options.ipForward ?? 'enable') === 'enable' && networks.some((n) => !n.internal);
  const change = forward ? await attempt(() => ensureIpv4Forwarding(target)) : undefined;
  if (errors.length === 1) throw errors[0];
  if (errors.length) throw new AggregateStackError(`firewall of project ${project}`, errors);
  return change;
}

/** Removes the project's whole firewall (table and holes); nothing left to remove is success. */
export async function removeFirewall(project: string, target: NetTarget = HOST): Promise<void> {
  await syncFirewall(project, [], { target });
}
