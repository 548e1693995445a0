// The disabled services an `up`, `run` or `plan` keeps (planner/disabled.ts), with the project as
// last applied read only when some are there.
import { disabledThere, withDisabledKept, type WithDisabled } from '../planner/disabled.js';
import type { LiveState } from '../planner/live.js';
import type { Project } from '../spec/project.js';
import type { StateRoots } from '../state/paths.js';
import { readSnapshot } from '../state/snapshot.js';

/** `project` with the services it disables that are there, as last applied; none read when none is there. */
export async function keepDisabled(project: Project, live: LiveState, roots: StateRoots): Promise<WithDisabled> {
  if (disabledThere(project, live).length === 0) return { project, kept: [] };
  return withDisabledKept(project, live, (await readSnapshot(roots, project.name))?.project);
}
