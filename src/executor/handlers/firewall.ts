// The project's firewall follows its network records: after a network is created or removed,
// the nftables table and the iptables holes are rewritten from every network the records
// hold (one rewrite at a time, so the last one sees all). No network left removes both.
import { applyRuleset, ensureIpv4Forwarding, syncForwardHoles, type FirewallNetwork } from '../../network/firewall/index.js';
import { networkRecords } from '../../state/records.js';
import type { RunContext } from '../context.js';

/** The firewall's view of a network record (records written by create-network carry subnet and internal). */
function firewallNetwork(record: Record<string, unknown> & { bridge: string }): FirewallNetwork | undefined {
  const { subnet, internal } = record;
  if (typeof subnet !== 'string') return undefined;
  return { bridge: record.bridge, subnet, internal: internal === true };
}

/** Rewrites the project's firewall from its network records, leaving out the network `without` (being removed). */
export function syncProjectFirewall(ctx: RunContext, without?: string): Promise<void> {
  return ctx.serial('firewall', async () => {
    const project = ctx.project.name;
    const target = ctx.env.firewallTarget ?? {};
    const { records } = await networkRecords.list(ctx.roots, project);
    const networks = records.filter((r) => r.key !== without).flatMap((r) => firewallNetwork(r) ?? []);
    await applyRuleset(project, networks, target);
    await syncForwardHoles(project, networks.map((n) => n.bridge), target);
    if ((ctx.env.ipForward ?? 'enable') === 'enable' && networks.some((n) => !n.internal)) {
      const change = await ensureIpv4Forwarding(target);
      if (change === 'enabled') ctx.notice('net.ipv4.ip_forward was 0: turned it on so services reach the outside');
    }
  });
}
