// The project's firewall follows its network records: after a network is created or removed,
// the firewall is rewritten (syncFirewall, the firewall's one entry point) from every network
// the records hold, one rewrite at a time so the last one sees all. No network left removes it.
import { syncFirewall, type FirewallNetwork } from '../../network/firewall/index.js';
import { networkRecords } from '../../state/records.js';
import type { RunContext } from '../context.js';

/** What the rewrite needs of the run: the project, its records, the host settings, a notice. */
export type FirewallContext = Pick<RunContext, 'project' | 'roots' | 'env' | 'serial' | 'notice'>;

/** The firewall's view of a network record (records written by create-network carry subnet, internal, allowLinkLocal). */
function firewallNetwork(record: Record<string, unknown> & { bridge: string }): FirewallNetwork | undefined {
  const { subnet, internal, allowLinkLocal } = record;
  if (typeof subnet !== 'string') return undefined;
  return { bridge: record.bridge, subnet, internal: internal === true, allowLinkLocal: allowLinkLocal === true };
}

/**
 * What a run's rewrites share. `leaving`: the networks the run is removing; each rewrite leaves
 * them all out, not only its own (two networks removed side by side in `down` would otherwise
 * each write the other back, its record still there until its own removal is done, and the last
 * rewrite would leave its rules behind). `behind`: the rewrites create-network started and did
 * not wait for (writeFirewallBehind).
 */
const runs = new WeakMap<FirewallContext, { leaving: Set<string>; behind: Promise<void>[] }>();

function runOf(ctx: FirewallContext): { leaving: Set<string>; behind: Promise<void>[] } {
  let run = runs.get(ctx);
  if (run === undefined) runs.set(ctx, (run = { leaving: new Set(), behind: [] }));
  return run;
}

/** Rewrites the project's firewall from its network records, leaving out the network `without` and every other this run is removing. */
export function syncProjectFirewall(ctx: FirewallContext, without?: string): Promise<void> {
  const { leaving } = runOf(ctx);
  if (without !== undefined) leaving.add(without);
  return ctx.serial('firewall', async () => {
    const project = ctx.project.name;
    const { records } = await networkRecords.list(ctx.roots, project);
    const networks = records.filter((r) => !leaving.has(r.key)).flatMap((r) => firewallNetwork(r) ?? []);
    const change = await syncFirewall(project, networks, {
      ...(ctx.env.firewallTarget && { target: ctx.env.firewallTarget }),
      ...(ctx.env.ipForward && { ipForward: ctx.env.ipForward }),
    });
    if (change === 'enabled') ctx.notice('net.ipv4.ip_forward was 0: turned it on so services reach the outside');
  });
}

/**
 * Starts the rewrite after a new network's bridge without waiting for it (its records are read,
 * and iptables is started where a FORWARD policy is DROP or the project's holes are left): the
 * veths, namespaces, cgroups and name files of the services are made meanwhile. No service is launched before it is written (firewallWritten, awaited by
 * start-service before its launch, and by apply once the walk is done, which reports a failure).
 * `written` runs once it is (create-network then records the network's real stamp). `network`
 * is the new network: one this run removed before (a recreate) is written again.
 */
export function writeFirewallBehind(ctx: FirewallContext, network: string, written: () => Promise<void>): void {
  const run = runOf(ctx);
  run.leaving.delete(network); // made again in the run that removed it (a network recreated by `up`)
  const writing = syncProjectFirewall(ctx).then(written);
  writing.catch(() => undefined); // reported by firewallWritten
  run.behind.push(writing);
}

/** Resolves once every rewrite writeFirewallBehind started for this run is written; rejects with the first failure. */
export async function firewallWritten(ctx: FirewallContext): Promise<void> {
  await Promise.all(runs.get(ctx)?.behind ?? []);
}
