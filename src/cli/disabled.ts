// The plan of an `up`, `run` or `plan` with the disabled services it keeps (planner/disabled.ts),
// the project as last applied read only when some are there.
import { UserError } from '../errors.js';
import { clashOf, disabledThere, sortKeys, withAsApplied, withDisabledKept, type WithDisabled } from '../planner/disabled.js';
import type { LiveState } from '../planner/live.js';
import type { Plan } from '../planner/plan.js';
import { plan, type UpOptions } from '../planner/reconcile.js';
import type { Project } from '../spec/project.js';
import type { StateRoots } from '../state/paths.js';
import { readSnapshot } from '../state/snapshot.js';

/**
 * The plan from `live` to `project` with the services it disables that are there kept as last
 * applied (`project` is then the project with them, the one to apply); refused when it starts a
 * service that clashes with a kept one (refuseKeptClash).
 */
export async function planKeeping(project: Project, live: LiveState, roots: StateRoots, options: UpOptions = {}): Promise<{ project: Project; plan: Plan }> {
  // The project as last applied, read once and only when a service is to be taken from it.
  let snapshot: Promise<Project | undefined> | undefined;
  const applied = (): Promise<Project | undefined> => (snapshot ??= readSnapshot(roots, project.name).then((s) => s?.project));
  const disabled = await keepDisabled(project, live, applied);
  const asApplied = options.noRecreate ? await thereAsApplied(disabled.project, live, applied) : undefined;
  const keeping = asApplied === undefined ? disabled : { ...disabled, project: asApplied.project };
  const planned = plan(keeping.project, live, { ...options, kept: keeping.kept });
  refuseKeptClash(keeping, planned, live, 'disabled');
  // --no-recreate: a service started now must not take a port or name one left as it was holds
  // (compose's start of it would fail the same way).
  if (asApplied !== undefined) refuseKeptClash({ project: keeping.project, kept: asApplied.kept }, planned, live, 'no-recreate');
  return { project: keeping.project, plan: planned };
}

/**
 * `up --no-recreate`: each service of `project` that is there as last applied (the snapshot),
 * with what it uses that `project` lacks, so that neither its start (a stopped one) nor the
 * snapshot the supervisor restarts it from take a change of its spec, and a later `up` still
 * sees the change; compose's --no-recreate leaves a container as it was made. A new service, or
 * one the snapshot lacks, is as `project` has it (the planner then recreates none of them).
 */
async function thereAsApplied(project: Project, live: LiveState, snapshot: () => Promise<Project | undefined>): Promise<WithDisabled> {
  const there = Object.keys(project.services).filter((key) => live.services[key] !== undefined && live.services[key]!.oneOff === undefined);
  if (there.length === 0) return { project, kept: [] };
  const applied = await snapshot();
  if (applied === undefined) return { project, kept: [] };
  const gone = new Set(there);
  const without = { ...project, services: Object.fromEntries(Object.entries(project.services).filter(([key]) => !gone.has(key))) };
  // One on a network the spec now declares otherwise stays as the spec has it: that network is
  // made anew, and the service with it, whatever --no-recreate says.
  const merged = withAsApplied(without, there, applied, { sameNetworks: true });
  const services = { ...merged.project.services };
  for (const key of there) services[key] ??= project.services[key]!; // one the snapshot lacks (or what it used)
  return { project: { ...merged.project, services: sortKeys(services) }, kept: merged.kept };
}

/** `project` with the services it disables that are there, as last applied; none read when none is there. */
async function keepDisabled(project: Project, live: LiveState, snapshot: () => Promise<Project | undefined>): Promise<WithDisabled> {
  if (disabledThere(project, live).length === 0) return { project, kept: [] };
  return withDisabledKept(project, live, await snapshot());
}

/**
 * Refuses a plan that starts a service with a host port or container_name that a kept service
 * which runs has: compose's start of it would fail the same way. `stack stop` of the kept one
 * lets it go.
 */
function refuseKeptClash(kept: WithDisabled, plan: Plan, live: LiveState, reason: 'disabled' | 'no-recreate'): void {
  const started = plan.operations.flatMap((op) => (op.kind === 'start-service' ? [op.service] : []));
  for (const key of kept.kept) {
    if (live.services[key]?.process?.alive !== true) continue;
    const spec = kept.project.services[key]!;
    for (const name of started) {
      if (name === key) continue; // itself, started again (--no-recreate)
      const clash = clashOf(kept.project.services[name]!, spec);
      if (clash === undefined) continue;
      throw new UserError(
        'KEPT_SERVICE_CLASH',
        reason === 'no-recreate'
          ? `${clash} is \`${name}\`'s in the spec, and \`${key}\` has it: it runs, and --no-recreate leaves it as the last up made it`
          : `${clash} is \`${name}\`'s in the spec, and \`${key}\` has it: it runs, and no active profile enables it, so up leaves it as it is`,
        reason === 'no-recreate'
          ? `\`stack stop ${key}\` lets it go, or a plain \`stack up -d\` recreates it as the spec has it`
          : `\`stack stop ${key}\` lets it go (or \`stack --profile ${spec.profiles[0] ?? '...'} up -d\` with the spec changed); then run this again`,
      );
    }
  }
}
