// create-network and remove-network: a project network is its bridge (with the gateway
// address) and its place in the project's firewall. The record is written before the bridge
// is made, so a crash in between leaves something `down` knows to remove.
import type { CreateNetwork, RemoveNetwork } from '../../planner/plan.js';
import { bridgeName } from '../../names.js';
import { networkRecords } from '../../state/records.js';
import type { RunContext } from '../context.js';
import { syncProjectFirewall, writeFirewallBehind } from './firewall.js';
import { attachedGuests } from '../../network/external.js';
import { ipamStore } from '../ipam.js';
import { undoing } from './undo.js';
import { deleteLinkBatched } from './netns.js';
import { mark } from '../../trace.js';
import { opId } from '../../planner/edges.js';
import { FIREWALL_PENDING } from '../../planner/hash.js';

/**
 * Records the network and makes its bridge (undone on failure), then starts the firewall's
 * rewrite and binds the DNS listener for a supervisor to come. The services are launched once
 * the rewrite is written (firewall.ts writeFirewallBehind; a failed rewrite fails the starts,
 * and the run), while their veths, namespaces and cgroups are made meanwhile. The record
 * carries FIREWALL_PENDING as its stamp until the rewrite is written: a failed or cut-off one
 * makes the next `up` recreate the network, so a firewall is never left unwritten.
 */
export async function createNetwork(ctx: RunContext, op: CreateNetwork): Promise<void> {
  const project = ctx.project.name;
  const allocation = ctx.ipam.networks[op.network];
  const spec = ctx.project.networks[op.network];
  if (!allocation || !spec) throw new Error(`network ${op.network}: no address allocation (a bug: apply allocates before walking)`);
  await networkRecords.write(ctx.roots, {
    version: 1,
    kind: 'network',
    project,
    key: op.network,
    bootId: ctx.bootId,
    config: FIREWALL_PENDING,
    bridge: bridgeName(project, op.network),
    subnet: allocation.subnet,
    gateway: allocation.gateway,
    internal: spec.internal,
    ...(spec.allowLinkLocal && { allowLinkLocal: true }),
  });
  ctx.reached(`${op.id}:recorded`);
  mark('network: recorded');
  await undoing(
    async () => {
      ctx.network().createNetwork(project, op.network, allocation, spec.mtu);
      mark('network: bridge made');
    },
    () => removeNetwork(ctx, op),
  );
  writeFirewallBehind(ctx, op.network, () =>
    networkRecords.update(ctx.roots, project, op.network, (r) => (r === undefined ? null : r.config.hash === FIREWALL_PENDING.hash ? { ...r, config: op.stamp } : r)).then(() => undefined),
  );
  // While the firewall is written: the DNS listener for a supervisor this run starts (none runs), bound before
  // any service is launched (their attach-veth waits for this step).
  await ctx.env.supervisor.networkMade?.(project, allocation.gateway);
}

/**
 * Deletes the bridge (gone is success) and rewrites the firewall without it, side by side (the
 * rewrite reads the records, not the kernel: a bridge's deletion waits ~20-60 ms for RCU grace
 * periods; iptables, where it is started, 10-40 ms), and only once both are done drops the record: while
 * any rule of the project or its bridge may exist, a network record says so.
 */
export async function removeNetwork(ctx: RunContext, op: Pick<RemoveNetwork, 'network'>): Promise<void> {
  const recorded = (await networkRecords.read(ctx.roots, ctx.project.name, op.network))?.bridge; // the name it was made with
  // Services of other projects still plugged in (external networks): the network stays, as
  // Docker keeps a network with endpoints; a later `down` removes it once they are gone.
  const guests = await attachedGuests(await ipamStore(ctx.roots, ctx.project.name).read().catch(() => undefined), op.network, recorded ?? bridgeName(ctx.project.name, op.network));
  if (guests.length > 0) {
    ctx.notice(`network ${op.network} kept: ${guests.length === 1 ? 'service' : 'services'} ${guests.join(', ')} of other projects ${guests.length === 1 ? 'is' : 'are'} still attached to it; run \`stack down\` here again once they are gone`);
    return;
  }
  // With the veths this run detaches (one RCU wait for all, traced: down of 1 service ~25 ms
  // less); a failed batch says nothing about which link failed: this one is retried alone.
  const bridgeLink = recorded ?? bridgeName(ctx.project.name, op.network);
  const [bridge, firewall] = await Promise.allSettled([
    deleteLinkBatched(ctx, bridgeLink, opId('remove-network', op.network))
      .catch(() => ctx.network().removeNetwork(ctx.project.name, op.network, recorded))
      .then(() => mark('network: bridge deleted')),
    syncProjectFirewall(ctx, op.network).then(() => mark('network: firewall rewritten')),
  ]);
  if (bridge.status === 'rejected') throw bridge.reason;
  if (firewall.status === 'rejected') throw firewall.reason;
  await networkRecords.remove(ctx.roots, ctx.project.name, op.network);
}
