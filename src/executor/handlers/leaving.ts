// The record of a service leaving the project (`down`, a service gone from the spec) goes once
// every step of the plan that removes something of it is done: its remove-service, each of its
// detach-veth and its remove-netns, whichever ends last. remove-service does not wait for the
// others (planner/edges.ts): the service's cgroups and runtime files go while the kernel deletes
// its veths, which waits for RCU grace periods (~20-60 ms of a `down`, this thread idle). Until
// the last step, the record still names what is left, so a run cut short leaves it for the next.
import { opId } from '../../planner/edges.js';
import { serviceRecords } from '../../state/records.js';
import { recordGoes, type RunContext } from '../context.js';

/** The steps of each leaving service done so far, by run. */
const finished = new WeakMap<RunContext, Map<string, Set<string>>>();

/** The ids of the plan's steps that remove something of `service`. */
function removalSteps(ctx: RunContext, service: string): string[] {
  const veths = opId('detach-veth', `${service}/`);
  const removal = opId('remove-service', service);
  const netns = opId('remove-netns', service);
  const steps: string[] = [];
  for (const id of ctx.planned) if (id === removal || id === netns || id.startsWith(veths)) steps.push(id);
  return steps;
}

/**
 * Says that step `id` of `service` is done; the last of them removes the record. Nothing for a
 * service that stays (its steps keep the record up to date themselves).
 */
export async function removalStepDone(ctx: RunContext, service: string, id: string): Promise<void> {
  if (!recordGoes(ctx, service)) return;
  let byService = finished.get(ctx);
  if (byService === undefined) finished.set(ctx, (byService = new Map()));
  let done = byService.get(service);
  if (done === undefined) byService.set(service, (done = new Set()));
  done.add(id);
  if (removalSteps(ctx, service).every((step) => done.has(step))) await serviceRecords.remove(ctx.roots, ctx.project.name, service);
}
