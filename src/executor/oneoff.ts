// One-offs of `stack run` on the executor's side. A one-off is recorded like a service (its
// own netns, veths, cgroups, process) with `oneOff` on its record: the service it copies and
// the spec it was started with. Every apply() counts the live one-offs in the address
// allocation and the supervisor's snapshot, so an `up` after a run never hands a one-off's
// address to a service, and the supervisor keeps its ports and names.
import type { Plan } from '../planner/plan.js';
import type { Project, Service } from '../spec/project.js';
import type { StateRoots } from '../state/paths.js';
import { freshServiceRecord, serviceRecords } from '../state/records.js';

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
 * those `plan` removes: what addresses are allocated for and what the snapshot holds.
 */
export async function withOneOffs(project: Project, roots: StateRoots, plan?: Plan): Promise<Project> {
  const removed = new Set(plan?.operations.flatMap((op) => (op.kind === 'remove-service' ? [op.service] : [])) ?? []);
  const { records } = await serviceRecords.list(roots, project.name);
  const extra: Record<string, Service> = {};
  for (const r of records) {
    const spec = oneOffSpec(r);
    if (spec && !project.services[r.service] && !removed.has(r.service)) extra[r.service] = { ...spec, name: r.service };
  }
  if (Object.keys(extra).length === 0) return project;
  const services = Object.fromEntries(Object.entries({ ...project.services, ...extra }).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { ...project, services };
}
