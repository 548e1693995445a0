// create-netns, remove-netns, attach-veth, detach-veth: a service's network namespace and the
// veth pairs joining it to its networks. Each claim goes into the service record before the
// object is made, and leaves it only once the object is gone.
import { mark } from '../../trace.js';
import type { AttachVeth, CreateNetns, DetachVeth, RemoveNetns } from '../../planner/plan.js';
import { netnsName, vethHostName, vethPeerName } from '../../names.js';
import { orderedNetworks } from '../../network/peers.js';
import { releaseExternal } from '../../network/external.js';
import { withHandle } from '../../network/handle.js';
import { linkGet } from '../../network/link.js';
import { parseOwnerAlias } from '../../network/setup.js';
import { serviceRecords, updateServiceRecord } from '../../state/records.js';
import { recordGoes, type RunContext } from '../context.js';
import { undoing } from './undo.js';
import { removalStepDone } from './leaving.js';
import { opId } from '../../planner/edges.js';

function record(ctx: RunContext, service: string, change: Parameters<typeof updateServiceRecord>[4]) {
  return updateServiceRecord(ctx.roots, ctx.project.name, service, ctx.bootId, change);
}

/** Records the netns, then creates it with `lo` up and ping_group_range open (ping without CAP_NET_RAW: the driver's). */
export async function createNetns(ctx: RunContext, op: CreateNetns): Promise<void> {
  const name = netnsName(ctx.project.name, op.service);
  await record(ctx, op.service, (r) => ({ ...r, netns: name }));
  ctx.reached(`${op.id}:recorded`);
  await undoing(
    async () => {
      mark('netns: recorded');
      ctx.network().createNetns(ctx.project.name, op.service);
      mark('netns: made');
    },
    () => removeNetns(ctx, op),
  );
}

/** Deletes the netns by its recorded name (gone is success), then clears it from the record. */
export async function removeNetns(ctx: RunContext, op: Pick<RemoveNetns, 'service'>): Promise<void> {
  const recorded = (await serviceRecords.read(ctx.roots, ctx.project.name, op.service))?.netns ?? undefined;
  ctx.network().removeNetns(ctx.project.name, op.service, recorded);
  if (recordGoes(ctx, op.service)) await removalStepDone(ctx, op.service, opId('remove-netns', op.service));
  else await record(ctx, op.service, (r) => ({ ...r, netns: null }));
}

/** Records the veth, then makes the pair with the service's address (and default route). */
export async function attachVeth(ctx: RunContext, op: AttachVeth): Promise<void> {
  const project = ctx.project.name;
  const spec = ctx.project.services[op.service];
  const allocation = ctx.ipam.networks[op.network];
  const address = allocation?.addresses[op.service];
  if (!spec || !allocation || address === undefined)
    throw new Error(`service ${op.service}: no address on network ${op.network} (a bug: apply allocates before walking)`);
  const host = vethHostName(project, op.service, op.network);
  const veth = { host, peer: vethPeerName(op.index), attachHash: op.attachHash };
  await record(ctx, op.service, (r) => ({ ...r, veths: { ...r.veths, [op.network]: veth } }));
  ctx.reached(`${op.id}:recorded`);
  // The default route goes through the first network (in interface order) that is not internal.
  const routed = orderedNetworks(spec).find((n) => ctx.project.networks[n]?.internal === false);
  const prefix = allocation.subnet.split('/')[1] ?? '32';
  const mtu = ctx.project.networks[op.network]?.mtu;
  await undoing(
    async () =>
      ctx.network().attachVeth({
        project,
        service: op.service,
        network: op.network,
        index: op.index,
        address: `${address}/${prefix}`,
        ...(routed === op.network ? { defaultGateway: allocation.gateway } : {}),
        // An external network: the bridge of the project that owns it, or the host's (network/external.ts).
        ...(allocation.bridge !== undefined && { bridge: allocation.bridge }),
        ...(mtu !== undefined && { mtu }),
      }),
    () => detachVeth(ctx, op),
  );
}

/** The host links (veth host sides, bridges) waiting for the next batched delete of a run, that delete's outcome, and its send now. */
interface LinkBatch {
  readonly names: string[];
  readonly done: Promise<void>;
  readonly send: () => void;
}
const linkBatches = new WeakMap<RunContext, LinkBatch>();
/** A run's planned deletions (one by each detach-veth and remove-network) and those of them asked for so far. */
const deletionsOf = new WeakMap<RunContext, { planned: number; asked: Set<string> }>();
/** How long a batch waits for more host sides: the record reads of its fellow detaches. */
const BATCH_WINDOW_MS = 2;

