// One-offs of `stack run` on the executor's side. A one-off is recorded like a service (its
// own netns, veths, cgroups, process) with `oneOff` on its record: the service it copies and
// the spec it was started with. Every apply() counts the live one-offs in the address
// allocation and the supervisor's snapshot, so an `up` after a run never hands a one-off's
// address to a service, and the supervisor keeps its ports and names.
import type { Plan } from '../planner/plan.js';
import type { Project, Service } from '../spec/project.js';
import type { StateRoots } from '../state/paths.js';
import { freshServiceRecord, serviceRecords } from '../state/records.js';
import { readSnapshot } from '../state/snapshot.js';
import { sortKeys, withAsApplied } from '../planner/disabled.js';

/** Records `name` as a one-off of `spec.name`'s service before anything of it is made. */
export async function recordOneOff(roots: StateRoots, project: string, bootId: string, service: string, spec: Service): Promise<void> {
  await serviceRecords.write(roots, { ...freshServiceRecord(project, spec.name, bootId), oneOff: { service, spec } });
}

/** The spec a one-off's record holds, or undefined for a service (or an unreadable one). */
export function oneOffSpec(record: { readonly oneOff?: (Record<string, unknown> & { service: string }) | undefined }): Service | undefined {
  const spec = record.oneOff?.spec as Service | undefined;
  return spec && typeof spec === 'object' && typeof spec.name === 'string' && typeof spec.networks === 'object' ? spec : undefined;
}

/**
 * `project` with the project's recorded one-offs added (its own services win a name), less
 * those `plan` removes: what addresses are allocated for and what the snapshot holds. So are the
 * other services that are there and that `plan` leaves there although `project` does not have
 * them (one that no active profile enables, an orphan a targeted `up` leaves, what a one-off's
 * removal or a Ctrl-C leaves of the project): added as the snapshot last had them, with what
 * they use (planner/disabled.ts withAsApplied), so that the supervisor goes on with their
 * restarts, ports and names, and no other service is given their addresses.
 */
export async function withOneOffs(project: Project, roots: StateRoots, plan?: Plan): Promise<Project> {
  const removed = new Set(plan?.operations.flatMap((op) => (op.kind === 'remove-service' ? [op.service] : [])) ?? []);
  const { records } = await serviceRecords.list(roots, project.name);
  const extra: Record<string, Service> = {};
  const left: string[] = [];
  for (const r of records) {
    if (project.services[r.service] || removed.has(r.service)) continue;
    const spec = oneOffSpec(r);
    if (spec) extra[r.service] = { ...spec, name: r.service };
    else if (r.oneOff === undefined) left.push(r.service);
  }
  // What the project's services publish or are named stays theirs: a service carried that has
  // it too is carried without it (withAsApplied's yieldClashing), keeping its address.
  // A one-off's network the project no longer has (the planner keeps it while the one-off is
  // plugged into it) stays in the allocation and the snapshot as last applied.
  const unheld = (p: Project): string[] => [...new Set(Object.values(extra).flatMap((s) => Object.keys(s.networks)))].filter((n) => p.networks[n] === undefined);
  const applied = left.length > 0 || unheld(project).length > 0 ? (await readSnapshot(roots, project.name))?.project : undefined;
  const withLeft = applied === undefined || left.length === 0 ? project : withAsApplied(project, left, applied, { yieldClashing: true }).project;
  if (Object.keys(extra).length === 0) return withLeft;
  const held = unheld(withLeft).flatMap((n) => (applied?.networks[n] ? [[n, applied.networks[n]] as const] : []));
  const networks = held.length === 0 ? withLeft.networks : sortKeys({ ...withLeft.networks, ...Object.fromEntries(held) });
  return { ...withLeft, services: sortKeys({ ...withLeft.services, ...extra }), networks };
}