/** The run's count of the deletions its plan holds, and which of them have asked. */
function deletions(ctx: RunContext): { planned: number; asked: Set<string> } {
  let d = deletionsOf.get(ctx);
  if (d === undefined) {
    let planned = 0;
    for (const id of ctx.planned) if (id.startsWith('detach-veth:') || id.startsWith('remove-network:')) planned++;
    deletionsOf.set(ctx, (d = { planned, asked: new Set() }));
  }
  return d;
}

/**
 * Deletes host link `name` (asked for by the step `by`, an operation id) together with every
 * other one a detach-veth or remove-network of this run asks for within BATCH_WINDOW_MS (the
 * detaches and the network removals `down` starts together once every service's processes are
 * gone, each reading its records first): one request per batch, so the kernel's RCU wait (~30 ms) is paid
 * per batch, not per veth or bridge. Once every
 * deletion the plan holds has been asked for, the batch goes at once: its timer fires only when
 * this thread is free, and in a `down` the services' removals kept it busy for ~16 ms first
 * (traced, 20 services), the kernel's wait beginning only then.
 */
export function deleteLinkBatched(ctx: RunContext, name: string, by: string): Promise<void> {
  let batch = linkBatches.get(ctx);
  if (!batch) {
    const names: string[] = [];
    let send = (): void => undefined;
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => send(), BATCH_WINDOW_MS);
      send = () => {
        if (linkBatches.get(ctx)?.names !== names) return; // sent already
        clearTimeout(timer);
        linkBatches.delete(ctx);
        // Sent in this step, not from a microtask: in a `down` every stop's next step is queued
        // as one, and the request went out only after them all (network/link.ts takeHelper).
        // Opening the driver can throw (its first use in a `down`): a rejection, as the rest.
        let deleting: Promise<void>;
        try {
          mark(`links: deleting ${names.length}`);
          deleting = ctx.network().detachVeths(names);
        } catch (e) {
          deleting = Promise.reject(e);
        }
        deleting.then(() => mark(`links: deleted ${names.length}`)).then(resolve, reject);
      };
    });
    batch = { names, done, send: () => send() };
    linkBatches.set(ctx, batch);
  }
  batch.names.push(name);
  // Counted by the planned step that asks (`by`, its id): an undo's deletion (a failed
  // attach-veth or create-network undone) is no step of the plan's and counts for nothing.
  const d = deletions(ctx);
  if (ctx.planned.has(by)) d.asked.add(by);
  if (d.asked.size >= d.planned) batch.send();
  return batch.done;
}

/**
 * Deletes the host side of the pair (the peer goes with it), then clears the record's entry. On
 * another project's network (external), the address goes back to that project's allocation.
 */
export async function detachVeth(ctx: RunContext, op: Pick<DetachVeth, 'service' | 'network'>, aside: <T>(wait: Promise<T>) => Promise<T> = (wait) => wait): Promise<void> {
  const recorded = (await serviceRecords.read(ctx.roots, ctx.project.name, op.service))?.veths[op.network]?.host; // the name it was made with
  const name = recorded ?? vethHostName(ctx.project.name, op.service, op.network);
  const spec = ctx.project.networks[op.network];
  // A network this project recorded is its own bridge: no one else's addresses to give back. The
  // kernel is asked only otherwise (`down` knows no spec: a netlink socket and two requests a
  // veth were 14.8 ms of a profiled `down` of 20).
  const own = ctx.live.networks[op.network] !== undefined;
  const owner = !own && (spec === undefined || spec.external) ? foreignOwner(ctx.project.name, name) : undefined;
  // A failed batch says nothing about which link failed: this one is retried alone, by name.
  const id = opId('detach-veth', `${op.service}/${op.network}`);
  // The batch's wait for the kernel (~30 ms of RCU grace periods) holds no slot of the walk.
  await aside(deleteLinkBatched(ctx, name, id)).catch(() => ctx.network().detachVeth(ctx.project.name, op.service, op.network, recorded));
  if (owner !== undefined) await releaseExternal(ctx.roots, ctx.project.name, op.service, owner);
  if (recordGoes(ctx, op.service)) return removalStepDone(ctx, op.service, id);
  await record(ctx, op.service, (r) => {
    const { [op.network]: _gone, ...veths } = r.veths;
    return { ...r, veths };
  });
}

/** The other stack project whose bridge the veth `hostSide` is plugged into, as the bridge's alias names it. */
function foreignOwner(project: string, hostSide: string): { project: string; network: string } | undefined {
  try {
    return withHandle(undefined, (h) => {
      const master = linkGet(h, hostSide)?.master;
      const owner = master === undefined ? undefined : parseOwnerAlias(linkGet(h, master)?.alias);
      return owner !== undefined && owner.project !== project && owner.service === undefined ? { project: owner.project, network: owner.network } : undefined;
    });
  } catch {
    return undefined; // no answer: nothing is given back, the owner's next `down` still finds the veth gone
  }
}
